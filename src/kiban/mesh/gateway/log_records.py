"""What the message log stores and how its records are chained.

Every exchange a gateway takes part in becomes one record: who asked, for which service, why
and on what legal basis, how it ended, and the signatures both gateways made.  Records are
numbered without gaps (``seq``) and chained: each record's hash covers the previous record's
hash, its own number and every stored field, so that changing, removing, adding or moving a
record breaks the chain where it happened.  Signed checkpoints (``log_checkpoints``) fix the
chain at a point in time, so that not even the gateway itself can rewrite what they cover.

Message bodies are kept only when the gateway is configured to keep them, and then encrypted
(AES-GCM, a random nonce per body, the record's number and the body's role as associated
data: a body cannot be moved to another record unnoticed).  The chain covers the encrypted
bodies, so the log verifies without the body key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kiban.mesh.gateway.database import GatewayBase

ROLES = ("consumer", "provider")
GENESIS = bytes(32)  # the "previous hash" of the first record
DIGEST_SIZE = 32
BODY_KEY_SIZE = 32
_DOMAIN = b"kiban/mesh-log/v1\x00"
_NONCE_SIZE = 12
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# SQLite's INTEGER PRIMARY KEY is the table's row id: records are stored in their order.
_Sequence = BigInteger().with_variant(Integer(), "sqlite")


class LogRecord(GatewayBase):
    """One exchange, as one of its two gateways saw it (``role``)."""

    __tablename__ = "gateway_log_records"

    seq: Mapped[int] = mapped_column(_Sequence, primary_key=True, autoincrement=False)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(DIGEST_SIZE))
    hash: Mapped[bytes] = mapped_column(LargeBinary(DIGEST_SIZE))
    # The content, in the order it is hashed (CONTENT_COLUMNS).  Text without lengths: a
    # record must never fail to be written because a client sent a long value.
    message_id: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(8))
    client: Mapped[str] = mapped_column(Text)
    service: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)
    request_signature: Mapped[str | None] = mapped_column(Text)
    response_signature: Mapped[str | None] = mapped_column(Text)
    request_hash: Mapped[str | None] = mapped_column(Text)
    request_body: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted
    # Microseconds since 1970-01-01 UTC: exact and alike on every database, and hashed as is.
    started_us: Mapped[int] = mapped_column(BigInteger)
    finished_us: Mapped[int] = mapped_column(BigInteger)
    # The person the answer was about (the provider system's Kiban-Data-Subject), for the
    # data tracker; never the data itself.
    data_subject: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("role IN ('consumer', 'provider')", name="role"),
        # A message id is logged once per side and client: a replayed request is refused.
        # The id first: appends look their ids up by it.
        UniqueConstraint("message_id", "client", "role", name="uq_gateway_log_records_message"),
    )


class LogCheckpoint(GatewayBase):
    """A signed statement of the chain's last record at a moment (a compact JWS)."""

    __tablename__ = "gateway_log_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(Text)


class LogHead(GatewayBase):
    """The chain's last record, in a single row that every append locks and moves on.

    Appenders queue on its lock, so that the chain never forks however many processes
    write; and the verifier compares the records with it, so that removing the last records
    takes more than deleting them.
    """

    __tablename__ = "gateway_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary(DIGEST_SIZE))

    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)


class LogAnchor(GatewayBase):
    """Where the database's chain starts after records up to ``seq`` went to an archive."""

    __tablename__ = "gateway_log_anchors"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(DIGEST_SIZE))
    checkpoint: Mapped[str] = mapped_column(Text)  # the signed checkpoint at ``seq``
    archive: Mapped[str] = mapped_column(Text)  # the archive file's name, for people
    pruned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# The tables, for the Core statements the log's throughput needs.
RECORDS = cast(Table, LogRecord.__table__)
CHECKPOINTS = cast(Table, LogCheckpoint.__table__)
HEAD = cast(Table, LogHead.__table__)
ANCHORS = cast(Table, LogAnchor.__table__)

CONTENT_COLUMNS = (
    "message_id",
    "role",
    "client",
    "service",
    "method",
    "path",
    "user_id",
    "purpose",
    "legal_basis",
    "consent",
    "status",
    "outcome",
    "request_signature",
    "response_signature",
    "request_hash",
    "request_body",
    "response_body",
    "started_us",
    "finished_us",
    "data_subject",
)
CHAIN_COLUMNS = ("seq", "prev_hash", "hash")
STORED_COLUMNS = CHAIN_COLUMNS + CONTENT_COLUMNS
BODY_COLUMNS = ("request_body", "response_body")
BINARY_COLUMNS = ("prev_hash", "hash", *BODY_COLUMNS)

