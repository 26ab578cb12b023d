"""Archives and retention: old records leave the database for a file that verifies alone.

``archive`` writes the oldest records, up to a signed checkpoint, to a gzip-compressed JSON
Lines file: a header line (where the chain starts, with the checkpoint signing that start,
and every checkpoint of the range), then one line per record, bodies still encrypted.
``verify_archive`` checks a file with nothing but the file (and the root CA).  ``prune``
removes from the database exactly the records of a verified archive, leaving an anchor (the
last removed record's number and hash, and its checkpoint) from which the rest of the
database's chain still verifies.  Archives are pruned in order, each starting where the
database's chain starts, so that a series of archives and the database form one chain.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import itertools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography import x509
from sqlalchemy import Connection, Engine, delete, func, insert, select

from kiban.mesh.gateway.log_checkpoints import CheckpointInvalid, verify_checkpoint
from kiban.mesh.gateway.log_records import (
    ANCHORS,
    BODY_COLUMNS,
    CHECKPOINTS,
    RECORDS,
    STORED_COLUMNS,
    microseconds,
)
from kiban.mesh.gateway.log_verify import (
    ChainSource,
    Finding,
    FindingKind,
    LogReport,
    Progress,
    check_chain,
    database_source,
    read_snapshot,
)

FORMAT = "kiban-mesh-log-archive"
VERSION = 1
_BATCH = 10_000
_HASH_COLUMNS = ("prev_hash", "hash")


class ArchiveError(ValueError):
    """An archive that cannot be made, read or pruned; the message says why, on one line."""


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    path: Path
    first: int
    last: int

    @property
    def records(self) -> int:
        return self.last - self.first + 1


# Writing ----------------------------------------------------------------------------------


def archive(engine: Engine, out: Path, *, before: datetime) -> ArchiveSummary:
    """Write the records that finished before ``before`` to ``out``, up to the last signed
    checkpoint among them; the file is verified before it is kept."""
    if out.exists():
        raise ArchiveError(f"{out} exists: archives are never overwritten / 既に存在します")
    draft = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        with read_snapshot(engine) as connection:
            source = database_source(connection)
            last = _archivable(connection, source, microseconds(before))
            if last is None:
                raise ArchiveError(
                    f"no signed checkpoint covers records finished before {before.isoformat()}:"
                    " nothing to archive yet / アーカイブできる記録がありません"
                )
            try:
                with gzip.open(draft, "wt", encoding="utf-8") as file:
                    _write(file, connection, source, last)
            except OSError as error:
                raise ArchiveError(f"cannot write {out}: {error.strerror}") from None
        report = verify_archive(draft)
        if not report.intact:
            raise ArchiveError(
                f"the log is not intact up to record {last} ({report.findings[0]}):"
                " run `kiban mesh log verify` / ログが改ざんされています"
            )
        draft.rename(out)
    finally:
        draft.unlink(missing_ok=True)
    return ArchiveSummary(out, source.start + 1, last)


def _archivable(connection: Connection, source: ChainSource, before_us: int) -> int | None:
    """The last record to archive: the newest checkpoint before the first record that
    finished at or after ``before`` (records are logged about in the order they finish)."""
    first_late = connection.execute(
        select(func.min(RECORDS.c.seq)).where(
            RECORDS.c.seq > source.start, RECORDS.c.finished_us >= before_us
        )
    ).scalar()
    covered = [seq for seq, _ in source.checkpoints if first_late is None or seq < first_late]
    return covered[-1] if covered else None


def _write(file: IO[str], connection: Connection, source: ChainSource, last: int) -> None:
    header = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "first": source.start + 1,
        "last": last,
        "after": {
            "seq": source.start,
            "hash": source.start_hash.hex(),
            "checkpoint": source.start_checkpoint,
        },
        "checkpoints": [
            {"seq": seq, "token": token} for seq, token in source.checkpoints if seq <= last
        ],
    }
    file.write(json.dumps(header, ensure_ascii=False) + "\n")
    statement = (
        select(*(RECORDS.c[name] for name in STORED_COLUMNS))
        .where(RECORDS.c.seq > source.start, RECORDS.c.seq <= last)
        .order_by(RECORDS.c.seq)
        .execution_options(yield_per=_BATCH)
    )
    for rows in connection.execute(statement).partitions():
        file.writelines(
            json.dumps(_to_json(row), ensure_ascii=False, separators=(",", ":")) + "\n"
            for row in rows
        )


def _to_json(row: Sequence[Any]) -> dict[str, Any]:
    record = dict(zip(STORED_COLUMNS, row, strict=True))
    for name in _HASH_COLUMNS:
        record[name] = record[name].hex()
    for name in BODY_COLUMNS:
        if record[name] is not None:
            record[name] = base64.b64encode(record[name]).decode("ascii")
    return record


# Reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Header:
    first: int
    last: int
    after: int
    after_hash: bytes
    after_checkpoint: str | None
    checkpoints: list[tuple[int, str]]


def _open(path: Path) -> IO[str]:
    try:
        with path.open("rb") as probe:
            compressed = probe.read(2) == b"\x1f\x8b"
        if compressed:
            return gzip.open(path, "rt", encoding="utf-8")
        return path.open(encoding="utf-8")
    except OSError as error:
        raise ArchiveError(f"cannot read {path}: {error.strerror}") from None


def _lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) of every line of ``path``."""
    with _open(path) as file:
        try:
            for number, line in enumerate(file, start=1):
                try:
                    yield number, json.loads(line)
                except ValueError:
                    raise ArchiveError(f"{path.name}: line {number} is not JSON") from None
        except (OSError, EOFError, UnicodeDecodeError) as error:
            raise ArchiveError(f"{path.name}: unreadable: {error}") from None


