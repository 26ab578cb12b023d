"""API shapes of the local-government registry."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kiban.registry.localgov.derive import LocalGovernmentKind


class LocalGovernmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(
        description="全国地方公共団体コード (6 digits, check digit last)", examples=["131016"]
    )
    name: str = Field(examples=["千代田区"])
    kana: str = Field(examples=["チヨダク"])
    kind: LocalGovernmentKind
    prefecture_code: str = Field(examples=["130001"])
    parent_code: str | None = Field(description="The designated city of a ward", examples=[None])
    county: str | None = Field(description="郡 of a town or village", examples=[None])


class LocalGovernmentPage(BaseModel):
    total: int
    items: list[LocalGovernmentOut]