Value = str | int | bytes | None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One exchange, as the gateway hands it to the log."""

    message_id: str  # Kiban-Id, a UUID the consumer's gateway gives the exchange
    role: str  # "consumer" or "provider": which side of the exchange this gateway was
    client: str  # the calling subsystem, e.g. JP/LG/011002/tax
    service: str  # the service, e.g. JP/LG/131016/juki/resident-certificate/v1
    method: str
    path: str  # with the query
    user_id: str | None
    purpose: str | None
    legal_basis: str | None
    consent: str | None
    status: int
    outcome: str  # "ok" or the problem's type, such as "access-denied"
    request_signature: str | None  # compact JWS
    response_signature: str | None
    request_hash: str | None
    request_body: bytes | None  # given only when the gateway keeps bodies
    response_body: bytes | None
    started_at: datetime  # UTC
    finished_at: datetime
    # Whom a provider's answer was about, for the data tracker (provider side only).
    data_subject: str | None = None


def microseconds(moment: datetime) -> int:
    """``moment`` as microseconds since 1970 UTC (a naive datetime is taken to be UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MICROSECOND


def moment(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)


def content_digest(values: Sequence[Value]) -> bytes:
    """SHA-256 of a record's content, each value typed and length-prefixed.

    No two different contents encode alike, even when a value changes type (a number
    stored as text, say): each value is tagged with its type.
    """
    parts: list[bytes] = []
    append = parts.append
    for value in values:
        if value is None:
            append(b"n")
        elif type(value) is str:
            encoded = value.encode("utf-8")
            append(b"s%d:" % len(encoded))
            append(encoded)
        elif type(value) is int:
            append(b"i%d;" % value)
        elif type(value) is bytes:
            append(b"b%d:" % len(value))
            append(value)
        else:
            # Another type can only come from outside kiban: it cannot match the hash.
            append(b"?%r;" % (value,))
    return hashlib.sha256(b"".join(parts)).digest()


def record_hash(prev_hash: bytes, seq: int, digest: bytes) -> bytes:
    """The chained hash of record ``seq``: the previous record's hash, the number, the content."""
    return hashlib.sha256(_DOMAIN + prev_hash + seq.to_bytes(8, "big") + digest).digest()


def _associated_data(seq: int, column: str) -> bytes:
    return _DOMAIN + column.encode("ascii") + b"\x00" + seq.to_bytes(8, "big")


class BodyKeyError(ValueError):
    """A body cannot be kept or read: no key, a key of the wrong size, or the wrong key."""


def check_body_key(key: bytes | None) -> AESGCM | None:
    if key is None:
        return None
    if len(key) != BODY_KEY_SIZE:
        raise BodyKeyError(f"the body key must be {BODY_KEY_SIZE} bytes, not {len(key)}")
    return AESGCM(key)


def content_of(entry: LogEntry, seq: int, cipher: AESGCM | None) -> tuple[Value, ...]:
    """What record ``seq`` stores of ``entry``, in CONTENT_COLUMNS' order, bodies encrypted."""
    if entry.role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {entry.role!r}")
    return (
        entry.message_id,
        entry.role,
        entry.client,
        entry.service,
        entry.method,
        entry.path,
        entry.user_id,
        entry.purpose,
        entry.legal_basis,
        entry.consent,
        entry.status,
        entry.outcome,
        entry.request_signature,
        entry.response_signature,
        entry.request_hash,
        _encrypt(cipher, entry.request_body, seq, "request_body"),
        _encrypt(cipher, entry.response_body, seq, "response_body"),
        microseconds(entry.started_at),
        microseconds(entry.finished_at),
        entry.data_subject,
    )


def _encrypt(cipher: AESGCM | None, body: bytes | None, seq: int, column: str) -> bytes | None:
    if body is None:
        return None
    if cipher is None:
        raise BodyKeyError("a body was given to a log without a body key: it is never stored plain")
    nonce = os.urandom(_NONCE_SIZE)
    return nonce + cipher.encrypt(nonce, body, _associated_data(seq, column))


def _decrypt(cipher: AESGCM | None, stored: bytes | None, seq: int, column: str) -> bytes | None:
    if stored is None:
        return None
    if cipher is None:
        raise BodyKeyError("the record keeps a body: the body key is needed to read it")
    try:
        return cipher.decrypt(
            stored[:_NONCE_SIZE], stored[_NONCE_SIZE:], _associated_data(seq, column)
        )
    except InvalidTag:
        raise BodyKeyError(
            f"the {column.replace('_', ' ')} of record {seq} does not decrypt:"
            " another key, or it was changed"
        ) from None


def entry_of(row: Any, cipher: AESGCM | None) -> LogEntry:
    """The entry a stored record holds (a row with STORED_COLUMNS), bodies decrypted."""
    return LogEntry(
        message_id=row.message_id,
        role=row.role,
        client=row.client,
        service=row.service,
        method=row.method,
        path=row.path,
        user_id=row.user_id,
        purpose=row.purpose,
        legal_basis=row.legal_basis,
        consent=row.consent,
        status=row.status,
        outcome=row.outcome,
        request_signature=row.request_signature,
        response_signature=row.response_signature,
        request_hash=row.request_hash,
        request_body=_decrypt(cipher, row.request_body, row.seq, "request_body"),
        response_body=_decrypt(cipher, row.response_body, row.seq, "response_body"),
        started_at=moment(row.started_us),
        finished_at=moment(row.finished_us),
        data_subject=row.data_subject,
    )