def _header(path: Path) -> _Header:
    with _open(path) as file:
        try:
            header = json.loads(file.readline())
            after = header["after"]
            if header["format"] == FORMAT and header["version"] == VERSION:
                return _Header(
                    first=int(header["first"]),
                    last=int(header["last"]),
                    after=int(after["seq"]),
                    after_hash=bytes.fromhex(after["hash"]),
                    after_checkpoint=after["checkpoint"],
                    checkpoints=[(int(c["seq"]), str(c["token"])) for c in header["checkpoints"]],
                )
        except (KeyError, TypeError, ValueError, OSError, EOFError):
            pass  # not JSON, not UTF-8, not gzip, not a header: all the same to the user
    raise ArchiveError(f"{path.name} is not a {FORMAT} version {VERSION} file")


def _from_json(record: Any, path: Path, line: int) -> tuple[Any, ...]:
    """A record line as the row the database had: hashes and bodies back to bytes."""
    try:
        values = dict(record)
        for name in _HASH_COLUMNS:
            values[name] = bytes.fromhex(values[name])
        for name in BODY_COLUMNS:
            if values[name] is not None:
                values[name] = base64.b64decode(values[name], validate=True)
        row = tuple(values[name] for name in STORED_COLUMNS)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ArchiveError(f"{path.name}: line {line} is not a log record") from None
    if type(row[0]) is not int:
        raise ArchiveError(f"{path.name}: line {line} has no record number")
    return row


def _archived_rows(path: Path) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    previous = None
    lines = _lines(path)
    next(lines, None)  # the header
    for line, record in lines:
        row = _from_json(record, path, line)
        if previous is not None and row[0] <= previous:
            raise ArchiveError(
                f"{path.name}: line {line}: record {row[0]} is out of order after {previous}"
                " / 記録の順序が入れ替えられています"
            )
        previous = row[0]
        batch.append(row)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def verify_archive(
    path: Path, *, root: x509.Certificate | None = None, progress: Progress | None = None
) -> LogReport:
    """Verify an archive file on its own; :class:`ArchiveError` when it cannot be read."""
    header = _header(path)

    def hashes() -> Iterator[tuple[int, bytes]]:
        for rows in _archived_rows(path):
            for row in rows:
                yield row[0], row[2]

    source = ChainSource(
        start=header.after,
        start_hash=header.after_hash,
        start_checkpoint=header.after_checkpoint,
        head=None,
        checkpoints=header.checkpoints,
        expected=header.last - header.after,
        rows=lambda: _archived_rows(path),
        hashes=hashes,
    )
    report = check_chain(source, root=root, progress=progress, ends_at_checkpoint=True)
    if report.sealed == header.last:
        return report
    # Its last checkpoint is gone, and perhaps the records after the one before it.
    missing = Finding(
        FindingKind.CHECKPOINT,
        header.last,
        header.last,
        f"the archive ends with record {header.last}, but its last valid checkpoint is at"
        f" {report.sealed}",
    )
    findings = sorted((*report.findings, missing), key=lambda f: (f.first, f.last))
    return replace(report, findings=tuple(findings))


# Pruning ----------------------------------------------------------------------------------


def prune(engine: Engine, archive_file: Path, *, root: x509.Certificate | None = None) -> int:
    """Remove from the database the records of ``archive_file``, once it verifies and holds
    exactly what the database holds; returns how many records were removed."""
    header = _header(archive_file)
    report = verify_archive(archive_file, root=root)
    if not report.intact:
        raise ArchiveError(
            f"{archive_file.name} does not verify ({report.findings[0]}): nothing removed"
        )
    try:
        final = verify_checkpoint(
            next(token for seq, token in header.checkpoints if seq == header.last), root
        )
    except (StopIteration, CheckpointInvalid):  # verify_archive would have said so
        raise ArchiveError(f"{archive_file.name} does not end with a checkpoint") from None
    with engine.begin() as connection:
        start = connection.execute(select(func.coalesce(func.max(ANCHORS.c.seq), 0))).scalar_one()
        if header.last <= start:
            raise ArchiveError(
                f"{archive_file.name} is pruned already: the database's chain starts after"
                f" record {start} / 削除済みです"
            )
        if header.after != start:
            raise ArchiveError(
                f"{archive_file.name} starts after record {header.after}, the database's chain"
                f" after {start}: prune archives in the order they were made"
            )
        _same_records(connection, archive_file, header)
        connection.execute(
            insert(ANCHORS).values(
                seq=header.last,
                hash=final.hash,
                checkpoint=final.token,
                archive=archive_file.name,
                pruned_at=datetime.now(UTC),
            )
        )
        removed = connection.execute(delete(RECORDS).where(RECORDS.c.seq <= header.last))
        connection.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.seq <= header.last))
    return removed.rowcount


def _same_records(connection: Connection, path: Path, header: _Header) -> None:
    """The database holds exactly the archived records, in the archived range."""
    statement = (
        select(*(RECORDS.c[name] for name in STORED_COLUMNS))
        .where(RECORDS.c.seq > header.after, RECORDS.c.seq <= header.last)
        .order_by(RECORDS.c.seq)
        .execution_options(yield_per=_BATCH)
    )
    stored = (tuple(row) for rows in connection.execute(statement).partitions() for row in rows)
    archived = (row for rows in _archived_rows(path) for row in rows)
    for ours, theirs in itertools.zip_longest(stored, archived):
        if ours != theirs:
            number = (theirs or ours or ("?",))[0]
            raise ArchiveError(
                f"record {number} differs between the database and {path.name}: nothing removed"
            )
