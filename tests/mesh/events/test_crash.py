"""A dispatcher process killed with SIGKILL mid-stream and started again: every event's
effect exactly once for each of two subscribers, in order per subject, on both transports."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from kiban.mesh.events import EventSettings, EventStore
from mesh.events.events_support import (
    PUBLISHER,
    TAX,
    TYPES,
    WELFARE,
    events,
    in_order_per_subject,
)
from mesh.events.subscriber_process import EFFECTS

SCRIPT = Path(__file__).with_name("subscriber_process.py")
EVENTS = 600
SUBSCRIBERS = (TAX, WELFARE)


@pytest.fixture
def effects(gateway_engine: Engine) -> Engine:
    EFFECTS.metadata.create_all(gateway_engine)
    return gateway_engine


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(EFFECTS)) or 0)


def _wait_for(engine: Engine, count: int, what: str, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while (seen := _count(engine)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"within {timeout} s: {what} ({seen} of {count} effects)")
        time.sleep(0.01)
    return seen


class Dispatcher:
    """The subscriber process, started and killed as an operator's machine would."""

    def __init__(self, url: str, settings: EventSettings, log: Path) -> None:
        self.command = [sys.executable, str(SCRIPT), url, settings.model_dump_json()]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(self.command, stdout=output, stderr=output)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def check_alive(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None, self.log.read_text()


@pytest.fixture
def dispatcher(effects: Engine, settings: EventSettings, tmp_path: Path) -> Iterator[Dispatcher]:
    url = effects.url.render_as_string(hide_password=False)
    process = Dispatcher(url, settings, tmp_path / "dispatcher.log")
    try:
        yield process
    finally:
        process.kill()


def test_a_dispatcher_killed_mid_stream_and_restarted_has_each_effect_once(
    effects: Engine, dispatcher: Dispatcher
) -> None:
    store = EventStore(effects)
    for subscriber in SUBSCRIBERS:
        store.subscribe(subscriber, PUBLISHER, TYPES)
    published = events(EVENTS, subjects=6)
    store.publish(published)
    total = EVENTS * len(SUBSCRIBERS)

    dispatcher.start()
    _wait_for(effects, total // 4, "the dispatcher delivered a quarter")
    dispatcher.check_alive()
    dispatcher.kill()
    at_kill = _count(effects)
    assert at_kill < total, "killed too late: the stream had ended"

    dispatcher.start()
    _wait_for(effects, total, "every effect after the restart")
    time.sleep(0.5)  # nothing more comes
    dispatcher.check_alive()

    with effects.connect() as connection:
        rows = connection.execute(
            select(
                EFFECTS.c.subscriber, EFFECTS.c.event_id, EFFECTS.c.subject, EFFECTS.c.number
            ).order_by(EFFECTS.c.n)
        ).all()
    assert len(rows) == total
    expected = in_order_per_subject(published)
    for subscriber in SUBSCRIBERS:
        mine = [row for row in rows if row.subscriber == subscriber]
        assert set(Counter(row.event_id for row in mine).values()) == {1}, subscriber
        arrived: defaultdict[str, list[int]] = defaultdict(list)
        for row in mine:
            arrived[row.subject].append(row.number)
        assert dict(arrived) == expected, subscriber
