"""Request and response bodies of the resident-record API."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from kiban.core.identifiers import (
    InvalidIdentifier,
    normalize_digits,
    validate_addressee_number,
    validate_local_government_code,
    validate_personal_number,
    validate_resident_record_code,
)
from kiban.residents.codes import MovementKind, Relationship, ResidentStatus, Sex

_KATAKANA = re.compile(r"[ァ-ヶー・]+")
_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
_SPACES = re.compile(r"[\s　]+")


def normalize_kana(text: str) -> str:
    """Full-width katakana without spaces, from katakana or hiragana as people type them."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text).translate(_HIRAGANA_TO_KATAKANA))


def _katakana(text: str) -> str:
    kana = normalize_kana(text)
    if not _KATAKANA.fullmatch(kana):
        raise ValueError("must be written in katakana / カタカナで入力してください")
    return kana


def _identifier(validator_name: str) -> AfterValidator:
    validators = {
        "addressee": validate_addressee_number,
        "lgcode": validate_local_government_code,
        "residentcode": validate_resident_record_code,
    }
    validate = validators[validator_name]

    def check(text: str) -> str:
        try:
            return validate(normalize_digits(text))
        except InvalidIdentifier as invalid:
            raise ValueError(invalid.reason) from None

    return AfterValidator(check)


Kana = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_katakana)]
Name = Annotated[str, Field(min_length=1, max_length=32)]
AddresseeNumber = Annotated[
    str, Field(description="宛名番号: 9-digit serial + Luhn check digit"), _identifier("addressee")
]
LgCode = Annotated[str, Field(description="全国地方公共団体コード"), _identifier("lgcode")]
HouseholdNumber = Annotated[
    str,
    Field(description="世帯番号: 9-digit serial + Luhn check digit, numbered like a 宛名番号"),
    _identifier("addressee"),
]
ResidentRecordCode = Annotated[str, Field(description="住民票コード"), _identifier("residentcode")]


class AddressIn(BaseModel):
    """An address: municipality or ward, town (町字) with its 丁目 in kanji, 番地, 方書."""

    model_config = ConfigDict(extra="forbid")

    lg_code: LgCode = Field(examples=["131016"])
    town_name: str = Field(min_length=1, max_length=128, examples=["霞が関一丁目"])
    banchi: str = Field(
        min_length=1, max_length=32, pattern=r"^[0-9]+(-[0-9]+)*$", examples=["1-3"]
    )
    katagaki: str | None = Field(default=None, max_length=128, examples=["霞が関ハイツ 203"])


class HouseholdPlacement(BaseModel):
    """The household a person joins, or none to form a new one headed by that person."""

    model_config = ConfigDict(extra="forbid")

    household_number: HouseholdNumber | None = Field(
        default=None, description="世帯番号 of an existing household; omit to form a new one"
    )
    relationship: Relationship = Field(description="続柄; 世帯主 when forming a new household")


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family_name: Name = Field(examples=["山田"])
    given_name: Name = Field(examples=["花子"])
    family_name_kana: Kana = Field(examples=["ヤマダ"])
    given_name_kana: Kana = Field(examples=["ハナコ"])
    birth_date: date
    sex: Sex = Field(description="ISO/IEC 5218: 1 male (男), 2 female (女)")


class BirthIn(BaseModel):
    """出生届: a child born to a household of this municipality."""

    model_config = ConfigDict(extra="forbid")

    person: PersonIn
    household: HouseholdPlacement
    address: AddressIn
    notified_on: date = Field(description="届出日")


class MovingInIn(BaseModel):
    """転入届: a person who comes from another municipality, with their numbers."""

    model_config = ConfigDict(extra="forbid")

    person: PersonIn
    resident_record_code: ResidentRecordCode
    personal_number: SecretStr = Field(
        description="個人番号 (12 digits); stored only as a keyed hash"
    )
    household: HouseholdPlacement
    address: AddressIn
    moved_in_on: date = Field(description="転入日 (住所を定めた日)")
    notified_on: date = Field(description="届出日")

    @field_validator("personal_number")
    @classmethod
    def _valid_personal_number(cls, value: SecretStr) -> SecretStr:
        try:
            return SecretStr(validate_personal_number(normalize_digits(value.get_secret_value())))
        except InvalidIdentifier as invalid:
            raise ValueError(invalid.reason) from None


class RelocationIn(BaseModel):
    """転居届: a new address within the municipality (between wards of a designated city too)."""

    model_config = ConfigDict(extra="forbid")

    address: AddressIn
    occurred_on: date = Field(description="転居日")
    notified_on: date = Field(description="届出日")


class MovingOutIn(BaseModel):
    """転出届: the person leaves for another municipality; may be notified before the move."""

    model_config = ConfigDict(extra="forbid")

    destination: AddressIn = Field(description="転出先")
    occurred_on: date = Field(description="転出日 (予定日)")
    notified_on: date = Field(description="届出日")


class DeathIn(BaseModel):
    """死亡届."""

    model_config = ConfigDict(extra="forbid")

    occurred_on: date = Field(description="死亡日")
    notified_on: date = Field(description="届出日")


class AddressOut(BaseModel):
    lg_code: str
    town_name: str
    banchi: str
    katagaki: str | None


class ResidentSummary(BaseModel):
    addressee_number: str = Field(description="宛名番号")
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    sex: Sex
    status: ResidentStatus
    household_number: str = Field(description="世帯番号")
    relationship: str = Field(description="続柄")
    address: AddressOut


class MovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sequence: int
    kind: MovementKind
    occurred_on: date
    notified_on: date
    household_number: str | None
    relationship: str | None
    lg_code: str | None
    town_name: str | None
    banchi: str | None
    katagaki: str | None


class HouseholdOut(BaseModel):
    household_number: str = Field(description="世帯番号")
    formed_on: date
    head_addressee_number: str | None = Field(description="宛名番号 of the current 世帯主")
    members: list[ResidentSummary] = Field(description="Current members (住民) first")


class ResidentDetail(ResidentSummary):
    resident_record_code: str = Field(description="住民票コード")
    became_resident_on: date = Field(description="住民となった日")
    address_set_on: date = Field(description="住所を定めた日")
    notified_on: date = Field(description="届出日 of the latest movement")
    removed_on: date | None = Field(description="The day of 転出 or 死亡")
    household: HouseholdOut
    movements: list[MovementOut]


class ResidentPage(BaseModel):
    total: int
    items: list[ResidentSummary]
