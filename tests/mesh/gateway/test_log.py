"""The message log: chained, signed, and every kind of tampering found and named.

Each test gets a gateway database of its own, on each backend.  Tampering is done as someone
with the database's keys would: the append-only triggers set aside, then plain SQL.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from kiban.identity.ca.models import CertificateKind
from kiban.identity.ca.profiles import (
    ISSUING_NAME,
    ROOT_NAME,
    ca_builder,
    holder_builder,
    organisation_name,
)
from kiban.mesh.gateway.database import VERSION_TABLE, gateway_metadata, open_gateway_database
from kiban.mesh.gateway.log import (
    ArchiveError,
    BodyKeyError,
    DuplicateMessage,
    Finding,
    FindingKind,
    LogEntry,
    LogReport,
    LogWriter,
    MessageLog,
    archive,
    prune,
    verify_archive,
    verify_log,
)
from kiban.mesh.gateway.log_checkpoints import CheckpointSigner
from kiban.mesh.gateway.log_records import (
    CONTENT_COLUMNS,
    ROLES,
    STORED_COLUMNS,
    content_digest,
    record_hash,
)

BODY_KEY = bytes(range(32))
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TABLES = ("gateway_log_records", "gateway_log_checkpoints", "gateway_log_anchors")
SECRET = "秘密の住民票データ / resident record"
Result = TypeVar("Result")


def run_coroutine(coroutine: Coroutine[Any, Any, Result]) -> Result:
    """``asyncio.run`` in a thread of its own: the browser tests' Playwright keeps an event
    loop running in the test thread for the whole session."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


# The mesh's certificate authority, and a gateway under it ---------------------------------


@dataclass(frozen=True)
class Pki:
    root: x509.Certificate
    issuing: x509.Certificate
    issuing_key: ec.EllipticCurvePrivateKey
    key: ec.EllipticCurvePrivateKey  # the gateway's
    certificate: x509.Certificate

    def gateway(self, member: str, issuing_key: ec.EllipticCurvePrivateKey | None = None) -> Any:
        """A new gateway key and organisation certificate (issued under ``issuing_key``)."""
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = holder_builder(
            CertificateKind.ORGANISATION,
            organisation_name(member, "テスト"),
            key.public_key(),
            self.issuing,
            serial_number=x509.random_serial_number(),
            not_before=START - timedelta(days=1),
            not_after=START + timedelta(days=365),
            public_url="https://registry.kiban.test",
        ).sign(issuing_key or self.issuing_key, hashes.SHA256())
        return key, certificate


def _pki() -> Pki:
    def ca(name: x509.Name, key: ec.EllipticCurvePrivateKey, issuer_key: Any, path: int) -> Any:
        return ca_builder(
            name,
            ROOT_NAME,
            key.public_key(),
            issuer_key.public_key(),
            not_before=START - timedelta(days=1),
            not_after=START + timedelta(days=3650),
            path_length=path,
        ).sign(issuer_key, hashes.SHA256())

    root_key = ec.generate_private_key(ec.SECP256R1())
    issuing_key = ec.generate_private_key(ec.SECP256R1())
    root = ca(ROOT_NAME, root_key, root_key, 1)
    issuing = ca(ISSUING_NAME, issuing_key, root_key, 0)
    partial = Pki(root, issuing, issuing_key, issuing_key, issuing)
    key, certificate = partial.gateway("JP/LG/131016")
    return replace(partial, key=key, certificate=certificate)


@pytest.fixture(scope="session")
def pki() -> Pki:
    return _pki()


@pytest.fixture
def gateway_engine(empty_database: str) -> Iterator[Engine]:
    engine = open_gateway_database(empty_database)
    yield engine
    engine.dispose()


@pytest.fixture
def message_log(gateway_engine: Engine, pki: Pki) -> MessageLog:
    return MessageLog(
        gateway_engine,
        pki.key,
        pki.certificate,
        issuers=[pki.issuing],
        body_key=BODY_KEY,
        checkpoint_every=10,
    )


