"""``kiban mesh``: the registry operator's commands, on a committed database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine

from kiban.cli.mesh import app
from kiban.mesh.identifiers import MemberId
from kiban_command import run_kiban, run_kiban_in_process
from mesh.openapi_support import RESIDENT_CERTIFICATE


@pytest.fixture(scope="module")
def database(private_engine: Engine) -> str:
    return private_engine.url.render_as_string(hide_password=False)


def _rows(stdout: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(stdout)))


def test_a_municipality_and_its_subsystem_join(database: str) -> None:
    # The first step in a process of its own, as the operator runs it.
    requested = run_kiban("mesh", "member", "request", "JP/LG/131016", database_url=database)
    assert requested.returncode == 0, requested.stderr
    assert requested.stdout.startswith("JP/LG/131016 千代田区: requested")
    for arguments in (
        ("mesh", "subsystem", "request", "JP/LG/131016/juki"),
        ("mesh", "member", "approve", "JP/LG/131016"),
        ("mesh", "subsystem", "approve", "JP/LG/131016/juki"),
    ):
        done = run_kiban_in_process(*arguments, database_url=database)
        assert done.returncode == 0, done.stderr
    members = _rows(run_kiban_in_process("mesh", "member", "list", database_url=database).stdout)
    assert [(row["member"], row["name"], row["status"]) for row in members] == [
        ("JP/LG/131016", "千代田区", "approved")
    ]
    assert members[0]["requested_at"].endswith("+00:00")
    listed = run_kiban_in_process(
        "mesh", "subsystem", "list", "--member", "JP/LG/131016", database_url=database
    )
    assert [row["subsystem"] for row in _rows(listed.stdout)] == ["JP/LG/131016/juki"]


def test_a_subsystem_publishes_a_service_with_its_openapi_document(
    database: str, tmp_path: Path
) -> None:
    for arguments in (
        ("member", "request", "JP/LG/472018"),
        ("member", "approve", "JP/LG/472018"),
        ("subsystem", "request", "JP/LG/472018/juki"),
        ("subsystem", "approve", "JP/LG/472018/juki"),
    ):
        assert run_kiban_in_process("mesh", *arguments, database_url=database).returncode == 0
    document = tmp_path / "resident-certificate.yaml"
    document.write_text(RESIDENT_CERTIFICATE, encoding="utf-8")
    service = "JP/LG/472018/juki/resident-certificate/v1"
    published = run_kiban_in_process(
        "mesh", "service", "publish", service, "--openapi", str(document),
        "--title", "住民票情報", "--personal-data", database_url=database,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    listed = run_kiban_in_process(
        "mesh", "service", "list", "--subsystem", "JP/LG/472018/juki", database_url=database
    )
    assert [(row["service"], row["personal_data"]) for row in _rows(listed.stdout)] == [
        (service, "yes")
    ]
    shown = run_kiban_in_process("mesh", "service", "openapi", service, database_url=database)
    assert json.loads(shown.stdout)["paths"].keys() == {
        "/residents/{addressee_number}/certificate",
        "/residents/{addressee_number}/household",
    }


def test_a_bad_openapi_file_is_one_line_and_publishes_nothing(
    database: str, tmp_path: Path
) -> None:
    service = "JP/LG/472018/juki/household"
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("title: caf\xe9".encode("latin-1"))
    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"openapi": "3.1.0", "info": {"title": "x"}}', encoding="utf-8")
    for document, message in (
        (tmp_path / "missing.yaml", "No such file or directory"),
        (latin1, "is not UTF-8 text"),
        (invalid, "the OpenAPI document: #/info: 'version' is a required property"),
    ):
        result = run_kiban_in_process(
            "mesh", "service", "publish", service, "--openapi", str(document), "--title", "世帯",
            database_url=database,
        )  # fmt: skip
        assert result.returncode == 2
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    shown = run_kiban_in_process("mesh", "service", "openapi", service, database_url=database)
    assert "is not published" in shown.stderr


def test_a_provider_grants_a_group_one_operation_and_takes_it_back(
    database: str, tmp_path: Path
) -> None:
    document = tmp_path / "resident-certificate.yaml"
    document.write_text(RESIDENT_CERTIFICATE, encoding="utf-8")
    service = "JP/LG/271004/juki/resident-certificate/v1"
    certificate = "GET /residents/{addressee_number}/certificate"
    for arguments in (
        ("member", "request", "JP/LG/271004"),
        ("member", "approve", "JP/LG/271004"),
        ("subsystem", "request", "JP/LG/271004/juki"),
        ("subsystem", "approve", "JP/LG/271004/juki"),
        ("subsystem", "request", "JP/LG/271004/tax"),
        ("subsystem", "approve", "JP/LG/271004/tax"),
        ("service", "publish", service, "--openapi", str(document), "--title", "住民票情報"),
        ("group", "create", "osaka-tax", "--owner", "JP/LG/271004", "--description", "税務"),
        ("group", "add", "osaka-tax", "JP/LG/271004/tax", "--owner", "JP/LG/271004"),
        ("access", "grant", service, "local-group:osaka-tax", "--endpoint", certificate),
    ):
        done = run_kiban_in_process("mesh", *arguments, database_url=database)
        assert done.returncode == 0, (arguments, done.stderr)
    rights = _rows(
        run_kiban_in_process("mesh", "access", "list", service, database_url=database).stdout
    )
    assert [(row["endpoint"], row["to"]) for row in rights] == [
        (certificate, "local-group:osaka-tax")
    ]

    def check(path: str) -> int:
        return run_kiban_in_process(
            "mesh", "access", "check", "JP/LG/271004/tax", service, "GET", path,
            database_url=database,
        ).returncode  # fmt: skip

    assert check("/residents/000000012/certificate") == 0
    assert check("/residents/000000012/household") == 1
    revoked = run_kiban_in_process(
        "mesh", "access", "revoke", service, "local-group:osaka-tax", "--endpoint", certificate,
        database_url=database,
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert check("/residents/000000012/certificate") == 1


def test_a_member_registers_where_its_gateway_is(database: str) -> None:
    for arguments in (
        ("member", "request", "JP/LG/141003"),
        ("member", "approve", "JP/LG/141003"),
        ("member", "gateway", "add", "JP/LG/141003", "https://127.0.0.1:5501"),
        ("member", "gateway", "add", "JP/LG/141003", "https://[::1]:5501"),
    ):
        done = run_kiban_in_process("mesh", *arguments, database_url=database)
        assert done.returncode == 0, (arguments, done.stderr)
    assert done.stdout == "JP/LG/141003: gateway https://[::1]:5501 registered / 登録しました\n"
    removed = run_kiban_in_process(
        "mesh", "member", "gateway", "remove", "JP/LG/141003", "https://[::1]:5501",
        database_url=database,
    )  # fmt: skip
    assert removed.returncode == 0, removed.stderr
    listed = run_kiban_in_process(
        "mesh", "member", "gateway", "list", "--member", "JP/LG/141003", database_url=database
    )
    assert [
        (row["member"], row["address"], row["registered_by"]) for row in _rows(listed.stdout)
    ] == [("JP/LG/141003", "https://127.0.0.1:5501", "operator")]


def test_a_right_to_personal_data_names_its_purposes(database: str, tmp_path: Path) -> None:
    document = tmp_path / "resident-certificate.yaml"
    document.write_text(RESIDENT_CERTIFICATE, encoding="utf-8")
    service = "JP/LG/231002/juki/resident-certificate/v1"
    for arguments in (
        ("member", "request", "JP/LG/231002"),
        ("member", "approve", "JP/LG/231002"),
        ("subsystem", "request", "JP/LG/231002/juki"),
        ("subsystem", "approve", "JP/LG/231002/juki"),
        ("subsystem", "request", "JP/LG/231002/tax"),
        ("subsystem", "approve", "JP/LG/231002/tax"),
        ("service", "publish", service, "--openapi", str(document), "--title", "住民票情報",
         "--personal-data"),
    ):  # fmt: skip
        done = run_kiban_in_process("mesh", *arguments, database_url=database)
        assert done.returncode == 0, (arguments, done.stderr)
    for purposes, message in (
        ((), "carries personal data: a right to it names its purposes (--purpose)"),
        (("--purpose", "Tax"), "purpose code 'Tax'"),
    ):
        refused = run_kiban_in_process(
            "mesh", "access", "grant", service, "JP/LG/231002/tax", *purposes,
            database_url=database,
        )  # fmt: skip
        assert refused.returncode == 2
        assert message in refused.stderr
    granted = run_kiban_in_process(
        "mesh", "access", "grant", service, "JP/LG/231002/tax",
        "--purpose", "tax-assessment", "--purpose", "child-allowance", database_url=database,
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    assert "for child-allowance, tax-assessment / アクセス権を与えました" in granted.stdout
    rights = _rows(
        run_kiban_in_process("mesh", "access", "list", service, database_url=database).stdout
    )
    assert [(row["to"], row["purposes"]) for row in rights] == [
        ("JP/LG/231002/tax", "child-allowance tax-assessment")
    ]

    def check(*purpose: str) -> tuple[int, str]:
        done = run_kiban_in_process(
            "mesh", "access", "check", "JP/LG/231002/tax", service,
            "GET", "/residents/000000012/certificate", *purpose, database_url=database,
        )  # fmt: skip
        return done.returncode, done.stdout

    code, line = check("--purpose", "tax-assessment")
    assert (code, line.split(":")[0]) == (0, "allowed / 可")
    assert check()[0] == 1
    assert "(purpose-required)" in check()[1]
    assert "(purpose-not-allowed)" in check("--purpose", "welfare")[1]


def test_a_rejection_says_why(database: str) -> None:
    agency = str(MemberId.of("GOV", "6000012010023"))
    requested = run_kiban_in_process(
        "mesh", "member", "request", agency, "--name", "デジタル庁", database_url=database
    )
    assert requested.returncode == 0, requested.stderr
    rejected = run_kiban_in_process(
        "mesh", "member", "reject", agency, "--reason", "申請者の確認が取れない",
        database_url=database,
    )  # fmt: skip
    assert rejected.returncode == 0, rejected.stderr
    pending = run_kiban_in_process(
        "mesh", "member", "list", "--status", "rejected", database_url=database
    )
    assert [row["reason"] for row in _rows(pending.stdout)] == ["申請者の確認が取れない"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("member", "request", "JP/LG/131017"), "check digit is 7, expected 6"),
        (("member", "request", "JP/XX/131016"), "member class 'XX'"),
        (("member", "request", "JP/GOV/6000012010023"), "needs its name (--name)"),
        (("member", "approve", "JP/LG/011002"), "has not asked to join the mesh"),
        (("member", "reject", "JP/LG/011002"), "Missing option '--reason'"),
        (("subsystem", "request", "JP/LG/011002/Juki"), "subsystem code 'Juki'"),
        (("subsystem", "request", "JP/LG/011002/juki"), "request the member first"),
        (("member", "list", "--status", "maybe"), "Invalid value for '--status'"),
        (("group", "add", "nobody", "JP/LG/011002/juki"), "no group group:nobody"),
        (("group", "create", "Bad", "--description", "x"), "group code 'Bad'"),
        (("access", "grant", "JP/LG/011002/juki/x", "group:g"), "is not published"),
        (("access", "list", "JP/LG/011002/juki/x/1"), "version '1'"),
        (
            ("member", "gateway", "add", "JP/LG/011002", "http://127.0.0.1:5501"),
            "gateway address 'http://127.0.0.1:5501': https://HOST:PORT",
        ),
        (
            ("member", "gateway", "add", "JP/LG/011002", "https://127.0.0.1:5501"),
            "JP/LG/011002 is not an approved member",
        ),
        (
            ("member", "gateway", "remove", "JP/LG/011002", "https://127.0.0.1:5501/"),
            "no path, query or user name",
        ),
        (("member", "gateway", "list", "--member", "JP/LG/01100"), "must be 6 digits, got 5"),
    ],
)
def test_mistakes_are_one_line_and_change_nothing(
    database: str, arguments: tuple[str, ...], message: str
) -> None:
    before = run_kiban_in_process("mesh", "member", "list", database_url=database).stdout
    result = run_kiban_in_process("mesh", *arguments, database_url=database)
    assert result.returncode == 2
    assert result.stderr.startswith("kiban: error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert run_kiban_in_process("mesh", "member", "list", database_url=database).stdout == before


def _command_paths(group: typer.Typer, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [(*path, str(command.name)) for command in group.registered_commands]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        paths.extend(_command_paths(sub.typer_instance, (*path, str(sub.name))))
    return paths


def test_every_command_explains_itself() -> None:
    paths = _command_paths(app)
    assert ("member", "gateway", "add") in paths
    for path in paths:
        shown = run_kiban_in_process("mesh", *path, "--help")
        assert shown.returncode == 0, (path, shown.stderr)
        assert f"Usage: kiban mesh {' '.join(path)} " in shown.stdout
