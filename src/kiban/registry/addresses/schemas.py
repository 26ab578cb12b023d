"""API shapes of the address registry."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class NormalizedAddressOut(BaseModel):
    """An address split into registry parts; the fields of ``kiban address normalize``."""

    model_config = ConfigDict(from_attributes=True)

    input: str
    pref: str | None = Field(examples=["東京都"])
    city: str | None = Field(description="As the postal data writes it", examples=["千代田区"])
    lg_code: str | None = Field(description="Most specific body (ward)", examples=["131016"])
    town: str | None = Field(description="町字, 丁目 in kanji numerals", examples=["霞が関一丁目"])
    rest: str | None = Field(description="番地・号 and what follows", examples=["3-1"])
    postal_code: str | None = Field(examples=["1000013"])
    level: int = Field(ge=0, le=3, description="0 none, 1 prefecture, 2 city, 3 town")
    score: float = Field(ge=0, le=1)


class TownOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    lg_code: str
    postal_code: str
    name: str
    kana: str
    note: str | None
    has_chome: bool
