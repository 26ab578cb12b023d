"""Which handlers react to which domain events (see kiban.core.events).

Like kiban.models, this module may import every domain: it is the one place where the
one-way dependencies meet.
"""

from __future__ import annotations


def wire() -> None:
    """Subscribe every handler; called once, on the first event published."""
