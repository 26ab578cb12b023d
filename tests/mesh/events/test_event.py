"""An event is checked when it is made, and travels as JSON unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from kiban.mesh.events import PAYLOAD_MAX, Event, EventError

JST = timezone(timedelta(hours=9))


def _event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "id": uuid.UUID("0b5c7a46-3c1e-4f43-9a38-4e7f1c2d9e10"),
        "type": "moved-out",
        "publisher": "JP/LG/131016",
        "subject": "000000012",
        "occurred_at": datetime(2026, 11, 24, 9, 0, tzinfo=JST),
        "payload": {"転出先": "札幌市中央区", "予定日": "2026-12-01"},
    }
    return Event(**{**fields, **changes})


def test_an_event_goes_to_json_and_back_unchanged() -> None:
    event = _event()
    again = Event.from_json(event.to_json())
    assert again == event
    assert again.occurred_at.utcoffset() == timedelta(hours=9)
    assert "札幌市中央区".encode() in event.to_json()  # UTF-8, not \u escapes


def test_the_same_moment_in_another_zone_is_the_same_event() -> None:
    assert _event(occurred_at=datetime(2026, 11, 24, 0, 0, tzinfo=UTC)) == _event()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "0b5c7a46-3c1e-4f43-9a38-4e7f1c2d9e10"}, "the event id is a UUID"),
        ({"type": "MovedOut"}, "event type code 'MovedOut'"),
        ({"type": ""}, "event type code ''"),
        ({"publisher": "JP/LG/131017"}, "check digit"),
        ({"publisher": "JP/LG/131016/juki"}, "is not of the form JP/{class}/{member}"),
        ({"subject": ""}, "the subject is 1 to 128 printable characters"),
        ({"subject": "x" * 129}, "the subject is 1 to 128 printable characters"),
        ({"subject": "a\nb"}, "the subject is 1 to 128 printable characters"),
        ({"occurred_at": datetime(2026, 11, 24, 9, 0)}, "occurred_at needs a time zone"),
        ({"payload": ["not", "an", "object"]}, "the payload is a JSON object"),
        ({"payload": {"when": datetime(2026, 1, 1)}}, "the payload is not JSON"),
        ({"payload": {"x": float("nan")}}, "the payload is not JSON"),
        ({"payload": {"x": "あ" * (PAYLOAD_MAX // 3)}}, f"at most {PAYLOAD_MAX}"),
    ],
)
def test_an_event_that_is_not_well_formed_is_refused_saying_why(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(EventError) as refusal:
        _event(**changes)
    assert message in str(refusal.value)
    assert "\n" not in str(refusal.value)


def test_a_publisher_is_written_one_way() -> None:
    assert _event(publisher=" JP/LG/131016 ").publisher == "JP/LG/131016"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "an event is a JSON object"),
        (b"[]", "an event is a JSON object"),
        (b'{"id": "x"}', "missing: occurred_at, payload, publisher, subject, type"),
        (
            _event().to_json()[:-1] + b',"extra":1}',
            "unknown: extra",
        ),
        (_event().to_json().replace(b"0b5c7a46", b"zzzzzzzz"), "the event id is a UUID"),
        (_event().to_json().replace(b"2026-11-24T09", b"2026-13-24T09"), "ISO 8601"),
        (_event().to_json().replace(b'"moved-out"', b"7"), "the event's type is a string"),
    ],
)
def test_json_that_is_not_an_event_is_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(EventError) as refusal:
        Event.from_json(data)
    assert message in str(refusal.value)
