"""RP-initiated logout without an ID token: ``client_id`` instead, or nothing at all.

Nothing then proves who asks, so a signed-in person is asked before kiban signs them out, on a
form only kiban's own page can post.  (The flows with ``id_token_hint`` are in test_flows.py.)
"""

from __future__ import annotations

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from identity.oidc.provider_support import RP_LOGGED_OUT, register
from identity.oidc.relying_party import hidden_fields
from kiban.identity.oidc.clients import ClientService

CONFIRM = "/oidc/logout/confirm"


def signed_in(browser: TestClient) -> bool:
    """Whether kiban still knows the browser: a signed-in page answers instead of /signin."""
    return browser.get("/account/consents", follow_redirects=False).status_code == 200


def answer(browser: TestClient, page: httpx2.Response, decision: str) -> httpx2.Response:
    """Press one of the confirmation page's buttons."""
    assert page.status_code == 200, page.text
    return browser.post(
        CONFIRM, data={**hidden_fields(page.text), "decision": decision}, follow_redirects=False
    )


@pytest.fixture
def client_id(db_session: Session) -> str:
    return register(db_session, name="デモ市 図書館")[0]


def test_a_link_without_a_hint_only_asks(resident_browser: TestClient, client_id: str) -> None:
    for params in ({}, {"client_id": client_id, "post_logout_redirect_uri": RP_LOGGED_OUT}):
        page = resident_browser.get("/oidc/logout", params=params, follow_redirects=False)
        assert page.status_code == 200
        assert "kiban からサインアウトしますか" in page.text
        assert 'method="post"' in page.text
        assert signed_in(resident_browser)
    assert "デモ市 図書館" in page.text  # the client that client_id names


def test_confirming_signs_out_and_returns_with_state(
    resident_browser: TestClient, client_id: str
) -> None:
    params = {"client_id": client_id, "post_logout_redirect_uri": RP_LOGGED_OUT, "state": "s&1"}
    page = resident_browser.get("/oidc/logout", params=params)
    response = answer(resident_browser, page, "sign_out")
    assert response.status_code == 303
    assert response.headers["location"] == RP_LOGGED_OUT + "?state=s%261"
    assert not signed_in(resident_browser)


def test_staying_signed_in_still_returns_to_the_relying_party(
    resident_browser: TestClient, client_id: str
) -> None:
    params = {"client_id": client_id, "post_logout_redirect_uri": RP_LOGGED_OUT, "state": "s"}
    response = answer(resident_browser, resident_browser.get("/oidc/logout", params=params), "stay")
    assert response.status_code == 303
    assert response.headers["location"] == RP_LOGGED_OUT + "?state=s"
    assert signed_in(resident_browser)


def test_with_no_client_named_the_answer_stays_at_kiban(resident_browser: TestClient) -> None:
    stay = answer(resident_browser, resident_browser.get("/oidc/logout"), "stay")
    assert (stay.status_code, stay.headers["location"]) == (303, "/")
    assert signed_in(resident_browser)
    signed_out = answer(resident_browser, resident_browser.get("/oidc/logout"), "sign_out")
    assert signed_out.status_code == 200
    assert "kiban からサインアウトしました" in signed_out.text
    assert not signed_in(resident_browser)


def test_another_site_cannot_post_the_answer(resident_browser: TestClient, client_id: str) -> None:
    page = resident_browser.get("/oidc/logout", params={"client_id": client_id})
    fields = {**hidden_fields(page.text), "decision": "sign_out"}
    without_token = {name: value for name, value in fields.items() if name != "csrf_token"}
    assert resident_browser.post(CONFIRM, data=without_token).status_code == 403
    cross_site = resident_browser.post(
        CONFIRM, data=fields, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert signed_in(resident_browser)


def test_without_a_session_a_named_client_gets_its_person_back_at_once(
    client: TestClient, client_id: str
) -> None:
    params = {"client_id": client_id, "post_logout_redirect_uri": RP_LOGGED_OUT, "state": "s"}
    response = client.get("/oidc/logout", params=params, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == RP_LOGGED_OUT + "?state=s"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"client_id": "no-such-client"}, "not registered"),
        (
            {"client_id": "{client}", "post_logout_redirect_uri": "https://evil.example/"},
            "not registered for this client",
        ),
        ({"post_logout_redirect_uri": RP_LOGGED_OUT}, "needs id_token_hint or client_id"),
        ({"client_id": "{disabled}"}, "not registered"),
    ],
)
def test_a_request_that_names_no_fit_client_or_return_address_is_refused(
    resident_browser: TestClient,
    db_session: Session,
    client_id: str,
    params: dict[str, str],
    reason: str,
) -> None:
    disabled = ClientService(db_session).disable(register(db_session)[0]).client_id
    params = {
        name: value.format(client=client_id, disabled=disabled) for name, value in params.items()
    }
    response = resident_browser.get("/oidc/logout", params=params, follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert reason in response.text
    assert signed_in(resident_browser)


def test_the_confirmation_form_is_checked_again(
    resident_browser: TestClient, client_id: str
) -> None:
    page = resident_browser.get("/oidc/logout", params={"client_id": client_id})
    fields = {
        **hidden_fields(page.text),
        "post_logout_redirect_uri": "https://evil.example/",
        "decision": "sign_out",
    }
    response = resident_browser.post(CONFIRM, data=fields, follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert signed_in(resident_browser)
