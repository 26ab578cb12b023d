"""Mesh identifiers, X-Road style: ``JP/{class}/{member}[/{subsystem}[/{service}[/v{n}]]]``.

``JP/LG/131016`` is 千代田区 as a member of the mesh, ``JP/LG/131016/juki`` its resident
records system (a subsystem), and ``JP/LG/131016/juki/resident-certificate/v1`` a service that
subsystem provides.  A member's code is what identifies the organisation in Japan already:
a local government's 全国地方公共団体コード (``LG``), and for national agencies (``GOV``),
quasi-public bodies (``PUB``) and companies (``COM``) their 法人番号, which every one of
them has.  Subsystem and service codes are lower-case ASCII words chosen by the member.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from kiban.core.identifiers import (
    InvalidIdentifier,
    validate_corporate_number,
    validate_local_government_code,
)

INSTANCE = "JP"


class MemberClass(StrEnum):
    GOV = "GOV"  # national agencies (国の行政機関)
    LG = "LG"  # local governments (地方公共団体)
    PUB = "PUB"  # quasi-public bodies: schools, hospitals, care providers, shelters
    COM = "COM"  # private companies

    @property
    def label(self) -> str:
        return _CLASS_LABELS[self]


_CLASS_LABELS = {
    MemberClass.GOV: "国の機関 (national agency)",
    MemberClass.LG: "地方公共団体 (local government)",
    MemberClass.PUB: "公共的団体 (quasi-public body)",
    MemberClass.COM: "民間事業者 (company)",
}

# A code a member chooses: starts with a letter, then letters, digits and single hyphens.
_CODE = re.compile(r"^[a-z](?:-?[a-z0-9])*$")
CODE_MAX_LENGTH = 64
_VERSION = re.compile(r"^v[1-9][0-9]{0,5}$")


class InvalidMeshIdentifier(ValueError):
    """Not a mesh identifier; the message says which part is wrong and why, on one line."""


def _member_code(member_class: MemberClass, code: str) -> str:
    try:
        if member_class is MemberClass.LG:
            return validate_local_government_code(code)
        return validate_corporate_number(code)
    except InvalidIdentifier as error:
        raise InvalidMeshIdentifier(
            f"member code of a {member_class.value} member: {error}"
        ) from None


def chosen_code(what: str, code: str) -> str:
    """``code``, a subsystem, service or group code a member chose, once it is well formed."""
    if not code or len(code) > CODE_MAX_LENGTH or not _CODE.match(code):
        raise InvalidMeshIdentifier(
            f"{what} code {code!r}: lower-case letters, digits and single hyphens,"
            f" starting with a letter, at most {CODE_MAX_LENGTH} characters"
        )
    return code


def _parts(text: str, count: range) -> list[str]:
    parts = text.strip().split("/")
    if len(parts) not in count:
        expected = {
            3: "JP/{class}/{member}",
            4: "JP/{class}/{member}/{subsystem}",
            5: "JP/{class}/{member}/{subsystem}/{service}[/v{n}]",
        }[count.start]
        raise InvalidMeshIdentifier(f"{text.strip()!r} is not of the form {expected}")
    if parts[0] != INSTANCE:
        raise InvalidMeshIdentifier(f"the instance is {INSTANCE}, not {parts[0]!r}")
    return parts


def _member_class(text: str) -> MemberClass:
    try:
        return MemberClass(text)
    except ValueError:
        classes = ", ".join(member_class.value for member_class in MemberClass)
        raise InvalidMeshIdentifier(f"member class {text!r}: one of {classes}") from None


@dataclass(frozen=True, slots=True, order=True)
class MemberId:
    """An organisation on the mesh."""

    member_class: MemberClass
    code: str

    @classmethod
    def of(cls, member_class: MemberClass | str, code: str) -> MemberId:
        checked = _member_class(str(member_class))
        return cls(checked, _member_code(checked, code))

    @classmethod
    def parse(cls, text: str) -> MemberId:
        _instance, member_class, code = _parts(text, range(3, 4))
        return cls.of(member_class, code)

    def __str__(self) -> str:
        return f"{INSTANCE}/{self.member_class.value}/{self.code}"


@dataclass(frozen=True, slots=True, order=True)
class SubsystemId:
    """One of a member's systems, which consumes or provides services on the mesh."""

    member: MemberId
    code: str

    @classmethod
    def of(cls, member: MemberId, code: str) -> SubsystemId:
        return cls(member, chosen_code("subsystem", code))

    @classmethod
    def parse(cls, text: str) -> SubsystemId:
        _instance, member_class, member_code, code = _parts(text, range(4, 5))
        return cls.of(MemberId.of(member_class, member_code), code)

    def __str__(self) -> str:
        return f"{self.member}/{self.code}"


@dataclass(frozen=True, slots=True, order=True)
class ServiceId:
    """A service a subsystem provides, optionally in one version."""

    subsystem: SubsystemId
    code: str
    version: str | None = None

    @classmethod
    def of(cls, subsystem: SubsystemId, code: str, version: str | None = None) -> ServiceId:
        if version is not None and not _VERSION.match(version):
            raise InvalidMeshIdentifier(f"version {version!r}: v1, v2, …")
        return cls(subsystem, chosen_code("service", code), version)

    @classmethod
    def parse(cls, text: str) -> ServiceId:
        parts = _parts(text, range(5, 7))
        _instance, member_class, member_code, subsystem, code = parts[:5]
        version = parts[5] if len(parts) == 6 else None
        return cls.of(
            SubsystemId.of(MemberId.of(member_class, member_code), subsystem), code, version
        )

    def __str__(self) -> str:
        suffix = f"/{self.version}" if self.version else ""
        return f"{self.subsystem}/{self.code}{suffix}"
