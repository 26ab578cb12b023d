"""Mesh identifiers: what parses, what it prints, and a clear refusal for everything else."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiban.core.identifiers import random_corporate_number, random_local_government_code
from kiban.mesh.identifiers import (
    CODE_MAX_LENGTH,
    InvalidMeshIdentifier,
    MemberClass,
    MemberId,
    ServiceId,
    SubsystemId,
)


def test_the_design_s_example_parses_into_its_parts() -> None:
    service = ServiceId.parse("JP/LG/131016/juki/resident-certificate/v1")
    assert service.subsystem.member == MemberId(MemberClass.LG, "131016")
    assert (service.subsystem.code, service.code, service.version) == (
        "juki",
        "resident-certificate",
        "v1",
    )
    assert ServiceId.parse("JP/LG/131016/juki/household").version is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("JP/LG/131017", "check digit is 7, expected 6"),
        ("JP/COM/1123456789012", "check digit (the first digit) is 1, expected 7"),
        ("JP/GOV/13101", "法人番号"),
        ("EE/LG/131016", "the instance is JP, not 'EE'"),
        ("JP/CITY/131016", "member class 'CITY': one of GOV, LG, PUB, COM"),
        ("JP/LG", "is not of the form JP/{class}/{member}"),
        ("JP/LG/131016/juki", "is not of the form JP/{class}/{member}"),
    ],
)
def test_a_bad_member_says_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InvalidMeshIdentifier) as refused:
        MemberId.parse(text)
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "code", ["Juki", "1juki", "juki_", "ju--ki", "juki-", "", "j" * (CODE_MAX_LENGTH + 1)]
)
def test_a_subsystem_code_is_a_lower_case_word(code: str) -> None:
    with pytest.raises(InvalidMeshIdentifier, match="subsystem code"):
        SubsystemId.parse(f"JP/LG/131016/{code}")


@pytest.mark.parametrize("version", ["v0", "1", "V1", "v01", "v1.2"])
def test_a_version_is_v_and_a_number(version: str) -> None:
    with pytest.raises(InvalidMeshIdentifier, match="version"):
        ServiceId.parse(f"JP/LG/131016/juki/household/{version}")


_WORD = st.from_regex(r"[a-z](-?[a-z0-9]){0,20}", fullmatch=True)


@st.composite
def _members(draw: st.DrawFn) -> MemberId:
    member_class = draw(st.sampled_from(MemberClass))
    rng = random.Random(draw(st.integers(0, 2**32)))
    code = (
        random_local_government_code(rng)
        if member_class is MemberClass.LG
        else random_corporate_number(rng)
    )
    return MemberId.of(member_class, code)


@given(
    member=_members(),
    subsystem=_WORD,
    service=_WORD,
    version=st.none() | st.integers(1, 999).map(lambda n: f"v{n}"),
)
def test_every_identifier_prints_as_it_parses(
    member: MemberId, subsystem: str, service: str, version: str | None
) -> None:
    parsed = ServiceId.of(SubsystemId.of(member, subsystem), service, version)
    assert ServiceId.parse(str(parsed)) == parsed
    assert SubsystemId.parse(str(parsed.subsystem)) == parsed.subsystem
    assert MemberId.parse(str(member)) == member


def _refusal(parse: Callable[[str], object], text: str) -> str:
    try:
        parse(text)
    except InvalidMeshIdentifier as refused:
        return str(refused)
    return ""


@given(st.text(max_size=80) | st.from_regex(r"JP/(LG|COM|GOV|PUB)/[0-9]{6,13}(/[a-z\-]{0,9}){0,3}"))
def test_any_text_parses_or_is_refused_with_a_one_line_reason(text: str) -> None:
    for parse in (MemberId.parse, SubsystemId.parse, ServiceId.parse):
        assert "\n" not in _refusal(parse, text)
