"""The gateway's message log: every exchange, chained, signed at checkpoints, verifiable.

``MessageLog`` appends batches of entries in one transaction each; ``LogWriter`` lets the
gateway's event loop wait for its entry to be committed without blocking, grouping the
entries that arrive meanwhile into the next transaction (group commit).  The record format
is in ``log_records``, the checkpoints in ``log_checkpoints``, verification in
``log_verify`` and archives in ``log_archive``; this module is what the gateway uses.

Several processes may append to one database (gateways of one member sharing PostgreSQL):
each append locks the log's head row first, so appends queue and the chain never forks.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Connection, Engine, func, insert, select, update

from kiban.core.logging import get_logger
from kiban.mesh.gateway.log_archive import (
    ArchiveError,
    ArchiveSummary,
    archive,
    prune,
    verify_archive,
)
from kiban.mesh.gateway.log_checkpoints import Checkpoint, CheckpointSigner
from kiban.mesh.gateway.log_records import (
    CHECKPOINTS,
    CONTENT_COLUMNS,
    HEAD,
    RECORDS,
    STORED_COLUMNS,
    BodyKeyError,
    LogEntry,
    check_body_key,
    content_digest,
    content_of,
    entry_of,
    record_hash,
)
from kiban.mesh.gateway.log_verify import Finding, FindingKind, LogReport, verify_log

__all__ = [
    "ArchiveError",
    "ArchiveSummary",
    "BodyKeyError",
    "Checkpoint",
    "DuplicateMessage",
    "Finding",
    "FindingKind",
    "LogEntry",
    "LogReport",
    "LogUnavailable",
    "LogWriter",
    "MessageLog",
    "archive",
    "prune",
    "verify_archive",
    "verify_log",
]

log = get_logger(__name__)

# Every append starts by taking the head row's lock (an update that changes nothing): on
# PostgreSQL appenders then queue on the row; on SQLite the first statement being a write
# takes the database's write lock before anything is read, so no append reads a stale head.
_LOCK_HEAD = (
    update(HEAD).where(HEAD.c.id == 1).values(seq=HEAD.c.seq).returning(HEAD.c.seq, HEAD.c.hash)
)
_MOVE_HEAD = update(HEAD).where(HEAD.c.id == 1)


class DuplicateMessage(Exception):
    """The message id was already logged on this side for this client: a replay."""

    def __init__(self, role: str, client: str, message_id: str) -> None:
        super().__init__(
            f"message {message_id} from {client} is already logged ({role})"
            " / 同じメッセージIDが記録済みです"
        )
        self.role, self.client, self.message_id = role, client, message_id


class LogUnavailable(RuntimeError):
    """The log could not be written (the database is unreachable, full, …): the exchange
    must not be answered as if it had been logged."""


class MessageLog:
    """Appends to the chain in the gateway database of ``engine`` and signs its checkpoints.

    ``issuers``: the certificate's issuing CA, put in each checkpoint's ``x5c`` so that it
    verifies against the root alone.  ``body_key``: 32 bytes that encrypt the bodies entries
    carry; without one an entry with a body is refused.  A checkpoint is signed whenever the
    chain passes a multiple of ``checkpoint_every`` records, and on ``checkpoint()``.
    """

    def __init__(
        self,
        engine: Engine,
        signing_key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        *,
        issuers: Sequence[x509.Certificate] = (),
        body_key: bytes | None,
        checkpoint_every: int = 1000,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.engine = engine
        self.checkpoint_every = checkpoint_every
        self._signer = CheckpointSigner(signing_key, certificate, issuers)
        self._cipher = check_body_key(body_key)
        # One append or checkpoint at a time in this process; the head row orders processes.
        self._lock = threading.Lock()

    def append(self, entries: Sequence[LogEntry]) -> list[int | Exception]:
        """Log ``entries`` in one transaction, committed on return.  For each, its sequence
        number, or why it was refused: :class:`DuplicateMessage`, or a ``ValueError`` for an
        entry that cannot be logged (a body without a body key, an unknown role).  The
        others are logged all the same."""
        with self._lock, self.engine.begin() as connection:
            last_seq, last_hash = connection.execute(_LOCK_HEAD).one()
            logged = self._already_logged(connection, entries) if entries else set()
            results: list[int | Exception] = []
            rows: list[dict[str, object]] = []
            for entry in entries:
                key = (entry.role, entry.client, entry.message_id)
                if key in logged:
                    results.append(DuplicateMessage(*key))
                    continue
                seq = last_seq + 1
                try:
                    content = content_of(entry, seq, self._cipher)
                except ValueError as refusal:
                    results.append(refusal)
                    continue
                logged.add(key)
                chained = record_hash(last_hash, seq, content_digest(content))
                rows.append(
                    {
                        "seq": seq,
                        "prev_hash": last_hash,
                        "hash": chained,
                        **dict(zip(CONTENT_COLUMNS, content, strict=True)),
                    }
                )
                results.append(seq)
                last_seq, last_hash = seq, chained
            if rows:
                connection.execute(insert(RECORDS), rows)
                connection.execute(_MOVE_HEAD, {"seq": last_seq, "hash": last_hash})
                before = last_seq - len(rows)
                if before // self.checkpoint_every != last_seq // self.checkpoint_every:
                    self._sign(connection, last_seq, last_hash)
        return results

    def checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint of the chain as it is now; None when the newest already covers
        the last record (or there is none)."""
        with self._lock, self.engine.begin() as connection:
            last_seq, last_hash = connection.execute(_LOCK_HEAD).one()
            signed = connection.execute(select(func.max(CHECKPOINTS.c.seq))).scalar()
            if last_seq == 0 or (signed is not None and signed >= last_seq):
                return None
            return self._sign(connection, last_seq, last_hash)

    def entry(self, seq: int) -> LogEntry | None:
        """Record ``seq`` as it was logged, bodies decrypted; None when there is none."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(*(RECORDS.c[name] for name in STORED_COLUMNS)).where(RECORDS.c.seq == seq)
            ).first()
        return entry_of(row, self._cipher) if row else None

    def _sign(self, connection: Connection, seq: int, chained: bytes) -> Checkpoint:
        checkpoint = self._signer.sign(seq, chained, datetime.now(UTC))
        connection.execute(insert(CHECKPOINTS).values(seq=seq, token=checkpoint.token))
        return checkpoint

    @staticmethod
    def _already_logged(
        connection: Connection, entries: Sequence[LogEntry]
    ) -> set[tuple[str, str, str]]:
        """Which of ``entries``' (role, client, message id) are in the log already.

        Asked under the head's lock, before inserting: a replay then costs its own entry, not
        the transaction of the entries committed with it.
        """
        found = connection.execute(
            select(RECORDS.c.role, RECORDS.c.client, RECORDS.c.message_id).where(
                RECORDS.c.message_id.in_([entry.message_id for entry in entries])
            )
        )
        return {(role, client, message_id) for role, client, message_id in found}


_Pending = tuple[LogEntry, "asyncio.Future[int]"]


class LogWriter:
    """Group commit for the gateway's event loop: ``await write(entry)`` returns the entry's
    sequence number once it is committed, without blocking the loop.

    A thread of its own owns the appending.  Entries that arrive while a batch commits form
    the next batch (up to ``max_batch``), so a busy gateway pays one commit for many
    exchanges and a quiet one answers after a single commit.
    """

    def __init__(self, message_log: MessageLog, *, max_batch: int = 512) -> None:
        self.log = message_log
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._failure: Exception | None = None  # the last batch's, until one succeeds

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the log writer is already started")
        self._thread = threading.Thread(target=self._run, name="kiban-message-log", daemon=True)
        self._thread.start()

    async def write(self, entry: LogEntry) -> int:
        """Log ``entry``: its sequence number once committed; :class:`DuplicateMessage` for a
        replay, :class:`LogUnavailable` when the log cannot be written."""
        if self._thread is None or self._closing:
            raise LogUnavailable("the message log writer is not running / 記録できません")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put((entry, future))
        return await future

    async def close(self) -> None:
        """Log what is queued, sign a final checkpoint and stop."""
        if self._thread is None or self._closing:
            return
        self._closing = True
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    @property
    def healthy(self) -> bool:
        running = self._thread is not None and self._thread.is_alive() and not self._closing
        return running and self._failure is None

    @property
    def status(self) -> str:
        if self._thread is None or not self._thread.is_alive() or self._closing:
            return "stopped"
        if self._failure is not None:
            return f"the last write failed: {self._failure}"
        return "ok"

    def _run(self) -> None:
        stopping = False
        while True:
            batch: list[_Pending] = []
            while len(batch) < self.max_batch:
                try:
                    # Wait for the first entry of a batch; take the rest as they are.
                    item = self._queue.get(block=not batch and not stopping)
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                self._write(batch)
            elif stopping:
                break
        try:
            self.log.checkpoint()
        except Exception as error:  # the process is stopping: say so, do not raise
            log.error("mesh.log.final_checkpoint_failed", error=str(error))

    def _write(self, batch: list[_Pending]) -> None:
        try:
            results = self.log.append([entry for entry, _ in batch])
            self._failure = None
        except Exception as error:
            self._failure = error
            log.error("mesh.log.write_failed", error=str(error), entries=len(batch))
            failure = LogUnavailable(f"the message log cannot be written: {error}")
            failure.__cause__ = error
            results = [failure for _ in batch]
        for (_, future), result in zip(batch, results, strict=True):
            # A closed event loop (RuntimeError) has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                future.get_loop().call_soon_threadsafe(_settle, future, result)


def _settle(future: asyncio.Future[int], result: int | Exception) -> None:
    if future.done():  # the caller gave up waiting (cancelled); the entry is logged anyway
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
