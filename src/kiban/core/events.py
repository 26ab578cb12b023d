"""Domain events, handled in the same transaction as the change that raised them.

A module that must react to another's changes — the certificate authority revoking a card
when its holder moves out — cannot be imported by the module that changes the record, since
dependencies point one way (DESIGN.md).  The changing module publishes an event; handlers
registered in ``kiban.subscribers`` run inside the same unit of work, so the change and every
reaction to it commit or roll back together.  Events that cross organisations go through the
mesh instead.
"""

from __future__ import annotations

import importlib
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

Event = TypeVar("Event")
Handler = Callable[[Session, Any], None]

_handlers: defaultdict[type, list[Handler]] = defaultdict(list)
_wired = False
_wiring = threading.Lock()


def subscribe(event_type: type[Event], handler: Callable[[Session, Event], None]) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def _wire_subscribers() -> None:
    global _wired
    with _wiring:
        if not _wired:
            # Named, not imported: kiban.subscribers imports the domains to the right of core.
            importlib.import_module("kiban.subscribers").wire()
            _wired = True


def publish(session: Session, event: object) -> None:
    """Run every handler of ``event``'s type inside ``session``'s transaction."""
    if not _wired:
        _wire_subscribers()
    for handler in list(_handlers[type(event)]):
        handler(session, event)
