"""The answers of the provider systems: what each service says, and nothing more.

Each answer carries what its purpose needs (data minimisation): the certificate the items of
住民基本台帳法第7条 a public body asks for, without the 住民票コード or the 個人番号; the income
certificate the figures, without the name the caller already knows the person by.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from kiban.residents.codes import Sex


class PersonName(BaseModel):
    family_name: str = Field(description="氏", examples=["山田"])
    given_name: str = Field(description="名", examples=["花子"])
    family_name_kana: str = Field(description="氏のフリガナ", examples=["ヤマダ"])
    given_name_kana: str = Field(description="名のフリガナ", examples=["ハナコ"])


class CertificateAddress(BaseModel):
    """The address, with the registry's names for the municipality (or ward) and prefecture."""

    lg_code: str = Field(description="Municipality or ward (全国地方公共団体コード)")
    prefecture: str = Field(examples=["東京都"])
    city: str = Field(description="With its 郡, or its designated city", examples=["千代田区"])
    town_name: str = Field(description="町字", examples=["霞が関一丁目"])
    banchi: str = Field(description="番地・号", examples=["1-3"])
    katagaki: str | None = Field(description="方書")
    text: str = Field(examples=["東京都千代田区霞が関一丁目1-3"])


class ResidentCertificate(BaseModel):
    """住民票の記載事項 of one current resident."""

    addressee_number: str = Field(description="宛名番号")
    name: PersonName
    birth_date: date = Field(description="生年月日")
    sex: Sex = Field(description="ISO/IEC 5218: 1 male (男), 2 female (女)")
    head_of_household: PersonName | None = Field(
        description="世帯主の氏名; none while the household has no current head"
    )
    relationship: str = Field(description="世帯主との続柄 (世帯主 for the head)")
    address: CertificateAddress
    became_resident_on: date = Field(description="住民となった年月日")
    address_set_on: date = Field(description="住所を定めた年月日")
    notified_on: date = Field(description="届出の年月日 of the latest movement")


class HouseholdMember(BaseModel):
    addressee_number: str = Field(description="宛名番号")
    name: PersonName
    birth_date: date
    sex: Sex
    relationship: str = Field(description="世帯主との続柄")


class HouseholdAnswer(BaseModel):
    """The current members of a resident's household, its head first."""

    addressee_number: str = Field(description="宛名番号 of the resident asked about")
    members: list[HouseholdMember]


class IncomeFigures(BaseModel):
    salary_revenue: int = Field(description="給与収入金額 (yen)")
    salary_income: int = Field(description="給与所得金額")
    pension_revenue: int = Field(description="公的年金等収入金額")
    pension_income: int = Field(description="公的年金等に係る雑所得")
    total_income: int = Field(description="総所得金額")


class Deductions(BaseModel):
    basic: int = Field(description="基礎控除")
    social_insurance: int = Field(description="社会保険料控除")
    spouse: int = Field(description="配偶者控除")
    dependents: int = Field(description="扶養控除")
    total: int = Field(description="所得控除の合計")


class ResidentTax(BaseModel):
    income_levy: int = Field(description="所得割額")
    per_capita_levy: int = Field(description="均等割額")
    total: int = Field(description="年税額; 0 when not taxable (非課税)")


class IncomeCertificate(BaseModel):
    """所得証明: a fiscal year's assessment of one person's income and resident tax."""

    addressee_number: str = Field(description="宛名番号")
    fiscal_year: int = Field(description="年度 of the resident tax", examples=[2025])
    income_year: int = Field(description="The calendar year of the income (前年)", examples=[2024])
    income: IncomeFigures
    deductions: Deductions
    dependents: int = Field(description="扶養親族の数, those under 16 included")
    taxable_income: int = Field(description="課税標準額")
    resident_tax: ResidentTax


class AgeBand(BaseModel):
    from_age: int = Field(description="The band's first age", examples=[0])
    to_age: int | None = Field(description="Its last age; none for the last band", examples=[4])
    male: int
    female: int
    total: int


class AgeBands(BaseModel):
    """How many people were residents of the municipality on a day, by age and sex."""

    lg_code: str = Field(description="The municipality (全国地方公共団体コード)")
    on: date = Field(description="The day counted (ages in completed years on that day)")
    total: int
    bands: list[AgeBand] = Field(description="0–4, 5–9, …, 95–99 and 100 or more")
