"""Rows for several tables written together, as the busiest paths write them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiban.core.database import create_database_engine, insert_together

METADATA = MetaData()
PARENTS = Table(
    "parents",
    METADATA,
    Column("id", String(8), primary_key=True),
    Column("made_at", DateTime(timezone=True), nullable=False),
)
CHILDREN = Table(
    "children",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("parent_id", ForeignKey("parents.id"), nullable=False),
    Column("details", JSON),
)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(empty_database: str) -> Iterator[Session]:
    engine = create_database_engine(empty_database)
    METADATA.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_rows_of_several_tables_are_written_and_may_refer_to_each_other(
    session: Session,
) -> None:
    for parent in ("a", "b"):  # the second time, the prepared statement is used again
        insert_together(
            session,
            (PARENTS, [{"id": parent, "made_at": NOW}]),
            (
                CHILDREN,
                [
                    {"id": ord(parent) * 10 + n, "parent_id": parent, "details": {"n": n}}
                    for n in range(2)
                ],
            ),
            (CHILDREN, []),  # nothing to write for this one
        )
    session.commit()
    rows = session.execute(
        select(CHILDREN.c.parent_id, CHILDREN.c.details).order_by(CHILDREN.c.id)
    ).all()
    assert [tuple(row) for row in rows] == [
        ("a", {"n": 0}),
        ("a", {"n": 1}),
        ("b", {"n": 0}),
        ("b", {"n": 1}),
    ]
    made_at = session.scalar(select(PARENTS.c.made_at).where(PARENTS.c.id == "a"))
    assert made_at is not None
    assert made_at.replace(tzinfo=made_at.tzinfo or UTC) == NOW


def test_one_bad_row_writes_nothing(session: Session) -> None:
    with pytest.raises(IntegrityError):
        insert_together(
            session,
            (PARENTS, [{"id": "c", "made_at": NOW}]),
            (CHILDREN, [{"id": 1, "parent_id": "missing", "details": None}]),
        )
    session.rollback()
    assert session.scalar(select(PARENTS.c.id)) is None


# Marks a parent as adopted once: a second adoption changes nothing.
ADOPT = (
    update(PARENTS)
    .where(PARENTS.c.id == bindparam("parent"), PARENTS.c.made_at == bindparam("unadopted"))
    .values(made_at=bindparam("adopted"))
)


def test_rows_after_an_update_are_written_only_if_it_changed_its_row(session: Session) -> None:
    insert_together(session, (PARENTS, [{"id": "d", "made_at": NOW}]))
    adoption = {"parent": "d", "unadopted": NOW, "adopted": NOW.replace(hour=10)}
    child = {"id": 40, "parent_id": "d", "details": {"adopted": True}}
    assert insert_together(session, (CHILDREN, [child]), after=(ADOPT, adoption))
    # The same update again finds no row to change: the second child is not written.
    again = {**child, "id": 41}
    assert not insert_together(session, (CHILDREN, [again]), after=(ADOPT, adoption))
    session.commit()
    assert session.scalars(select(CHILDREN.c.id)).all() == [40]
    assert session.scalar(select(CHILDREN.c.details)) == {"adopted": True}
