"""A consumer's request for consent: its link checked field by field, then shown to the
resident after they sign in with their card."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient

from conftest import SignIn
from kiban.core.sessions import SubjectKind
from kiban.mesh.consent.request import InvalidConsentRequest, one_year_after, read_request
from mesh.consent.consent_support import (
    BANK,
    CERTIFICATE_ITEM,
    HACHIOJI_CERTIFICATE,
    HOUSEHOLD_ITEM,
    PENDING,
    asked,
    field_errors,
    japan_today,
)

NEW = "/me/consents/new"
TODAY = date(2026, 3, 1)


def _link(**changes: str | list[str]) -> str:
    return f"{NEW}?{urlencode(asked(**changes))}"


def _faults(**changes: str | list[str]) -> list[tuple[str, str]]:
    fields = asked(**changes)
    fields = [(name, value) for name, value in fields if value != "<none>"]
    with pytest.raises(InvalidConsentRequest) as refused:
        read_request(fields, TODAY)
    return [(error.field, error.en) for error in refused.value.errors]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"consumer": "<none>"}, "consumer", "is missing."),
        ({"consumer": "JP/COM/8900000000002/loans"}, "consumer", "check digit"),
        ({"consumer": [str(BANK), str(BANK)]}, "consumer", "is given more than once."),
        ({"service": "JP/LG/131016/juki"}, "service", "not a service identifier"),
        ({"items": "<none>"}, "items", "name each operation"),
        ({"items": ["*", CERTIFICATE_ITEM]}, "items", "* (the whole service) stands alone."),
        ({"items": "certificate"}, "items", "not an operation"),
        ({"items": [f"GET /r/{n}" for n in range(21)]}, "items", "at most 20 operations."),
        ({"purpose": "Loan Screening"}, "purpose", "purpose code 'Loan Screening'"),
        ({"explanation": ""}, "explanation", "is missing."),
        ({"explanation": "審査" * 251}, "explanation", "at most 500 characters."),
        ({"explanation": "一行目\n二行目"}, "explanation", "must be one line"),
        ({"until": "2026/03/31"}, "until", "not a day (YYYY-MM-DD)."),
        ({"until": "2026-02-30"}, "until", "not a day (YYYY-MM-DD)."),
        ({"until": "2026-02-28"}, "until", "has passed (Japan time)."),
        ({"until": "2027-03-02"}, "until", "a consent lasts a year at most: until 2027-03-01."),
        ({"kind": "monthly"}, "kind", "one-time or periodic."),
    ],
)
def test_each_field_of_a_request_is_checked(
    changes: dict[str, str | list[str]], field: str, message: str
) -> None:
    changes.setdefault("until", "2026-03-31")
    faults = _faults(**changes)
    assert [name for name, _message in faults] == [field]
    assert message in faults[0][1]


def test_every_fault_is_named_at_once() -> None:
    faults = _faults(consumer="x", purpose="", until="tomorrow", kind="")
    assert [name for name, _message in faults] == ["consumer", "purpose", "until", "kind"]


def test_a_request_holds_through_a_year() -> None:
    wanted = read_request(
        asked(until="2027-03-01", items=[HOUSEHOLD_ITEM, CERTIFICATE_ITEM]), TODAY
    )
    assert wanted.until == date(2027, 3, 1)
    assert wanted.items == (CERTIFICATE_ITEM, HOUSEHOLD_ITEM)  # sorted, as kept
    assert read_request(wanted.fields(), TODAY) == wanted  # the form sends back what it got
    assert one_year_after(date(2028, 2, 29)) == date(2029, 2, 28)


def test_a_faulty_link_is_explained_before_anyone_signs_in(
    client: TestClient, consent_mesh: None
) -> None:
    response = client.get(_link(consumer="JP/COM/8900000000001", kind="weekly"))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "同意の依頼に誤りがあります" in html
    assert field_errors(html) == ["consumer", "kind"]
    assert "サブシステムの識別子" in html  # Japanese first, then English
    assert "one-time or periodic." in html
    assert "Traceback" not in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"consumer": str(PENDING)}, "consumer", "is not an approved subsystem of the mesh"),
        ({"consumer": "JP/COM/8900000000001/atm"}, "consumer", "is not an approved subsystem"),
        (
            {"service": "JP/GOV/6000012010023/tax/income/v1"},
            "service",
            "地方公共団体のサービスではありません",
        ),
        ({"service": "JP/LG/131016/juki/tax/v1"}, "service", "is not a published service"),
        ({"items": "GET /residents/{id}/certificate"}, "items", "has no operation GET /resid"),
        ({"items": "POST /residents"}, "items", "has no operation POST /residents"),
    ],
)
def test_what_the_registry_does_not_bear_out_is_refused(
    client: TestClient,
    consent_mesh: None,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = client.get(_link(**changes))
    assert response.status_code == 400
    assert field_errors(response.text) == [field]
    assert message in response.text


def test_a_good_link_asks_the_resident_to_sign_in_and_comes_back(
    client: TestClient, consent_mesh: None
) -> None:
    link = _link()
    response = client.get(link, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next={quote(link, safe='')}"


def test_the_resident_sees_who_asks_for_what_why_until_when_and_how_often(
    client: TestClient, consent_mesh: None, hanako: None
) -> None:
    until = japan_today() + timedelta(days=30)
    response = client.get(_link(kind="one-time", items=[CERTIFICATE_ITEM, HOUSEHOLD_ITEM]))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert "情報の提供への同意のお願い" in html
    assert "株式会社さくら銀行が、千代田区が持つあなたの情報" in html  # the registered name
    assert "<code>JP/<wbr>COM/<wbr>8900000000001/<wbr>loans</code>" in html
    assert "住民票情報" in html  # the service's title
    assert "住民票の記載事項" in html  # the operation's summary…
    assert "氏名、住所、生年月日、性別" in html  # …and description
    # An operation without either, breaking on a phone at each slash.
    assert f"<code>{HOUSEHOLD_ITEM.replace('/', '/<wbr>')}</code>" in html
    assert "住宅ローンの審査のため、住所と氏名を確認します。" in html
    assert "株式会社さくら銀行による説明" in html  # whose words they are
    assert f"{until.year}年{until.month}月{until.day}日まで" in html
    assert "1回だけ" in html
    assert 'value="grant"' in html
    assert 'value="decline"' in html
    assert 'name="csrf_token"' in html


def test_a_whole_service_is_named_as_such(
    client: TestClient, consent_mesh: None, hanako: None
) -> None:
    html = client.get(_link(items="*")).text
    assert "このサービスのすべての情報" in html
    assert "期限まで繰り返し" in html


def test_another_local_governments_service_is_refused_after_sign_in(
    client: TestClient, consent_mesh: None, hanako: None
) -> None:
    response = client.get(_link(service=str(HACHIOJI_CERTIFICATE)))
    assert response.status_code == 400
    assert field_errors(response.text) == ["service"]
    assert "あなたがお住まいの地方公共団体のサービスではありません。" in response.text


@pytest.mark.parametrize("kind", [SubjectKind.STAFF, SubjectKind.BUSINESS])
def test_only_a_resident_answers(
    client: TestClient, consent_mesh: None, sign_in: SignIn, kind: SubjectKind
) -> None:
    sign_in(kind, "suzuki", tenant_code="131016", roles=["admin"])
    response = client.get(_link(), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")
