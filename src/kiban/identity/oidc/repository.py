"""Every query of the OpenID Connect provider.

The token endpoint's statements run on every exchange, so they are built once, with their
values as named parameters, and executed on the session's connection: neither building a
statement nor the ORM's unit of work is repeated per request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ClauseElement,
    CursorResult,
    DateTime,
    Delete,
    Dialect,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kiban.core.audit import AuditEvent, AuditOutcome
from kiban.core.database import RenderedStatement, insert_together
from kiban.identity.oidc.keys import active_kid
from kiban.identity.oidc.models import (
    OidcAuthorizationCode,
    OidcClient,
    OidcClientAssertion,
    OidcConsent,
    OidcGrant,
    OidcToken,
)


@dataclass(frozen=True, slots=True)
class SpentCode:
    """An authorization code just marked used, and the signing key current at that moment."""

    subject: str
    sub: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    acr: str
    amr: str
    auth_time: datetime
    expires_at: datetime
    signing_kid: str | None


_SPENT_COLUMNS = (
    OidcAuthorizationCode.subject,
    OidcAuthorizationCode.sub,
    OidcAuthorizationCode.redirect_uri,
    OidcAuthorizationCode.scope,
    OidcAuthorizationCode.nonce,
    OidcAuthorizationCode.code_challenge,
    OidcAuthorizationCode.acr,
    OidcAuthorizationCode.amr,
    OidcAuthorizationCode.auth_time,
    OidcAuthorizationCode.expires_at,
)

# One round trip: the update's own result carries the code, and the signing key that is
# current as it runs, so an exchange never signs with a stale key and needs no second query.
_SPEND_CODE = (
    update(OidcAuthorizationCode)
    .where(
        OidcAuthorizationCode.code_sha256 == bindparam("digest"),
        OidcAuthorizationCode.client_id == bindparam("client"),
        OidcAuthorizationCode.used_at.is_(None),
    )
    .values(used_at=bindparam("now"))
    .returning(*_SPENT_COLUMNS, active_kid())
)


@dataclass(frozen=True, slots=True)
class CodeExchange:
    """What one exchange of a code for tokens writes, and what the code must match."""

    code_sha256: str
    client_id: str
    secret_sha256: str  # of the secret the client presented (client_secret_basic)
    redirect_uri: str
    code_challenge: str  # S256 of the verifier the client presented
    grant_id: str
    access_token_sha256: str
    access_expires_at: datetime
    refresh_token_sha256: str
    refresh_expires_at: datetime
    request_id: str | None
    now: datetime


def _exchange_at_once() -> ClauseElement:
    """Authenticate the client, spend its code and, when the code matches, write the grant,
    its access and refresh tokens and the audit event: one statement (PostgreSQL).

    The client's secret and state are read where the code is spent, so a disabled client or
    a changed secret holds from that moment.  A code that was found is spent whether or not it
    matches, as :meth:`OidcRepository.spend_code` does; nothing is written for one that does
    not.  No row: the client, its secret or the code did not hold, and the caller learns which
    the usual way.
    """
    code, client = OidcAuthorizationCode, OidcClient
    now = bindparam("now", type_=DateTime(timezone=True))
    client_id = bindparam("client_id", type_=String)
    grant_id = bindparam("grant_id", type_=String)
    spent = (
        update(code)
        .where(
            code.code_sha256 == bindparam("code_sha256"),
            code.client_id == client_id,
            code.used_at.is_(None),
            client.client_id == code.client_id,
            client.disabled_at.is_(None),
            client.auth_method == "client_secret_basic",
            client.secret_sha256 == bindparam("secret_sha256"),
        )
        .values(used_at=now)
        .returning(
            *_SPENT_COLUMNS,
            and_(
                code.expires_at > now,
                code.redirect_uri == bindparam("redirect_uri"),
                code.code_challenge == bindparam("code_challenge"),
            ).label("fit"),
        )
        .cte("spent")
    )
    fits = spent.c.fit.is_(True)
    grant_columns = ("grant_id", "client_id", "subject", "sub", "scope", "acr", "amr")
    granted = (
        insert(OidcGrant)
        .from_select(
            [*grant_columns, "auth_time", "code_sha256", "created_at"],
            select(
                grant_id,
                client_id,
                spent.c.subject,
                spent.c.sub,
                spent.c.scope,
                spent.c.acr,
                spent.c.amr,
                spent.c.auth_time,
                bindparam("code_sha256"),
                now,
            ).where(fits),
        )
        .returning(OidcGrant.grant_id)
        .cte("granted")
    )
    tokens = insert(OidcToken).from_select(
        ["token_sha256", "grant_id", "kind", "created_at", "expires_at"],
        union_all(
            *(
                select(
                    bindparam(f"{kind}_token_sha256", type_=String),
                    granted.c.grant_id,
                    literal(kind),
                    now,
                    bindparam(f"{kind}_expires_at", type_=DateTime(timezone=True)),
                )
                for kind in ("access", "refresh")
            )
        ),
    )
    audited = insert(AuditEvent).from_select(
        ["occurred_at", "action", "outcome", "actor", "subject", "request_id", "details"],
        select(
            now,
            literal("oidc.token"),
            literal(AuditOutcome.SUCCESS.value),
            client_id,
            spent.c.subject,
            bindparam("request_id", type_=String),
            func.json_build_object(
                "client_id", client_id, "grant_id", grant_id, "scope", spent.c.scope
            ),
        ).where(fits),
    )
    return select(*(spent.c[column.key] for column in _SPENT_COLUMNS), active_kid()).add_cte(
        granted, tokens.cte("issued"), audited.cte("audited")
    )


@cache
def _exchange_statement(dialect: Dialect) -> RenderedStatement:
    return RenderedStatement.of(_exchange_at_once(), dialect)


class OidcRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)

    # Clients ----------------------------------------------------------------------------

    def client(self, client_id: str) -> OidcClient | None:
        return self.session.get(OidcClient, client_id)

    def clients(self) -> list[OidcClient]:
        return list(self.session.scalars(select(OidcClient).order_by(OidcClient.created_at)))

    def remember_assertion(
        self, client_id: str, jti: str, expires_at: datetime, forget_before: datetime
    ) -> bool:
        """Record a client assertion's ``jti``; False if it was seen before (a replay).

        The client's ``jti`` records that expired before ``forget_before`` are forgotten first:
        an assertion that old is refused anyway.
        """
        connection = self.session.connection()
        connection.execute(
            delete(OidcClientAssertion).where(
                OidcClientAssertion.client_id == client_id,
                OidcClientAssertion.expires_at < forget_before,
            )
        )
        dialect = connection.dialect.name
        statement = (
            postgresql.insert(OidcClientAssertion)
            if dialect == "postgresql"
            else sqlite.insert(OidcClientAssertion)
        )
        # A concurrent twin waits for the first one's commit, then inserts nothing.
        inserted = connection.execute(
            statement.values(client_id=client_id, jti=jti, expires_at=expires_at)
            .on_conflict_do_nothing()
            .returning(OidcClientAssertion.jti)
        ).first()
        return inserted is not None

    # Codes ------------------------------------------------------------------------------

    def code(self, code_sha256: str) -> OidcAuthorizationCode | None:
        return self.session.get(OidcAuthorizationCode, code_sha256)

    def spend_code(self, code_sha256: str, client_id: str, now: datetime) -> SpentCode | None:
        """Mark the client's unused code used and return it; None if it is unknown, another
        client's or already used."""
        row = (
            self.session.connection()
            .execute(_SPEND_CODE, {"digest": code_sha256, "client": client_id, "now": now})
            .first()
        )
        return None if row is None else SpentCode(*tuple(row))

    def revoke_grants_of_code(self, code_sha256: str, now: datetime) -> None:
        self.session.execute(
            update(OidcGrant)
            .where(OidcGrant.code_sha256 == code_sha256, OidcGrant.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    def exchange_at_once(self, exchange: CodeExchange) -> SpentCode | None:
        """Run :func:`_exchange_at_once` (PostgreSQL only): the code it spent, which the caller
        checks as it checks one from :meth:`spend_code`; None if the client, its secret or the
        code did not hold, and nothing was changed."""
        connection = self.session.connection()
        # Not dataclasses.asdict, which deep-copies every value.
        parameters = {field.name: getattr(exchange, field.name) for field in fields(exchange)}
        row = _exchange_statement(connection.dialect).execute(connection, parameters).first()
        return None if row is None else SpentCode(*tuple(row))

    # Grants and tokens ------------------------------------------------------------------

    def record_issue(
        self,
        new_grant: Mapping[str, Any] | None,
        tokens: Sequence[Mapping[str, Any]],
        audit_event: Mapping[str, Any],
    ) -> None:
        """Write what one exchange issues, in one go: the grant (for a code), its tokens and
        the audit event."""
        insert_together(
            self.session,
            (OidcGrant, [new_grant] if new_grant else []),
            (OidcToken, tokens),
            (AuditEvent, [audit_event]),
        )

    def token(self, token_sha256: str) -> tuple[OidcToken, OidcGrant] | None:
        row = self.session.execute(
            select(OidcToken, OidcGrant)
            .join(OidcGrant, OidcGrant.grant_id == OidcToken.grant_id)
            .where(OidcToken.token_sha256 == token_sha256)
        ).first()
        return (row[0], row[1]) if row else None

    def use_token(self, token_sha256: str, now: datetime) -> bool:
        """Mark a refresh token used; False if another request got there first."""
        result = self.session.execute(
            update(OidcToken)
            .where(OidcToken.token_sha256 == token_sha256, OidcToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_grant(self, grant_id: str, now: datetime) -> None:
        self.session.execute(
            update(OidcGrant)
            .where(OidcGrant.grant_id == grant_id, OidcGrant.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    def revoke_grants_of(self, subject: str, client_id: str, now: datetime) -> None:
        self.session.execute(
            update(OidcGrant)
            .where(
                OidcGrant.subject == subject,
                OidcGrant.client_id == client_id,
                OidcGrant.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    # Consents ---------------------------------------------------------------------------

    def consent(self, subject: str, client_id: str) -> OidcConsent | None:
        return self.session.get(OidcConsent, (subject, client_id))

    def consents_of(self, subject: str) -> list[tuple[OidcConsent, OidcClient]]:
        rows = self.session.execute(
            select(OidcConsent, OidcClient)
            .join(OidcClient, OidcClient.client_id == OidcConsent.client_id)
            .where(OidcConsent.subject == subject)
            .order_by(OidcConsent.granted_at.desc())
        )
        return [(consent, client) for consent, client in rows]

    def delete_consent(self, consent: OidcConsent) -> None:
        self.session.delete(consent)
        self.session.flush()

    # Expired rows (kiban identity purge) ------------------------------------------------

    def purge_expired_codes(self, before: datetime) -> int:
        """Delete codes that expired before ``before``; how many."""
        return self._delete(
            delete(OidcAuthorizationCode).where(OidcAuthorizationCode.expires_at < before)
        )

    def purge_expired_tokens(self, before: datetime) -> int:
        """Delete access and refresh tokens that expired before ``before``; how many."""
        return self._delete(delete(OidcToken).where(OidcToken.expires_at < before))

    def purge_finished_grants(self, before: datetime) -> int:
        """Delete grants made before ``before`` that have no token left; how many.

        Tokens go only when they expired long ago (``purge_expired_tokens``), so a grant with
        none left can issue nothing more, whether it was revoked or simply ran out.
        """
        return self._delete(
            delete(OidcGrant).where(
                OidcGrant.created_at < before,
                ~exists().where(OidcToken.grant_id == OidcGrant.grant_id),
            )
        )

    def purge_expired_assertions(self, before: datetime) -> int:
        """Forget client assertions' ``jti`` that expired before ``before``; how many."""
        return self._delete(
            delete(OidcClientAssertion).where(OidcClientAssertion.expires_at < before)
        )

    def _delete(self, statement: Delete) -> int:
        result = self.session.execute(statement.execution_options(synchronize_session=False))
        return result.rowcount if isinstance(result, CursorResult) else 0
