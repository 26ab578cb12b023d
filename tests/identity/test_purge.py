"""``kiban identity purge``: expired identity rows go a margin after their expiry; nothing that
can still be used goes, and the audit trail stays."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session

from identity.oidc.provider_support import register
from identity.oidc.relying_party import ASSERTION_TYPE, es256_key
from kiban.core.audit import AuditEvent, AuditOutcome, record_audit
from kiban.core.database import Base
from kiban.core.sessions import AuthSession
from kiban.core.throttle import ThrottleBucket
from kiban.identity.card.models import CardSignInRequest
from kiban.identity.oidc.client_auth import ClientAuthenticator
from kiban.identity.oidc.errors import OAuthError
from kiban.identity.oidc.models import (
    OidcAuthorizationCode,
    OidcClientAssertion,
    OidcGrant,
    OidcToken,
)
from kiban.identity.oidc.repository import OidcRepository
from kiban.identity.purge import purge_expired
from kiban_command import run_kiban, run_kiban_in_process

# The database tests purge as of a fixed moment in the past, so that rows other tests make
# with the real clock are never old enough to count.
PAST = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
LONG_AGO = timedelta(days=2)  # expired more than the default 24 hours ago
LATELY = timedelta(hours=1)  # expired, but within the margin
TOKEN_ENDPOINT = "https://kiban.example/oidc/token"

DELETED_BY_DEFAULT = {
    "card sign-in requests": 1,
    "OIDC authorization codes": 1,
    "OIDC tokens": 5,
    "OIDC grants": 2,
    "OIDC client assertion jti": 1,
    "browser sessions": 2,
    "rate-limit counts": 1,
}


@dataclass
class Kept:
    """The rows that must survive a purge with the default margin."""

    client_id: str
    card_code: str
    code_sha256: str
    grant_ids: set[str]
    token_count: int
    session_ids: set[str]
    buckets: set[str]


def _card_request(expires_at: datetime) -> CardSignInRequest:
    return CardSignInRequest(
        code=secrets.token_hex(4).upper(),
        challenge="c" * 43,
        browser_secret_sha256="0" * 64,
        next_path="/",
        status="pending",
        created_at=expires_at - timedelta(minutes=5),
        expires_at=expires_at,
    )


def _code(client_id: str, expires_at: datetime) -> OidcAuthorizationCode:
    return OidcAuthorizationCode(
        code_sha256=secrets.token_hex(32),
        client_id=client_id,
        subject="resident:131016:000000012",
        sub="pairwise",
        redirect_uri="https://rp.example/callback",
        scope="openid",
        code_challenge="x" * 43,
        acr="aal3",
        amr="swk pin",
        auth_time=expires_at,
        created_at=expires_at - timedelta(minutes=2),
        expires_at=expires_at,
    )


def _add_grant(
    session: Session, client_id: str, made: datetime, *expiries: datetime, revoked: bool = False
) -> str:
    """A grant made at ``made``, with a token expiring at each of ``expiries``."""
    grant_id = secrets.token_hex(16)
    session.add(
        OidcGrant(
            grant_id=grant_id,
            client_id=client_id,
            subject="resident:131016:000000012",
            sub="pairwise",
            scope="openid",
            acr="aal3",
            amr="swk pin",
            auth_time=made,
            code_sha256=secrets.token_hex(32),
            created_at=made,
            revoked_at=made if revoked else None,
        )
    )
    session.flush()
    session.add_all(
        OidcToken(
            token_sha256=secrets.token_hex(32),
            grant_id=grant_id,
            kind="refresh" if index else "access",
            created_at=made,
            expires_at=expires_at,
        )
        for index, expires_at in enumerate(expiries)
    )
    session.flush()
    return grant_id


def _browser_session(made: datetime, *, ended: datetime | None = None) -> AuthSession:
    return AuthSession(
        id=secrets.token_hex(32),
        subject_kind="resident",
        subject_id="131016:000000012",
        roles="",
        acr="aal3",
        amr="swk pin",
        auth_time=made,
        created_at=made,
        last_seen_at=made,
        idle_expires_at=made + timedelta(minutes=30),
        expires_at=made + timedelta(hours=12),
        ended_at=ended,
    )


def _bucket(started: datetime, locked_until: datetime | None = None) -> ThrottleBucket:
    return ThrottleBucket(
        bucket=f"purge-test:{secrets.token_hex(4)}",
        window_started_at=started,
        count=3,
        locked_until=locked_until,
    )


def add_identity_rows(session: Session, now: datetime) -> Kept:
    """Of each kind, a row that expired long before ``now`` and one that expired lately; grants
    that have run out, been revoked or are still in use; browser sessions expired, ended or in
    use; rate-limit counts of old windows, one of them still locked; an old audit event."""
    client_id = register(session)[0]
    long_ago, lately, made = now - LONG_AGO, now - LATELY, now - timedelta(days=15)
    sessions_kept = [_browser_session(now - LATELY, ended=lately), _browser_session(now)]
    buckets_kept = [_bucket(long_ago, locked_until=now + LATELY), _bucket(lately)]
    session.add_all(
        [
            _browser_session(made),  # expired 12 hours after it began, long ago
            _browser_session(now - timedelta(hours=1), ended=long_ago),
            *sessions_kept,
            _bucket(long_ago),
            *buckets_kept,
        ]
    )
    _add_grant(session, client_id, made, long_ago, long_ago, revoked=True)
    _add_grant(session, client_id, made, long_ago, long_ago)
    in_use = _add_grant(session, client_id, made, long_ago, now + timedelta(days=7))
    revoked_lately = _add_grant(session, client_id, made, lately, revoked=True)
    card, code = _card_request(lately), _code(client_id, lately)
    session.add_all(
        [
            _card_request(long_ago),
            card,
            _code(client_id, long_ago),
            code,
            OidcClientAssertion(client_id=client_id, jti="long-ago", expires_at=long_ago),
            OidcClientAssertion(client_id=client_id, jti="lately", expires_at=lately),
        ]
    )
    session.flush()
    record_audit(session, "oidc.token", AuditOutcome.SUCCESS, actor="purge-test", now=made)
    return Kept(
        client_id,
        card.code,
        code.code_sha256,
        {in_use, revoked_lately},
        token_count=2,
        session_ids={row.id for row in sessions_kept},
        buckets={row.bucket for row in buckets_kept},
    )


def _count(session: Session, model: type[Base], *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def assert_only_kept_rows_remain(session: Session, kept: Kept) -> None:
    assert session.get(CardSignInRequest, kept.card_code) is not None
    client_codes = select(OidcAuthorizationCode.code_sha256).where(
        OidcAuthorizationCode.client_id == kept.client_id
    )
    assert session.scalars(client_codes).all() == [kept.code_sha256]
    grants = select(OidcGrant.grant_id).where(OidcGrant.client_id == kept.client_id)
    assert set(session.scalars(grants)) == kept.grant_ids
    assert _count(session, OidcToken, OidcToken.grant_id.in_(kept.grant_ids)) == kept.token_count
    jtis = select(OidcClientAssertion.jti).where(OidcClientAssertion.client_id == kept.client_id)
    assert session.scalars(jtis).all() == ["lately"]
    assert _count(session, AuditEvent, AuditEvent.actor == "purge-test") == 1
    purge_test_sessions = select(AuthSession.id).where(AuthSession.id.in_(kept.session_ids))
    assert set(session.scalars(purge_test_sessions)) == kept.session_ids
    buckets = select(ThrottleBucket.bucket).where(ThrottleBucket.bucket.like("purge-test:%"))
    assert set(session.scalars(buckets)) == kept.buckets


def test_rows_a_margin_past_expiry_go_and_the_rest_stays(db_session: Session) -> None:
    kept = add_identity_rows(db_session, PAST)
    assert purge_expired(db_session, now=PAST) == DELETED_BY_DEFAULT
    assert_only_kept_rows_remain(db_session, kept)
    assert purge_expired(db_session, now=PAST) == dict.fromkeys(DELETED_BY_DEFAULT, 0)


def test_a_smaller_margin_takes_the_lately_expired_too(db_session: Session) -> None:
    kept = add_identity_rows(db_session, PAST)
    assert purge_expired(db_session, now=PAST, margin=timedelta(minutes=30)) == {
        "card sign-in requests": 2,
        "OIDC authorization codes": 2,
        "OIDC tokens": 6,
        "OIDC grants": 3,
        "OIDC client assertion jti": 2,
        "browser sessions": 3,
        "rate-limit counts": 1,  # a count is kept as long as the longest window, a day
    }
    grants = select(OidcGrant.grant_id).where(OidcGrant.client_id == kept.client_id)
    assert len(db_session.scalars(grants).all()) == 1  # the one still in use
    with pytest.raises(ValueError, match="negative"):
        purge_expired(db_session, now=PAST, margin=timedelta(hours=-1))


def test_rows_that_may_still_be_accepted_stay_even_with_no_margin(db_session: Session) -> None:
    client_id = register(db_session)[0]
    # A card sign-in's browser may pick its approval up for a minute after expiry, and a client
    # assertion is accepted for a clock skew after its exp.
    just_expired = PAST - timedelta(seconds=20)
    card = _card_request(just_expired)
    jti = OidcClientAssertion(client_id=client_id, jti="j", expires_at=just_expired)
    db_session.add_all([card, jti])
    db_session.flush()
    counts = purge_expired(db_session, now=PAST, margin=timedelta(0))
    assert counts["card sign-in requests"] == counts["OIDC client assertion jti"] == 0
    assert db_session.get(CardSignInRequest, card.code) is not None
    assert db_session.get(OidcClientAssertion, (client_id, "j")) is not None


def test_a_purge_does_not_let_an_unexpired_assertion_be_replayed(db_session: Session) -> None:
    private_key, jwk = es256_key()
    client_id = register(
        db_session, auth_method="private_key_jwt", jwks=json.dumps({"keys": [jwk]})
    )[0]
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_ENDPOINT,
        "exp": int(time.time()) + 60,
        "jti": secrets.token_urlsafe(16),
    }
    assertion = jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": jwk["kid"]})
    authenticator = ClientAuthenticator(
        OidcRepository(db_session), issuer="https://kiban.example", token_endpoint=TOKEN_ENDPOINT
    )
    assert authenticator.authenticate(None, None, ASSERTION_TYPE, assertion).client_id == client_id
    purge_expired(db_session, margin=timedelta(0))
    with pytest.raises(OAuthError, match="already used"):
        authenticator.authenticate(None, None, ASSERTION_TYPE, assertion)


# The command commits, so it runs on a database of this module's own; the first test runs it in a
# process of its own, as a scheduler does.


def test_the_command_prints_a_line_per_kind(private_engine: Engine, tmp_path: Path) -> None:
    with Session(private_engine) as session:
        kept = add_identity_rows(session, datetime.now(UTC))
        session.commit()
    url = private_engine.url.render_as_string(hide_password=False)
    result = run_kiban("identity", "purge", database_url=url, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{name}: {count} deleted" for name, count in DELETED_BY_DEFAULT.items()
    ]
    with Session(private_engine) as session:
        assert_only_kept_rows_remain(session, kept)


# The value is refused before the database is opened: one backend is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("value", "reason"), [("abc", "valid integer"), ("-1", "greater than or equal to 0")]
)
def test_a_bad_older_than_is_one_line_and_deletes_nothing(
    private_engine: Engine, tmp_path: Path, value: str, reason: str
) -> None:
    with Session(private_engine) as session:
        add_identity_rows(session, datetime.now(UTC))
        session.commit()
        before = _count(session, OidcClientAssertion)
    url = private_engine.url.render_as_string(hide_password=False)
    result = run_kiban_in_process(
        "identity", "purge", "--older-than", value, database_url=url, data_dir=tmp_path
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("kiban: error: ")
    assert result.stderr.count("\n") == 1
    assert reason in result.stderr
    with Session(private_engine) as session:
        assert _count(session, OidcClientAssertion) == before
