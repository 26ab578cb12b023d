"""``kiban mesh tracker``: the operator lists a provider's records and hides one."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kiban_command import run_kiban, run_kiban_in_process
from mesh.tracker.tracker_support import HANAKO, TARO, register_mesh, store, use

HEADER = [
    "message_id", "used_at", "subject", "service", "client", "user_id", "purpose",
    "legal_basis", "received_at", "hidden_until", "hidden_reason", "hidden_by",
]  # fmt: skip


@pytest.fixture(scope="module")
def records(private_engine: Engine) -> list[dict[str, Any]]:
    """Three committed records of 千代田区: two of 花子's, one of 太郎's."""
    made = [
        use(used_at="2026-03-01T00:00:00Z"),
        use(used_at="2026-03-02T00:00:00Z", subject=TARO, user_id=None),
        use(used_at="2026-03-03T00:00:00Z", legal_basis="番号法第19条第8号"),
    ]
    with Session(private_engine) as session:
        register_mesh(session)
        store(session, made)
        session.commit()
    return made


@pytest.fixture(scope="module")
def database(private_engine: Engine, records: list[dict[str, Any]]) -> str:
    return private_engine.url.render_as_string(hide_password=False)


def _rows(stdout: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(stdout)))


def test_the_operator_lists_a_providers_records(
    database: str, records: list[dict[str, Any]]
) -> None:
    # In a process of its own, as the operator runs it.
    listed = run_kiban(
        "mesh", "tracker", "list", "--provider", "JP/LG/131016", database_url=database
    )
    assert listed.returncode == 0, listed.stderr
    rows = _rows(listed.stdout)
    assert [row["message_id"] for row in rows] == [
        record["message_id"] for record in reversed(records)
    ]
    assert rows[0] == {
        "message_id": records[2]["message_id"],
        "used_at": "2026-03-03T00:00:00+00:00",
        "subject": HANAKO,
        "service": "JP/LG/131016/juki/resident-certificate/v1",
        "client": "JP/LG/011002/tax",
        "user_id": "tax-001",
        "purpose": "tax-assessment",
        "legal_basis": "番号法第19条第8号",
        "received_at": rows[0]["received_at"],
        "hidden_until": "",
        "hidden_reason": "",
        "hidden_by": "",
    }
    of_taro = run_kiban_in_process(
        "mesh", "tracker", "list", "--provider", "JP/LG/131016", "--subject", TARO,
        database_url=database,
    )  # fmt: skip
    assert [row["message_id"] for row in _rows(of_taro.stdout)] == [records[1]["message_id"]]
    none = run_kiban_in_process(
        "mesh", "tracker", "list", "--provider", "JP/LG/132012", database_url=database
    )
    assert none.stdout.splitlines() == [",".join(HEADER)]


def test_the_operator_hides_a_record_and_the_list_says_so(
    database: str, records: list[dict[str, Any]]
) -> None:
    message_id = records[0]["message_id"]
    hidden = run_kiban_in_process(
        "mesh", "tracker", "hide", "--provider", "JP/LG/131016",
        "--message-id", message_id.upper(), "--until", "2099-03-31",
        "--reason", "警察からの照会に基づく", database_url=database,
    )  # fmt: skip
    assert hidden.returncode == 0, hidden.stderr
    assert hidden.stdout == (
        f"JP/LG/131016 {message_id}: hidden from the person through 2099-03-31"
        " / 2099-03-31まで本人に表示しません\n"
    )
    listed = run_kiban_in_process(
        "mesh", "tracker", "list", "--provider", "JP/LG/131016", database_url=database
    )
    row = next(row for row in _rows(listed.stdout) if row["message_id"] == message_id)
    assert (row["hidden_until"], row["hidden_reason"], row["hidden_by"]) == (
        "2099-03-31",
        "警察からの照会に基づく",
        "operator",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--provider", "JP/LG/131017", "--message-id", "x", "--until", "2099-01-01"],
            "member code of a LG member",
        ),
        (
            ["--provider", "JP/LG/131016", "--message-id", "x", "--until", "2099-01-01"],
            "--message-id: 'x' is not a UUID",
        ),
        (
            [
                "--provider", "JP/LG/131016", "--message-id",
                "4f5d3d0c-0000-4000-8000-000000000000", "--until", "2099-01-01",
            ],
            "JP/LG/131016 has no data-tracker record 4f5d3d0c-0000-4000-8000-000000000000",
        ),
        (
            ["--provider", "JP/LG/131016", "--message-id", "x", "--until", "31/03/2099"],
            "Invalid value for '--until'",
        ),
    ],
)  # fmt: skip
def test_a_hiding_that_cannot_be_is_one_line(
    database: str, arguments: list[str], message: str
) -> None:
    refused = run_kiban_in_process(
        "mesh", "tracker", "hide", *arguments, "--reason", "照会", database_url=database
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("kiban: error: ")
    assert message in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
