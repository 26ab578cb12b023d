"""The provider's side of the data tracker (情報提供等記録): whom each answer was about.

When a provider's system answers a call about one person, it names the person in
``Kiban-Data-Subject`` (for a local government, the 宛名番号).  The provider's gateway keeps
that in the exchange's log record — who the person was, never what was said about them — and
hands the records to the platform, which shows residents who used their data, when and why
(``docs/mesh-tracker.md``).

Handing over is at least once: the gateway signs a batch of records (JWS, ES256, its
organisation certificate's serial as ``kid``), posts it to the platform, and moves its cursor
on only once the platform has stored it; the platform ignores records it holds already.  A
platform that cannot be reached only delays the records: they wait in the log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
from sqlalchemy import BigInteger, CheckConstraint, DateTime, Engine, Integer, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.identifiers import InvalidIdentifier, validate_addressee_number
from kiban.core.logging import get_logger
from kiban.mesh.gateway.database import GatewayBase
from kiban.mesh.gateway.log_records import LogRecord, moment
from kiban.mesh.gateway.platform import post_signed
from kiban.mesh.gateway.protocol import Signer
from kiban.mesh.identifiers import MemberClass, MemberId
from kiban.mesh.tracker.protocol import PATH, TYPE

log = get_logger(__name__)

BATCH = 1000  # records per post, the most the platform takes
INTERVAL = 5.0  # seconds between looks at the log when there is nothing to hand over
SUBJECT_MAX = 64


class TrackerCursor(GatewayBase):
    """The last log record whose data-tracker entry the platform has stored."""

    __tablename__ = "gateway_tracker_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    forwarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)


def data_subject(provider: MemberId, value: str | None) -> str | None:
    """The provider system's ``Kiban-Data-Subject``, when it is a usable identifier: for a
    local government the person's 宛名番号, which the resident's portal matches on."""
    if value is None:
        return None
    value = value.strip()
    try:
        if provider.member_class is MemberClass.LG:
            return validate_addressee_number(value)
    except InvalidIdentifier:
        value = ""
    if not value or len(value) > SUBJECT_MAX or not value.isascii() or not value.isprintable():
        log.warning("mesh.tracker.bad_subject", provider=str(provider), length=len(value))
        return None
    return value


@dataclass(frozen=True, slots=True)
class Batch:
    last_seq: int
    records: list[dict[str, Any]]


class TrackerForwarder:
    """Hands the provider's data-tracker records to the platform, in order, at least once."""

    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        member: MemberId,
        platform_url: str,
        client: httpx2.AsyncClient,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.member = member
        self.url = platform_url.rstrip("/") + PATH
        self.client = client
        self.last_error: str | None = None
        self.set_aside = 0  # records the platform refused for what they hold

    def pending(self) -> Batch | None:
        """The next records to hand over, oldest first, or None when all are."""
        with self.engine.connect() as connection:
            done = connection.scalar(select(TrackerCursor.seq).where(TrackerCursor.id == 1)) or 0
            rows = connection.execute(
                select(
                    LogRecord.seq,
                    LogRecord.message_id,
                    LogRecord.data_subject,
                    LogRecord.service,
                    LogRecord.client,
                    LogRecord.user_id,
                    LogRecord.purpose,
                    LogRecord.legal_basis,
                    LogRecord.finished_us,
                )
                .where(
                    LogRecord.seq > done,
                    LogRecord.role == "provider",
                    LogRecord.data_subject.is_not(None),
                )
                .order_by(LogRecord.seq)
                .limit(BATCH)
            ).all()
        if not rows:
            return None
        return Batch(
            rows[-1].seq,
            [
                {
                    "message_id": row.message_id,
                    "subject": row.data_subject,
                    "service": row.service,
                    "client": row.client,
                    "user_id": row.user_id,
                    "purpose": row.purpose,
                    "legal_basis": row.legal_basis,
                    "used_at": moment(row.finished_us).isoformat(),
                }
                for row in rows
            ],
        )

    def advance(self, seq: int) -> None:
        """Everything up to ``seq`` is stored by the platform."""
        now = datetime.now(UTC)
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as connection:
            connection.execute(
                insert(TrackerCursor)
                .values(id=1, seq=seq, forwarded_at=now)
                .on_conflict_do_update(
                    index_elements=[TrackerCursor.id], set_={"seq": seq, "forwarded_at": now}
                )
            )

    async def forward(self) -> int:
        """Hand over one batch; how many records it held (0: nothing to do, or it failed)."""
        batch = await asyncio.to_thread(self.pending)
        if batch is None:
            return 0
        try:
            response = await self._post(batch.records)
            if _refused_for_content(response):
                # One bad record must not hold back every record after it: hand them over
                # one by one, and set aside what the platform will not take.
                for record in batch.records:
                    if _refused_for_content(single := await self._post([record])):
                        self.set_aside += 1
                        log.error(
                            "mesh.tracker.record_refused",
                            message_id=record["message_id"],
                            status=single.status_code,
                            detail=single.text[:200],
                        )
                    elif single.status_code != 200:
                        response = single
                        break
                else:
                    response = httpx2.Response(200)
        except httpx2.HTTPError as error:
            self.last_error = f"{self.url}: {type(error).__name__}"
            return 0
        if response.status_code != 200:
            self.last_error = f"{self.url} answered {response.status_code}: {response.text[:200]}"
            log.warning("mesh.tracker.refused", status=response.status_code)
            return 0
        await asyncio.to_thread(self.advance, batch.last_seq)
        self.last_error = None
        return len(batch.records)

    async def _post(self, records: list[dict[str, Any]]) -> httpx2.Response:
        return await post_signed(
            self.client, self.url, self.signer, TYPE, self.member, {"records": records}
        )

    async def keep_forwarding(self) -> None:
        """Hand records over as they come, until cancelled."""
        while True:
            if await self.forward() < BATCH:
                await asyncio.sleep(INTERVAL)


def _refused_for_content(response: httpx2.Response) -> bool:
    """The platform refuses what the records hold (not who sent them, nor when): sending
    them again as they are would be refused again."""
    return response.status_code in (400, 403, 409, 413)