def entry(number: int, *, body: bytes | None = None, **changes: Any) -> LogEntry:
    """The ``number``-th exchange: a tax office asking for a resident certificate."""
    started = START + timedelta(minutes=number)
    base = LogEntry(
        message_id=str(uuid.UUID(int=number)),
        role="provider",
        client="JP/LG/011002/tax",
        service="JP/LG/131016/juki/resident-certificate/v1",
        method="GET",
        path=f"/residents/{number:06d}?fields=address",
        user_id=f"staff-{number % 7}",
        purpose="個人住民税の賦課",
        legal_basis="地方税法第20条の11",
        consent=None,
        status=200 if number % 5 else 403,
        outcome="ok" if number % 5 else "access-denied",
        request_signature=f"eyJhbGciOiJFUzI1NiJ9.req{number}.sig",
        response_signature=f"eyJhbGciOiJFUzI1NiJ9.res{number}.sig",
        request_hash=f"sha-256=:{number}:",
        request_body=body,
        response_body=body,
        started_at=started,
        finished_at=started + timedelta(milliseconds=40),
    )
    return replace(base, **changes)


def fill(message_log: MessageLog, count: int, batch: int = 5) -> None:
    for first in range(1, count + 1, batch):
        results = message_log.append(
            [entry(n) for n in range(first, min(first + batch, count + 1))]
        )
        assert all(isinstance(result, int) for result in results)


