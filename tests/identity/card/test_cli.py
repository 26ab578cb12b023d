"""``kiban ca`` and ``kiban card`` through the real entry point, against a real server on a free
port; the round trip starts each in a process of its own, as a user runs them.

The commands commit, so they run on a database of their own (one per backend), holding only
the registry rows the resident needs.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx2
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from conftest import POSTGRES_ADMIN_URL
from kiban.core import migrations
from kiban.core.crypto import PersonalNumberHasher
from kiban.core.csrf import CSRF_COOKIE
from kiban.core.database import create_database_engine, scratch_postgresql_database
from kiban.core.sessions import SESSION_COOKIE
from kiban.registry.addresses.models import Town
from kiban.registry.localgov.models import LocalGovernment
from kiban.residents.codes import Relationship, Sex
from kiban.residents.schemas import AddressIn, HouseholdPlacement, MovingInIn, PersonIn
from kiban.residents.service import ResidentService
from kiban.tenants.service import TenantService
from kiban_command import free_port, kiban_server, run_kiban, run_kiban_in_process

CHIYODA = "131016"
PIN = "2580"
PASSWORD = "KASUMI13"


@dataclass(frozen=True)
class Deployment:
    database_url: str
    data_dir: Path
    environment: dict[str, str]
    addressee_number: str

    def kiban(
        self, *arguments: str, in_process: bool = True, **environment: str
    ) -> subprocess.CompletedProcess[str]:
        """``kiban ARGUMENTS`` on this deployment, in this process or in one of its own."""
        run = run_kiban_in_process if in_process else run_kiban
        return run(
            *arguments,
            database_url=self.database_url,
            data_dir=self.data_dir,
            environment={**self.environment, **environment},
        )


def _own_database(database_url: str) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{Path(str(make_url(database_url).database)).with_name(f'cli-{uuid.uuid4().hex[:8]}.db')}"
        return
    with scratch_postgresql_database(POSTGRES_ADMIN_URL, "kiban_card_cli") as url:
        yield url


@pytest.fixture(scope="module")
def deployment(
    engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    for url in _own_database(database_url):
        own = create_database_engine(url)
        migrations.upgrade(own)
        with engine.connect() as source, own.begin() as target:
            governments = source.execute(select(LocalGovernment.__table__)).mappings().all()
            target.execute(insert(LocalGovernment), [dict(row) for row in governments])
            towns = (
                source.execute(select(Town.__table__).where(Town.lg_code == CHIYODA))
                .mappings()
                .all()
            )
            target.execute(insert(Town), [dict(row) for row in towns])
        with Session(own) as session:
            TenantService(session).enable(CHIYODA)
            resident = ResidentService(
                session, CHIYODA, PersonalNumberHasher(b"cli"), today=lambda: date(2025, 6, 30)
            ).register_moving_in(
                MovingInIn(
                    person=PersonIn(
                        family_name="佐藤",
                        given_name="一郎",
                        family_name_kana="サトウ",
                        given_name_kana="イチロウ",
                        birth_date=date(1970, 1, 2),
                        sex=Sex.MALE,
                    ),
                    resident_record_code="00000000019",
                    personal_number=SecretStr("123456789018"),
                    household=HouseholdPlacement(
                        household_number=None, relationship=Relationship.HEAD
                    ),
                    address=AddressIn(
                        lg_code=CHIYODA, town_name="霞が関一丁目", banchi="1-3", katagaki=None
                    ),
                    moved_in_on=date(2024, 4, 1),
                    notified_on=date(2024, 4, 1),
                )
            )
            addressee_number = resident.addressee_number
            session.commit()
        own.dispose()
        yield Deployment(
            database_url=url,
            data_dir=tmp_path_factory.mktemp("card-cli"),
            environment={"KIBAN_SECRET_KEY": "card cli tests", "KIBAN_SECURE_COOKIES": "false"},
            addressee_number=addressee_number,
        )


@pytest.fixture(scope="module")
def server(deployment: Deployment) -> Iterator[str]:
    """``kiban serve`` with two processes, as a deployment runs it: the commands below talk to
    whichever process accepts their connection."""
    environment = {
        **deployment.environment,
        "KIBAN_DATABASE_URL": deployment.database_url,
        "KIBAN_DATA_DIR": str(deployment.data_dir),
    }
    with kiban_server(environment, workers=2) as served:
        yield served.url


def _browser_starts(url: str) -> tuple[httpx2.Client, str]:
    browser = httpx2.Client(base_url=url, follow_redirects=False)
    browser.get("/signin", params={"next": "/after"})
    started = browser.post(
        "/signin/card", data={"csrf_token": browser.cookies[CSRF_COOKIE], "next": "/after"}
    )
    assert started.status_code == 303, started.text
    return browser, started.headers["location"].rsplit("/", 1)[-1]


def test_ca_init_show_and_card_issue_approve_round_trip(
    deployment: Deployment, server: str, tmp_path: Path
) -> None:
    initialised = deployment.kiban("ca", "init", in_process=False)
    assert initialised.returncode == 0, initialised.stderr
    assert "kiban Root CA" in initialised.stdout
    again = deployment.kiban("ca", "init")
    assert "already set up" in again.stderr
    shown = deployment.kiban("ca", "show")
    assert shown.stdout == initialised.stdout
    assert "PRIVATE" not in shown.stdout + initialised.stderr

    card = tmp_path / "card"
    issued = deployment.kiban(
        "card",
        "issue",
        "--tenant",
        CHIYODA,
        "--resident",
        deployment.addressee_number,
        "--out",
        str(card),
        KIBAN_CARD_PIN=PIN,
        KIBAN_CARD_PASSWORD=PASSWORD,
    )
    assert issued.returncode == 0, issued.stderr
    assert "signing certificate:" in issued.stdout
    assert (card / "auth.p12").exists()
    assert (card / "sign.p12").exists()

    browser, code = _browser_starts(server)
    assert browser.get(f"/signin/card/{code}").status_code == 200
    approved = deployment.kiban(
        "card",
        "approve",
        f"{code[:4]}-{code[4:]}",
        "--card",
        str(card),
        "--server",
        server,
        in_process=False,
        KIBAN_CARD_PIN=PIN,
    )
    assert approved.returncode == 0, approved.stderr
    assert "approved" in approved.stdout
    done = browser.get(f"/signin/card/{code}")
    assert done.status_code == 303
    assert done.headers["location"] == "/after"
    assert browser.cookies.get(SESSION_COOKIE)

    # The same code cannot be approved twice.
    replay = deployment.kiban(
        "card", "approve", code, "--card", str(card), "--server", server, KIBAN_CARD_PIN=PIN
    )
    assert replay.returncode != 0
    assert replay.stderr.startswith("kiban: error:")
    assert len(replay.stderr.strip().splitlines()) == 1

    # Reported lost: the card no longer signs anyone in.
    lost = deployment.kiban(
        "card",
        "revoke",
        "--tenant",
        CHIYODA,
        "--resident",
        deployment.addressee_number,
        "--reason",
        "lost",
    )
    assert lost.returncode == 0, lost.stderr
    browser, code = _browser_starts(server)
    refused = deployment.kiban(
        "card", "approve", code, "--card", str(card), "--server", server, KIBAN_CARD_PIN=PIN
    )
    assert refused.returncode != 0
    assert "revoked" in refused.stderr
    serial = (card / "card.json").read_text()
    assert deployment.kiban("ca", "revoke", "ffff", "--reason", "key_compromise").returncode != 0
    assert serial


def test_cli_errors_are_one_line(deployment: Deployment, server: str, tmp_path: Path) -> None:
    assert deployment.kiban("ca", "init").returncode == 0
    card = tmp_path / "card"
    issue = (
        "card",
        "issue",
        "--tenant",
        CHIYODA,
        "--resident",
        deployment.addressee_number,
        "--out",
        str(card),
    )
    cases = [
        deployment.kiban(*issue, KIBAN_CARD_PIN="12", KIBAN_CARD_PASSWORD=PASSWORD),
        deployment.kiban(*issue, KIBAN_CARD_PIN=PIN, KIBAN_CARD_PASSWORD="short"),
        deployment.kiban(
            "card", "issue", "--tenant", "13101", "--resident", "1", "--out", str(card)
        ),
        deployment.kiban(
            "card",
            "issue",
            "--tenant",
            CHIYODA,
            "--resident",
            "0000000000",
            "--out",
            str(card),
            KIBAN_CARD_PIN=PIN,
            KIBAN_CARD_PASSWORD=PASSWORD,
        ),
        deployment.kiban("card", "approve", "NOT-A-CODE!", "--card", str(card)),
        deployment.kiban("card", "approve", "ABCD-EFGH", "--card", str(tmp_path / "nothing")),
        deployment.kiban("ca", "revoke", "abc", "--reason", "nonsense"),
    ]
    for case in cases:
        assert case.returncode != 0
        assert case.stderr.startswith("kiban: error:"), case.stderr
        assert len(case.stderr.strip().splitlines()) == 1, case.stderr
    assert not card.exists()  # nothing half-written

    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    made = deployment.kiban(*issue, "--pin-file", str(pin_file), KIBAN_CARD_PASSWORD=PASSWORD)
    assert made.returncode == 0, made.stderr
    refused = deployment.kiban(*issue, KIBAN_CARD_PIN=PIN, KIBAN_CARD_PASSWORD=PASSWORD)
    assert "not empty" in refused.stderr

    unknown = deployment.kiban(
        "card", "approve", "ZZZZ-ZZZZ", "--card", str(card), "--server", server, KIBAN_CARD_PIN=PIN
    )
    assert "no sign-in request" in unknown.stderr.lower()
    down = deployment.kiban(
        "card",
        "approve",
        "ZZZZ-ZZZZ",
        "--card",
        str(card),
        "--server",
        f"http://127.0.0.1:{free_port()}",
        KIBAN_CARD_PIN=PIN,
    )
    assert "cannot reach" in down.stderr

    # Three wrong PINs lock the card; then even the right PIN is refused before any request.
    for _ in range(3):
        _browser, code = _browser_starts(server)
        wrong = deployment.kiban(
            "card",
            "approve",
            code,
            "--card",
            str(card),
            "--server",
            server,
            KIBAN_CARD_PIN="0000",
        )
        assert wrong.returncode != 0
    assert "locked" in wrong.stderr
    locked = deployment.kiban(
        "card", "approve", "ZZZZ-ZZZZ", "--card", str(card), "--server", server, KIBAN_CARD_PIN=PIN
    )
    assert "locked" in locked.stderr
