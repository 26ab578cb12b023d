"""The code sets of resident records: sex, status, kinds of movement, 続柄."""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    """ISO/IEC 5218 codes for the two values a 住民票 records."""

    MALE = "1"
    FEMALE = "2"


class ResidentStatus(StrEnum):
    RESIDENT = "resident"  # 住民
    MOVED_OUT = "moved_out"  # 転出
    DECEASED = "deceased"  # 死亡


class MovementKind(StrEnum):
    BIRTH = "birth"  # 出生
    MOVING_IN = "moving_in"  # 転入
    RELOCATION = "relocation"  # 転居 (within the municipality, wards of a designated city included)
    MOVING_OUT = "moving_out"  # 転出
    DEATH = "death"  # 死亡


MOVEMENT_LABELS = {
    MovementKind.BIRTH: "出生",
    MovementKind.MOVING_IN: "転入",
    MovementKind.RELOCATION: "転居",
    MovementKind.MOVING_OUT: "転出",
    MovementKind.DEATH: "死亡",
}


class Relationship(StrEnum):
    """続柄: the relationship to the head of household, written as on the 住民票."""

    HEAD = "世帯主"
    WIFE = "妻"
    HUSBAND = "夫"
    UNREGISTERED_WIFE = "妻(未届)"
    UNREGISTERED_HUSBAND = "夫(未届)"
    CHILD = "子"
    FATHER = "父"
    MOTHER = "母"
    GRANDCHILD = "孫"
    ELDER_BROTHER = "兄"
    ELDER_SISTER = "姉"
    YOUNGER_BROTHER = "弟"
    YOUNGER_SISTER = "妹"
    GRANDFATHER = "祖父"
    GRANDMOTHER = "祖母"
    CHILDS_WIFE = "子の妻"
    CHILDS_HUSBAND = "子の夫"
    WIFES_FATHER = "妻の父"
    WIFES_MOTHER = "妻の母"
    HUSBANDS_FATHER = "夫の父"
    HUSBANDS_MOTHER = "夫の母"
    LODGER = "同居人"
    RELATIVE = "縁故者"