def tamper(engine: Engine, *statements: str, **parameters: Any) -> None:
    """Change the log behind the gateway's back, as a database administrator could."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in TABLES:
                connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            triggers = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).scalars()
            for trigger in list(triggers):
                connection.exec_driver_sql(f"DROP TRIGGER {trigger}")
        for statement in statements:
            connection.execute(text(statement), parameters)


def stored(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(
            text(f"SELECT {', '.join(STORED_COLUMNS)} FROM gateway_log_records WHERE seq = :seq"),
            {"seq": seq},
        ).one()
    return dict(row._mapping)


def rehashed(engine: Engine, seq: int, **changes: Any) -> None:
    """Change record ``seq`` and recompute its hash, as someone who read this code would."""
    record = {**stored(engine, seq), **changes}
    digest = content_digest([record[name] for name in CONTENT_COLUMNS])
    assignments = ", ".join(f"{name} = :{name}" for name in [*changes, "hash"])
    tamper(
        engine,
        f"UPDATE gateway_log_records SET {assignments} WHERE seq = :seq",
        **changes,
        hash=record_hash(record["prev_hash"], seq, digest),
        seq=seq,
    )


def kinds(report: LogReport) -> list[tuple[FindingKind, int, int]]:
    return [(finding.kind, finding.first, finding.last) for finding in report.findings]


# The schema ----------------------------------------------------------------------------------


def test_the_migrations_build_the_models_schema_in_its_own_version_table(
    gateway_engine: Engine,
) -> None:
    with gateway_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, gateway_metadata()) == []
        assert connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def test_the_database_refuses_to_change_or_remove_unarchived_records(
    message_log: MessageLog, gateway_engine: Engine
) -> None:
    fill(message_log, 12)  # signed at 10
    for statement in (
        "UPDATE gateway_log_records SET user_id = 'someone' WHERE seq = 2",
        "DELETE FROM gateway_log_records WHERE seq = 2",
        "DELETE FROM gateway_log_checkpoints",
    ):
        with pytest.raises(DBAPIError, match="append-only"), gateway_engine.begin() as connection:
            connection.execute(text(statement))
    assert verify_log(gateway_engine).intact


# Appending --------------------------------------------------------------------------------------


def test_records_are_numbered_chained_and_signed_at_checkpoints(
    message_log: MessageLog, gateway_engine: Engine, pki: Pki
) -> None:
    fill(message_log, 25)
    report = verify_log(gateway_engine, root=pki.root)
    assert report.intact, report.findings
    assert (report.records, report.last, report.sealed, report.unsealed) == (25, 25, 20, 5)
    assert report.signers == ("JP/LG/131016",)
    assert "25 records, chain intact / 改ざんなし" in report.summary()

    checkpoint = message_log.checkpoint()
    assert checkpoint is not None
    assert checkpoint.seq == 25
    assert message_log.checkpoint() is None  # nothing new to sign
    assert verify_log(gateway_engine, root=pki.root).unsealed == 0
    first, last = stored(gateway_engine, 1), stored(gateway_engine, 25)
    assert first["prev_hash"] == bytes(32)
    assert last["hash"] == checkpoint.hash


def test_concurrent_asyncio_writers_share_commits_and_one_chain(
    message_log: MessageLog, gateway_engine: Engine, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    append = message_log.append

    def counted(entries: Any) -> Any:
        batches.append(len(entries))
        return append(entries)

    monkeypatch.setattr(message_log, "append", counted)
    writer = LogWriter(message_log, max_batch=64)

    async def exchange(client: int, count: int) -> list[int]:
        return [
            await writer.write(entry(client * 1000 + n, client=f"JP/LG/01100{client}/tax"))
            for n in range(count)
        ]

    async def run() -> list[list[int]]:
        writer.start()
        try:
            return await asyncio.gather(*(exchange(client, 25) for client in range(40)))
        finally:
            await writer.close()

    numbers = [number for per_client in run_coroutine(run()) for number in per_client]
    assert sorted(numbers) == list(range(1, 1001))
    assert sum(batches) == 1000
    assert len(batches) < 1000 / 4
    assert max(batches) <= 64
    report = verify_log(gateway_engine, root=pki.root)
    assert report.intact, report.findings
    assert report.sealed == 1000  # closing signed a final checkpoint
    assert not writer.healthy
    assert writer.status == "stopped"


def test_appenders_in_several_processes_queue_rather_than_fork_the_chain(
    gateway_engine: Engine, empty_database: str, pki: Pki
) -> None:
    """Two gateway processes of one member sharing the database: two engines at once."""
    other = open_gateway_database(empty_database)
    logs = [
        MessageLog(
            engine,
            pki.key,
            pki.certificate,
            issuers=[pki.issuing],
            body_key=None,
            checkpoint_every=50,
        )
        for engine in (gateway_engine, other)
    ]

    def append(index: int) -> None:
        for batch in range(20):
            first = (index + 1) * 10_000 + batch * 10
            results = logs[index].append([entry(first + n) for n in range(10)])
            assert all(isinstance(result, int) for result in results)

    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(append, [0, 1]))
    finally:
        other.dispose()
    report = verify_log(gateway_engine, root=pki.root)
    assert report.intact, report.findings
    assert report.records == 400


def test_a_replayed_message_id_is_refused_and_only_it(
    message_log: MessageLog, gateway_engine: Engine
) -> None:
    assert message_log.append([entry(1)]) == [1]
    replay = entry(1, path="/residents/other")
    results = message_log.append(
        [entry(2), replay, entry(3), entry(3), entry(1, role="consumer"), entry(1, client="JP/x")]
    )
    assert [type(result) for result in results] == [
        int,
        DuplicateMessage,
        int,
        DuplicateMessage,
        int,
        int,
    ]
    assert results[0] == 2
    assert results[2] == 3
    assert results[4:] == [4, 5]
    assert "already logged" in str(results[1])
    assert verify_log(gateway_engine).records == 5

    async def write_twice() -> None:
        writer = LogWriter(message_log)
        writer.start()
        try:
            assert await writer.write(entry(9)) == 6
            with pytest.raises(DuplicateMessage):
                await writer.write(entry(9))
            assert writer.healthy
        finally:
            await writer.close()

    run_coroutine(write_twice())


def test_bodies_are_encrypted_at_rest_and_decrypt_back(
    message_log: MessageLog, gateway_engine: Engine, empty_database: str, pki: Pki
) -> None:
    body = SECRET.encode("utf-8")
    message_log.append([entry(1, body=body), entry(2, body=body + b"!")])
    raw = stored(gateway_engine, 1)
    assert body not in raw["request_body"]
    assert body not in raw["response_body"]
    assert raw["request_body"] != raw["response_body"]  # a nonce of their own
    if gateway_engine.dialect.name == "sqlite":
        path = Path(empty_database.removeprefix("sqlite:///"))
        files = [path, path.with_name(path.name + "-wal")]
        assert not any(body in file.read_bytes() for file in files if file.exists())
    logged = message_log.entry(1)
    assert logged is not None
    assert (logged.request_body, logged.response_body) == (body, body)
    assert logged.started_at == entry(1).started_at

    stranger = MessageLog(gateway_engine, pki.key, pki.certificate, body_key=os.urandom(32))
    with pytest.raises(BodyKeyError, match="does not decrypt"):
        stranger.entry(1)
    # A body moved to another record no longer decrypts: its number is bound to it.
    tamper(
        gateway_engine,
        "UPDATE gateway_log_records SET request_body = :moved WHERE seq = 2",
        moved=raw["request_body"],
    )
    with pytest.raises(BodyKeyError):
        message_log.entry(2)
    assert kinds(verify_log(gateway_engine)) == [(FindingKind.CHANGED, 2, 2)]


def test_without_a_body_key_a_body_is_refused_never_stored_plain(
    gateway_engine: Engine, pki: Pki
) -> None:
    keyless = MessageLog(gateway_engine, pki.key, pki.certificate, body_key=None)
    refused, logged = keyless.append([entry(1, body=b"plain"), entry(2)])
    assert isinstance(refused, BodyKeyError)
    assert logged == 1
    with pytest.raises(BodyKeyError, match="32 bytes"):
        MessageLog(gateway_engine, pki.key, pki.certificate, body_key=b"short")
    with pytest.raises(ValueError, match="another key"):
        MessageLog(gateway_engine, pki.key, pki.issuing, body_key=None)


# Tampering: each kind found and named ----------------------------------------------------------


@pytest.fixture
def thirty(message_log: MessageLog, gateway_engine: Engine) -> Engine:
    """30 records, signed at 10, 20 and 30."""
    fill(message_log, 30)
    return gateway_engine


def test_a_changed_field_is_named_once(thirty: Engine) -> None:
    tamper(thirty, "UPDATE gateway_log_records SET user_id = 'intruder' WHERE seq = 15")
    report = verify_log(thirty)
    assert kinds(report) == [(FindingKind.CHANGED, 15, 15)]
    assert str(report.findings[0]).startswith("record 15: changed / 改ざん")


def test_a_record_rewritten_with_a_recomputed_hash_is_named(thirty: Engine) -> None:
    rehashed(thirty, 15, purpose="別の目的")
    assert kinds(verify_log(thirty)) == [(FindingKind.CHANGED, 15, 15)]


def test_the_last_record_rewritten_with_a_recomputed_hash_is_named(
    message_log: MessageLog, thirty: Engine
) -> None:
    message_log.append([entry(31)])  # after the last checkpoint: only the head knows it
    rehashed(thirty, 31, status=200, outcome="ok", user_id="nobody")
    assert kinds(verify_log(thirty)) == [(FindingKind.CHANGED, 31, 31)]


def test_a_chain_recomputed_from_a_record_on_is_caught_by_the_checkpoints(thirty: Engine) -> None:
    for seq in range(12, 31):
        previous = stored(thirty, seq - 1)["hash"]
        changes = {"user_id": "intruder"} if seq == 12 else {}
        record = {**stored(thirty, seq), **changes, "prev_hash": previous}
        digest = content_digest([record[name] for name in CONTENT_COLUMNS])
        tamper(
            thirty,
            "UPDATE gateway_log_records SET user_id = :user_id, prev_hash = :prev, hash = :hash"
            " WHERE seq = :seq",
            user_id=record["user_id"],
            prev=previous,
            hash=record_hash(previous, seq, digest),
            seq=seq,
        )
    assert kinds(verify_log(thirty)) == [
        (FindingKind.CHANGED, 11, 20),
        (FindingKind.CHANGED, 21, 30),
    ]


def test_a_deleted_record_is_named(thirty: Engine) -> None:
    tamper(thirty, "DELETE FROM gateway_log_records WHERE seq = 15")
    report = verify_log(thirty)
    assert kinds(report) == [(FindingKind.DELETED, 15, 15)]
    assert report.records == 29


def test_the_last_records_deleted_are_named_even_with_the_head_moved_back(thirty: Engine) -> None:
    tamper(thirty, "DELETE FROM gateway_log_records WHERE seq > 27")
    assert kinds(verify_log(thirty)) == [(FindingKind.DELETED, 28, 30)]
    rewound = stored(thirty, 27)["hash"]
    tamper(thirty, "UPDATE gateway_log_head SET seq = 27, hash = :hash", hash=rewound)
    report = verify_log(thirty)
    assert kinds(report) == [(FindingKind.DELETED, 28, 30)]  # the checkpoint at 30 says so
    assert "the last records" in report.findings[0].detail


def test_a_deleted_record_with_the_rest_renumbered_is_named(thirty: Engine) -> None:
    tamper(
        thirty,
        "DELETE FROM gateway_log_records WHERE seq = 15",
        *(f"UPDATE gateway_log_records SET seq = {n - 1} WHERE seq = {n}" for n in range(16, 31)),
    )
    report = verify_log(thirty)
    assert kinds(report) == [(FindingKind.DELETED, 15, 15)]
    assert "renumbered" in report.findings[0].detail


def _forged(seq: int, prev_hash: bytes, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        name: getattr(entry(900 + seq), name) for name in CONTENT_COLUMNS if "_us" not in name
    }
    record.update(started_us=0, finished_us=0, seq=seq, prev_hash=prev_hash, hash=os.urandom(32))
    record.update(request_body=None, response_body=None, **changes)
    return record


_INSERT = (
    f"INSERT INTO gateway_log_records ({', '.join(STORED_COLUMNS)})"
    f" VALUES ({', '.join(':' + name for name in STORED_COLUMNS)})"
)


def test_a_record_added_after_the_last_is_named_inserted(thirty: Engine) -> None:
    tamper(thirty, _INSERT, **_forged(31, stored(thirty, 30)["hash"]))
    assert kinds(verify_log(thirty)) == [(FindingKind.INSERTED, 31, 31)]


def test_a_well_forged_record_added_after_the_last_is_named_inserted(thirty: Engine) -> None:
    previous = stored(thirty, 30)["hash"]
    forged = _forged(31, previous)
    forged["hash"] = record_hash(
        previous, 31, content_digest([forged[name] for name in CONTENT_COLUMNS])
    )
    tamper(thirty, _INSERT, **forged)
    assert kinds(verify_log(thirty)) == [(FindingKind.INSERTED, 31, 31)]


def test_a_record_inserted_with_the_rest_renumbered_is_named_inserted(thirty: Engine) -> None:
    tamper(
        thirty,
        *(
            f"UPDATE gateway_log_records SET seq = {n + 1} WHERE seq = {n}"
            for n in range(30, 15, -1)
        ),
        _INSERT,
        **_forged(16, stored(thirty, 15)["hash"]),
    )
    report = verify_log(thirty)
    assert kinds(report) == [(FindingKind.INSERTED, 16, 16)]
    assert "renumbered" in report.findings[0].detail


def test_a_copy_of_a_record_is_named_inserted(thirty: Engine) -> None:
    copy = {**stored(thirty, 12), "seq": 31, "message_id": str(uuid.uuid4())}
    tamper(thirty, _INSERT, **copy)
    assert (FindingKind.INSERTED, 31, 31) in kinds(verify_log(thirty))


def _swap(engine: Engine, first: int, second: int) -> None:
    tamper(
        engine,
        f"UPDATE gateway_log_records SET seq = -1 WHERE seq = {first}",
        f"UPDATE gateway_log_records SET seq = {first} WHERE seq = {second}",
        f"UPDATE gateway_log_records SET seq = {second} WHERE seq = -1",
    )


@pytest.mark.parametrize(("first", "second"), [(5, 25), (12, 13), (29, 30)])
def test_two_swapped_records_are_named_reordered(thirty: Engine, first: int, second: int) -> None:
    _swap(thirty, first, second)
    report = verify_log(thirty)
    assert kinds(report) == [
        (FindingKind.REORDERED, first, first),
        (FindingKind.REORDERED, second, second),
    ]
    assert f"written as record {second}" in report.findings[0].detail


def test_swapped_contents_are_named_reordered(thirty: Engine) -> None:
    """Everything but the numbers exchanged between two records."""
    first, second = stored(thirty, 7), stored(thirty, 21)
    tamper(thirty, "DELETE FROM gateway_log_records WHERE seq IN (7, 21)")
    tamper(thirty, _INSERT, **{**second, "seq": 7})
    tamper(thirty, _INSERT, **{**first, "seq": 21})
    assert kinds(verify_log(thirty)) == [
        (FindingKind.REORDERED, 7, 7),
        (FindingKind.REORDERED, 21, 21),
    ]


def test_several_kinds_at_once_are_each_named(thirty: Engine) -> None:
    tamper(
        thirty,
        "UPDATE gateway_log_records SET status = 500 WHERE seq = 3",
        "DELETE FROM gateway_log_records WHERE seq IN (8, 9)",
    )
    _swap(thirty, 14, 22)
    tamper(thirty, _INSERT, **_forged(31, os.urandom(32)))
    assert kinds(verify_log(thirty)) == [
        (FindingKind.CHANGED, 3, 3),
        (FindingKind.DELETED, 8, 9),
        (FindingKind.REORDERED, 14, 14),
        (FindingKind.REORDERED, 22, 22),
        (FindingKind.INSERTED, 31, 31),
    ]


def test_a_forged_or_foreign_checkpoint_is_named(thirty: Engine, pki: Pki) -> None:
    token = stored_checkpoint(thirty, 20)
    header, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    tamper(
        thirty,
        "UPDATE gateway_log_checkpoints SET token = :t WHERE seq = 20",
        t=".".join((header, payload, flipped)),
    )
    report = verify_log(thirty, root=pki.root)
    assert kinds(report) == [(FindingKind.CHECKPOINT, 20, 20)]
    assert "signature does not verify" in report.findings[0].detail

    # A gateway certified by another CA signs a checkpoint: it verifies, but not to our root.
    outsider_ca = ec.generate_private_key(ec.SECP256R1())
    key, certificate = pki.gateway("JP/LG/131016", issuing_key=outsider_ca)
    forged = CheckpointSigner(key, certificate, [pki.issuing]).sign(
        30, stored(thirty, 30)["hash"], START
    )
    tamper(thirty, "UPDATE gateway_log_checkpoints SET token = :t WHERE seq = 30", t=forged.token)
    report = verify_log(thirty, root=pki.root)
    assert (FindingKind.CHECKPOINT, 30, 30) in kinds(report)
    assert any("not under the trusted root" in finding.detail for finding in report.findings)
    assert verify_log(thirty).findings[0].kind is FindingKind.CHECKPOINT  # only the flip


def stored_checkpoint(engine: Engine, seq: int) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT token FROM gateway_log_checkpoints WHERE seq = :seq"), {"seq": seq}
            ).scalar_one()
        )


_VALUES = {
    "status": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    "started_us": st.integers(min_value=0, max_value=2**62),
    "finished_us": st.integers(min_value=0, max_value=2**62),
    "role": st.sampled_from(ROLES),
    "request_body": st.binary(min_size=1, max_size=64),
    "response_body": st.binary(min_size=1, max_size=64),
}
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=40,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_change_to_any_field_of_any_record_is_found_there(
    thirty: Engine, data: st.DataObject
) -> None:
    seq = data.draw(st.integers(min_value=1, max_value=30), label="record")
    column = data.draw(st.sampled_from(CONTENT_COLUMNS), label="column")
    original = stored(thirty, seq)[column]
    value = data.draw(_VALUES.get(column, _TEXT).filter(lambda v: v != original), label="value")
    update = f"UPDATE gateway_log_records SET {column} = :value WHERE seq = {seq}"
    tamper(thirty, update, value=value)
    try:
        assert kinds(verify_log(thirty)) == [(FindingKind.CHANGED, seq, seq)]
    finally:
        tamper(thirty, update, value=original)
    assert verify_log(thirty).intact


# Archives and retention ---------------------------------------------------------------------


def test_archive_then_prune_keeps_the_rest_verifiable(
    message_log: MessageLog, thirty: Engine, tmp_path: Path, pki: Pki
) -> None:
    first = archive(thirty, tmp_path / "first.jsonl.gz", before=START + timedelta(minutes=25))
    assert (first.first, first.last, first.records) == (1, 20, 20)  # up to checkpoint 20
    alone = verify_archive(first.path, root=pki.root)
    assert alone.intact
    assert alone.records == 20
    assert alone.sealed == 20

    assert prune(thirty, first.path, root=pki.root) == 20
    report = verify_log(thirty, root=pki.root)
    assert report.intact, report.findings
    assert (report.start, report.records, report.last) == (20, 10, 30)
    with pytest.raises(ArchiveError, match="pruned already"):
        prune(thirty, first.path)

    fill_more = [entry(n) for n in range(31, 36)]
    message_log.append(fill_more)
    message_log.checkpoint()
    second = archive(thirty, tmp_path / "second.jsonl.gz", before=START + timedelta(days=1))
    assert (second.first, second.last) == (21, 35)
    assert verify_archive(second.path, root=pki.root).intact
    assert prune(thirty, second.path) == 15
    message_log.append([entry(36)])
    report = verify_log(thirty, root=pki.root)
    assert report.intact
    assert (report.start, report.records) == (35, 1)


def test_archives_are_pruned_in_the_order_of_the_chain(thirty: Engine, tmp_path: Path) -> None:
    small = archive(thirty, tmp_path / "a.jsonl.gz", before=START + timedelta(minutes=15))
    large = archive(thirty, tmp_path / "b.jsonl.gz", before=START + timedelta(minutes=25))
    assert (small.last, large.last) == (10, 20)
    assert prune(thirty, small.path) == 10
    with pytest.raises(ArchiveError, match="prune archives in the order"):
        prune(thirty, large.path)
    report = verify_log(thirty)
    assert report.intact
    assert report.start == 10


def test_an_archive_is_refused_when_nothing_is_signed_or_the_log_is_not_intact(
    thirty: Engine, tmp_path: Path
) -> None:
    with pytest.raises(ArchiveError, match="nothing to archive"):
        archive(thirty, tmp_path / "early.jsonl.gz", before=START)
    tamper(thirty, "DELETE FROM gateway_log_records WHERE seq = 4")
    with pytest.raises(ArchiveError, match="not intact"):
        archive(thirty, tmp_path / "broken.jsonl.gz", before=START + timedelta(days=1))
    assert list(tmp_path.glob("*.gz*")) == []  # no archive, not even a partial one


def _rewrite(path: Path, change: Any) -> None:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        lines = [json.loads(line) for line in file]
    lines = change(lines)
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def _changed_line(lines: list[Any]) -> list[Any]:
    lines[7]["purpose"] = "別の目的"  # line 7 after the header: record 7
    return lines


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_changed_line, [(FindingKind.CHANGED, 7, 7)]),
        (lambda lines: lines[:5] + lines[6:], [(FindingKind.DELETED, 5, 5)]),
        (lambda lines: lines[:-1], [(FindingKind.DELETED, 20, 20)]),
    ],
    ids=["changed", "deleted", "last-deleted"],
)
def test_an_archive_verifies_alone_and_shows_tampering(
    thirty: Engine, tmp_path: Path, pki: Pki, change: Any, expected: list[Any]
) -> None:
    written = archive(thirty, tmp_path / "log.jsonl.gz", before=START + timedelta(minutes=25))
    _rewrite(written.path, change)
    report = verify_archive(written.path, root=pki.root)
    assert kinds(report) == expected
    with pytest.raises(ArchiveError, match="does not verify"):
        prune(thirty, written.path)
    assert verify_log(thirty).records == 30  # nothing removed


def test_an_archive_whose_last_checkpoint_is_removed_shows_it(
    thirty: Engine, tmp_path: Path
) -> None:
    written = archive(thirty, tmp_path / "log.jsonl.gz", before=START + timedelta(minutes=25))

    def unsigned(lines: list[Any]) -> list[Any]:
        lines[0]["checkpoints"] = lines[0]["checkpoints"][:-1]
        return lines

    _rewrite(written.path, unsigned)
    report = verify_archive(written.path)
    assert (FindingKind.CHECKPOINT, 20, 20) in kinds(report)


def test_prune_removes_only_what_the_database_holds_alike(
    thirty: Engine, tmp_path: Path, gateway_engine: Engine
) -> None:
    written = archive(thirty, tmp_path / "log.jsonl.gz", before=START + timedelta(minutes=25))
    tamper(thirty, "UPDATE gateway_log_records SET consent = 'forged' WHERE seq = 3")
    with pytest.raises(ArchiveError, match="record 3 differs"):
        prune(thirty, written.path)
    assert verify_log(thirty).records == 30


def test_an_unreadable_archive_is_said_in_one_line(thirty: Engine, tmp_path: Path) -> None:
    path = tmp_path / "not-an-archive.jsonl"
    path.write_text('{"format": "something else"}\n', encoding="utf-8")
    with pytest.raises(ArchiveError, match="is not a kiban-mesh-log-archive"):
        verify_archive(path)
    path.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ArchiveError, match="is not a kiban-mesh-log-archive"):
        verify_archive(path)
    with pytest.raises(ArchiveError, match="cannot read"):
        verify_archive(tmp_path / "missing.jsonl.gz")
    written = archive(thirty, tmp_path / "log.jsonl.gz", before=START + timedelta(days=1))
    written.path.write_bytes(written.path.read_bytes()[:-200])  # cut short
    with pytest.raises(ArchiveError, match="unreadable"):
        verify_archive(written.path)


def test_findings_read_as_one_line_each() -> None:
    assert str(Finding(FindingKind.DELETED, 5, 9, "missing")) == (
        "records 5–9: deleted / 削除: missing"
    )
    assert str(Finding(FindingKind.CHECKPOINT, 20, 20, "x")).startswith("checkpoint 20:")
