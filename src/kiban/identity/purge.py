"""Deleting identity rows that can no longer be used: ``kiban identity purge``.

Card sign-in requests, authorization codes, tokens, client assertions' ``jti``, browser
sessions and rate-limit counts all expire;
nothing reads them after that but a replay check, and they pile up.  Each purge step deletes
one kind, and only rows whose expiry passed more than ``margin`` ago (a day by default): a
refused replay, an audit question or an operator's look the morning after still finds the
row.  A step never deletes a row that may still be accepted, whatever the margin: a card
sign-in's browser may still pick up its approval for a grace period after expiry, and a client
assertion is accepted for a clock skew after its ``exp``, so its ``jti`` must be remembered
at least as long, or the same assertion could be replayed.

The audit trail is never purged.  Steps run in order, in the caller's transaction; the CLI
commits them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from kiban.core.sessions import purge_ended_sessions
from kiban.core.throttle import LONGEST_WINDOW, purge_stale_buckets
from kiban.identity.card.repository import SignInRequestRepository
from kiban.identity.card.service import COMPLETION_GRACE
from kiban.identity.oidc.client_auth import CLOCK_SKEW
from kiban.identity.oidc.repository import OidcRepository

DEFAULT_MARGIN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class PurgeStep:
    """One kind of row: ``delete(session, before)`` deletes those that expired before
    ``before`` and says how many."""

    name: str  # as the command prints it
    delete: Callable[[Session, datetime], int]
    # How long after its expiry a row may still be accepted: it is kept at least that long.
    usable_after_expiry: timedelta = timedelta(0)


PURGE_STEPS: tuple[PurgeStep, ...] = (
    PurgeStep(
        "card sign-in requests",
        lambda session, before: SignInRequestRepository(session).purge_expired(before),
        usable_after_expiry=COMPLETION_GRACE,
    ),
    PurgeStep(
        "OIDC authorization codes",
        lambda session, before: OidcRepository(session).purge_expired_codes(before),
    ),
    PurgeStep(
        "OIDC tokens",
        lambda session, before: OidcRepository(session).purge_expired_tokens(before),
    ),
    # After the tokens: a grant goes once its last token has gone.
    PurgeStep(
        "OIDC grants",
        lambda session, before: OidcRepository(session).purge_finished_grants(before),
    ),
    PurgeStep(
        "OIDC client assertion jti",
        lambda session, before: OidcRepository(session).purge_expired_assertions(before),
        usable_after_expiry=timedelta(seconds=CLOCK_SKEW),
    ),
    PurgeStep("browser sessions", purge_ended_sessions),
    # A count is "expired" when its window began before the cut-off: it is kept for as long
    # as any window lasts, or a purge could reset a limit or lift a lock early.
    PurgeStep("rate-limit counts", purge_stale_buckets, usable_after_expiry=LONGEST_WINDOW),
)


def purge_expired(
    session: Session,
    *,
    margin: timedelta = DEFAULT_MARGIN,
    now: datetime | None = None,
) -> dict[str, int]:
    """Run each step on rows expired more than ``margin`` ago; how many each deleted, by name."""
    if margin < timedelta(0):
        raise ValueError("the margin cannot be negative / 猶予は0以上です")
    now = now or datetime.now(UTC)
    return {
        step.name: step.delete(session, now - max(margin, step.usable_after_expiry))
        for step in PURGE_STEPS
    }
