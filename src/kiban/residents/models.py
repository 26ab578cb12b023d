"""Resident records (住民記録), owned by each tenant: households, residents and their movements.

Every table has ``tenant_code`` first in its primary key.  A resident row is the person's
current state; ``resident_movements`` is the immutable history that explains it, and the
service changes both in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kiban.core.database import Base
from kiban.residents.codes import MovementKind, Relationship, ResidentStatus, Sex


def _one_of(column: str, values: type[Sex | ResidentStatus | MovementKind]) -> str:
    return f"{column} IN ({', '.join(repr(str(value.value)) for value in values)})"


class Household(Base):
    """世帯: the people who live together; its head is the member whose 続柄 is 世帯主."""

    __tablename__ = "households"

    tenant_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("tenants.code"), primary_key=True
    )
    household_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    formed_on: Mapped[date] = mapped_column(Date)


class Resident(Base):
    """One person's resident record (住民票) as it stands now."""

    __tablename__ = "residents"

    tenant_code: Mapped[str] = mapped_column(
        String(6), ForeignKey("tenants.code"), primary_key=True
    )
    addressee_number: Mapped[str] = mapped_column(String(10), primary_key=True)  # 宛名番号
    resident_record_code: Mapped[str] = mapped_column(String(11))  # 住民票コード
    # HMAC-SHA256 of the 個人番号 (kiban.core.crypto); the number itself is never stored.
    personal_number_hash: Mapped[str] = mapped_column(String(64))
    family_name: Mapped[str] = mapped_column(String(32))
    given_name: Mapped[str] = mapped_column(String(32))
    family_name_kana: Mapped[str] = mapped_column(String(64))
    given_name_kana: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    household_number: Mapped[str] = mapped_column(String(10))
    relationship: Mapped[str] = mapped_column(String(16))  # 続柄
    # The address: the municipality or ward, the town (町字) ABR style, 番地 and 方書.
    lg_code: Mapped[str] = mapped_column(String(6), ForeignKey("local_governments.code"))
    town_name: Mapped[str] = mapped_column(String(128))
    banchi: Mapped[str] = mapped_column(String(32))
    katagaki: Mapped[str | None] = mapped_column(String(128))
    became_resident_on: Mapped[date] = mapped_column(Date)  # 住民となった日
    address_set_on: Mapped[date] = mapped_column(Date)  # 住所を定めた日
    notified_on: Mapped[date] = mapped_column(Date)  # 届出日 of the latest movement
    status: Mapped[str] = mapped_column(String(16))
    removed_on: Mapped[date | None] = mapped_column(Date)  # the day of 転出 or 死亡

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_code", "household_number"],
            ["households.tenant_code", "households.household_number"],
        ),
        CheckConstraint(_one_of("sex", Sex), name="sex"),
        CheckConstraint(_one_of("status", ResidentStatus), name="status"),
        Index(
            "uq_residents_resident_record_code",
            "tenant_code",
            "resident_record_code",
            unique=True,
        ),
        Index(
            "uq_residents_personal_number_hash",
            "tenant_code",
            "personal_number_hash",
            unique=True,
        ),
        Index("ix_residents_kana", "tenant_code", "family_name_kana", "given_name_kana"),
        Index("ix_residents_birth_date", "tenant_code", "birth_date"),
        Index("ix_residents_household", "tenant_code", "household_number"),
        # A household has one current head: former heads who moved out or died keep their 続柄.
        Index(
            "uq_residents_one_head_per_household",
            "tenant_code",
            "household_number",
            unique=True,
            sqlite_where=text(
                f"relationship = '{Relationship.HEAD.value}'"
                f" AND status = '{ResidentStatus.RESIDENT.value}'"
            ),
            postgresql_where=text(
                f"relationship = '{Relationship.HEAD.value}'"
                f" AND status = '{ResidentStatus.RESIDENT.value}'"
            ),
        ),
    )


class ResidentMovement(Base):
    """One 異動 (出生, 転入, 転居, 転出, 死亡): inserted once, never updated or deleted.

    The address columns are the address the movement records: the new address for 出生,
    転入 and 転居, the destination for 転出, and none for 死亡.
    """

    __tablename__ = "resident_movements"

    tenant_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    addressee_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date] = mapped_column(Date)  # 異動日
    notified_on: Mapped[date] = mapped_column(Date)  # 届出日
    household_number: Mapped[str | None] = mapped_column(String(10))
    relationship: Mapped[str | None] = mapped_column(String(16))
    lg_code: Mapped[str | None] = mapped_column(String(6), ForeignKey("local_governments.code"))
    town_name: Mapped[str | None] = mapped_column(String(128))
    banchi: Mapped[str | None] = mapped_column(String(32))
    katagaki: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_code", "addressee_number"],
            ["residents.tenant_code", "residents.addressee_number"],
        ),
        CheckConstraint(_one_of("kind", MovementKind), name="kind"),
    )


class ImmutableMovementError(RuntimeError):
    """Code tried to change or delete a movement; history is only ever appended to."""


def _refuse_change(_mapper: Any, _connection: Any, _target: ResidentMovement) -> None:
    raise ImmutableMovementError("resident movements are immutable / 異動履歴は変更できません")


# The database refuses too (triggers in migration 0002); this stops ORM code before it gets there.
event.listen(ResidentMovement, "before_update", _refuse_change)
event.listen(ResidentMovement, "before_delete", _refuse_change)
