"""Synthetic corporations for the registry's tests, written inside each test's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from kiban.registry.corporations.synthetic import generate_corporations

# 千代田区 (special ward), 寒川町 (town in a county), 大阪市 (designated city with 24 wards)
MUNICIPALITIES = ["131016", "143219", "271004"]
COMPANIES = 90
SEED = 20240618


@pytest.fixture
def seeded(db_session: Session) -> int:
    """How many rows were written: COMPANIES companies and one row per municipality."""
    return generate_corporations(db_session, MUNICIPALITIES, COMPANIES, SEED)
