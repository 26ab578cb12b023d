"""Leases: one process at a time works on a feed (or the relay), even when several gateways
share one database.

Two dispatchers on one feed could each take the head of a subject, and one deliver it after
the other has moved on to the next event: the subject's order would not hold.  A lease is a
row naming its owner and an expiry; the owner renews it well before it expires, and a process
that dies is replaced once its leases have expired.  The lease must outlast any one delivery
attempt, since an attempt under way cannot be called back.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable

from sqlalchemy import Engine, or_, update

from kiban.mesh.events.models import LEASES, insert_into, now_us


def process_owner() -> str:
    """A name for this process's leases, telling people where it runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    """Takes and renews leases of ``ttl`` seconds for ``owner`` in the database of ``engine``."""

    def __init__(self, engine: Engine, ttl: float, owner: str | None = None) -> None:
        self.engine = engine
        self.ttl_us = int(ttl * 1_000_000)
        self.owner = owner or process_owner()

    def hold(self, names: Iterable[str]) -> set[str]:
        """Take or renew the leases ``names``: those this owner holds now."""
        now = now_us()
        held: set[str] = set()
        with self.engine.begin() as connection:
            for name in names:
                renewed = connection.execute(
                    update(LEASES)
                    .where(
                        LEASES.c.name == name,
                        or_(LEASES.c.owner == self.owner, LEASES.c.until_us < now),
                    )
                    .values(owner=self.owner, until_us=now + self.ttl_us)
                ).rowcount
                if not renewed:
                    # RETURNING says whether the row was inserted: psycopg's row count does not.
                    renewed = (
                        connection.execute(
                            insert_into(connection, LEASES)
                            .values(name=name, owner=self.owner, until_us=now + self.ttl_us)
                            .on_conflict_do_nothing()
                            .returning(LEASES.c.name)
                        ).first()
                        is not None
                    )
                if renewed:
                    held.add(name)
        return held
