"""What a mesh event is, and its JSON form on the wire.

An event says that something happened to one subject at a member: 千代田区 (the publisher,
``JP/LG/131016``) registered a birth, or a resident (the subject, e.g. an addressee number)
moved out.  The publisher gives each event a UUID of its own: publishing it again, or
delivering it again, is recognised by that id and has no further effect.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberId, chosen_code

SUBJECT_MAX = 128
PAYLOAD_MAX = 64 * 1024  # bytes of the payload's JSON: an event says what happened, not a file


class EventError(ValueError):
    """An event that is not well formed; the message says which part and why, on one line."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event, checked when it is made: an ``Event`` in hand is always publishable.

    ``subject`` is the ordering key: events of one subject of one publisher reach each
    subscriber in the order they were published.  ``occurred_at`` must carry its time zone:
    a bare time could be JST or UTC, nine hours apart.
    """

    id: uuid.UUID
    type: str
    publisher: str
    subject: str
    occurred_at: datetime
    payload: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.id, uuid.UUID):
            raise EventError(f"the event id is a UUID, not {self.id!r}")
        try:
            chosen_code("event type", self.type)
            object.__setattr__(self, "publisher", str(MemberId.parse(self.publisher)))
        except InvalidMeshIdentifier as error:
            raise EventError(str(error)) from None
        if not 0 < len(self.subject) <= SUBJECT_MAX or not self.subject.isprintable():
            raise EventError(
                f"the subject is 1 to {SUBJECT_MAX} printable characters, not {self.subject!r:.40}"
            )
        if self.occurred_at.utcoffset() is None:
            raise EventError("occurred_at needs a time zone (+09:00 or Z)")
        if not isinstance(self.payload, Mapping):
            raise EventError("the payload is a JSON object")
        size = len(encode_payload(self.payload).encode("utf-8"))
        if size > PAYLOAD_MAX:
            raise EventError(f"the payload is {size} bytes of JSON; at most {PAYLOAD_MAX}")

    def to_json(self) -> bytes:
        """The event as the mesh carries it (UTF-8 JSON)."""
        return json.dumps(
            {
                "id": str(self.id),
                "type": self.type,
                "publisher": self.publisher,
                "subject": self.subject,
                "occurred_at": self.occurred_at.isoformat(),
                "payload": self.payload,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        """The event ``data`` holds; :class:`EventError` saying what is wrong with it."""
        try:
            fields = json.loads(data)
        except ValueError as error:
            raise EventError(f"an event is a JSON object: {error}") from None
        if not isinstance(fields, dict):
            raise EventError("an event is a JSON object")
        missing = sorted(_FIELDS - fields.keys())
        unknown = sorted(fields.keys() - _FIELDS)
        if missing or unknown:
            raise EventError(
                f"an event has the fields {', '.join(sorted(_FIELDS))}"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        for name in ("id", "type", "publisher", "subject", "occurred_at"):
            if not isinstance(fields[name], str):
                raise EventError(f"the event's {name} is a string")
        try:
            event_id = uuid.UUID(fields["id"])
        except ValueError:
            raise EventError(f"the event id is a UUID, not {fields['id']!r:.40}") from None
        try:
            occurred_at = datetime.fromisoformat(fields["occurred_at"])
        except ValueError:
            raise EventError(
                "occurred_at is an ISO 8601 time, e.g. 2026-11-24T09:00:00+09:00"
            ) from None
        return cls(
            id=event_id,
            type=fields["type"],
            publisher=fields["publisher"],
            subject=fields["subject"],
            occurred_at=occurred_at,
            payload=fields["payload"],
        )


_FIELDS = frozenset(Event.__dataclass_fields__)


def encode_payload(payload: Mapping[str, Any]) -> str:
    """The payload as stored: compact JSON, refused (EventError) when it is not JSON."""
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise EventError(f"the payload is not JSON: {error}") from None
