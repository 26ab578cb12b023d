"""Helpers shared by the generators of synthetic data (residents, corporations)."""

from __future__ import annotations

import random
from datetime import date, timedelta


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` counts that differ by at most one, larger ones first."""
    share, extra = divmod(total, parts)
    return [share + 1 if index < extra else share for index in range(parts)]


def day_between(rng: random.Random, first: date, last: date) -> date:
    """A day from ``first`` to ``last`` inclusive; ``last`` when the range is empty."""
    if last <= first:
        return last
    return first + timedelta(days=rng.randrange((last - first).days + 1))
