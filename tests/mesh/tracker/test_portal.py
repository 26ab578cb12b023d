"""The resident's page: their own records, in Japan time, never the hidden ones, never a hint."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from conftest import SignIn
from kiban.core.sessions import SubjectKind
from kiban.mesh.tracker.service import TrackerService
from mesh.tracker.tracker_support import (
    CHIYODA,
    HACHIOJI,
    HACHIOJI_CERTIFICATE,
    HANAKO,
    TARO,
    SetClock,
    store,
    use,
)

JAPAN = ZoneInfo("Asia/Tokyo")
PAGE = "/me/data-uses"


@pytest.fixture
def hanako(sign_in: SignIn) -> None:
    """花子, signed in with her card at 千代田区."""
    sign_in(
        SubjectKind.RESIDENT,
        f"131016:{HANAKO}",
        tenant_code="131016",
        acr="aal2",
        amr=["hwk", "pin"],
    )


def test_a_resident_sees_who_used_their_data_when_and_why(
    client: TestClient, db_session: Session, mesh: None, hanako: None
) -> None:
    store(
        db_session,
        [
            use(used_at="2026-03-01T01:15:00Z"),
            use(
                used_at="2026-03-02T23:30:00Z", purpose="child-allowance", legal_basis="児童手当法"
            ),
            use(subject=TARO, legal_basis="太郎の記録"),
        ],
    )
    # 八王子市 has a 宛名番号 like 花子's of its own: another person.
    store(
        db_session,
        [use(service=str(HACHIOJI_CERTIFICATE), legal_basis="八王子市の記録")],
        provider=HACHIOJI,
    )
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.text
    assert "わたしの情報の利用記録" in html
    assert "千代田区が公共サービスメッシュを通じて" in html
    # Newest first, in Japan time: 2026-03-02T23:30Z is 3月3日 08:30 in Japan.
    assert html.index("2026年3月3日（火）08:30") < html.index("2026年3月1日（日）10:15")
    assert 'datetime="2026-03-03T08:30:00+09:00"' in html
    assert "札幌市" in html  # the consumer's registered name, with its subsystem
    assert "<code>JP/<wbr>LG/<wbr>011002/<wbr>tax</code>" in html  # breaks on a phone
    assert "住民票情報" in html  # the service's title
    assert "child-allowance" in html
    assert "児童手当法" in html
    assert "2件のうち1〜2件目" in html
    assert "太郎の記録" not in html
    assert "八王子市の記録" not in html
    assert "tax-001" not in html  # the consumer's staff member is for the auditors


def test_a_resident_without_records_is_told_so(
    client: TestClient, mesh: None, hanako: None
) -> None:
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "あなたの情報が提供された記録はまだありません。" in page.text


def _japan(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAPAN)


def test_a_hidden_record_is_not_shown_until_its_day_has_passed(
    client: TestClient, db_session: Session, mesh: None, hanako: None, set_clock: SetClock
) -> None:
    shown, hidden = use(legal_basis="地方税法第294条"), use(legal_basis="捜査中の照会")
    store(db_session, [shown, hidden])
    TrackerService(db_session, now=lambda: _japan(2027, 1, 10, 9, 0)).hide(
        CHIYODA,
        hidden["message_id"],
        until=date(2027, 3, 31),
        reason="警察からの照会に基づく",
        actor="staff:131016:suzuki",
        tenant_code="131016",
    )

    set_clock(_japan(2027, 3, 31, 23, 59))  # the last day it is hidden
    html = client.get(PAGE).text
    assert "地方税法第294条" in html
    assert "捜査中の照会" not in html
    assert "1件のうち1〜1件目" in html  # counted as if it did not exist
    main = html[html.index("<main") : html.index("</main>")]
    for hint in ("非表示", "hidden", "Hidden", "警察", "2027"):
        assert hint not in main

    set_clock(_japan(2027, 4, 1, 0, 0))  # the next day: shown, without anyone acting
    html = client.get(PAGE).text
    assert "捜査中の照会" in html
    assert "2件のうち1〜2件目" in html


def test_fifty_records_to_a_page_newest_first(
    client: TestClient, db_session: Session, mesh: None, hanako: None
) -> None:
    start = datetime(2026, 1, 1, tzinfo=JAPAN)
    store(
        db_session,
        [
            use(used_at=(start + timedelta(days=day)).isoformat(), legal_basis=f"根拠{day:02d}")
            for day in range(51)
        ],
    )
    first = client.get(PAGE).text
    assert "51件のうち1〜50件目" in first
    assert "根拠50" in first
    assert "根拠00" not in first
    assert f'href="{PAGE}?page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    second = client.get(PAGE, params={"page": 2}).text
    assert "51件のうち51〜51件目" in second
    assert "根拠00" in second
    assert f'href="{PAGE}?page=1" rel="prev"' in second
    past_the_end = client.get(PAGE, params={"page": 3})
    assert past_the_end.status_code == 200
    assert "このページに記録はありません。" in past_the_end.text


@pytest.mark.parametrize("kind", [None, SubjectKind.STAFF, SubjectKind.BUSINESS])
def test_only_a_signed_in_resident_gets_the_page(
    client: TestClient, sign_in: SignIn, kind: SubjectKind | None
) -> None:
    if kind is not None:
        sign_in(kind, "suzuki", tenant_code="131016", roles=["admin"])
    response = client.get(f"{PAGE}?page=2", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next={quote(f'{PAGE}?page=2', safe='')}"


def test_a_bad_page_number_is_an_html_page(client: TestClient, hanako: None) -> None:
    response = client.get(PAGE, params={"page": "0"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
