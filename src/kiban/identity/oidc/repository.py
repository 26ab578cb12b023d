"""Every query of the OpenID Connect provider.

The token endpoint's statements run on every exchange, so they are built once, with their
values as named parameters, and executed on the session's connection: neither building a
statement nor the ORM's unit of work is repeated per request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Delete, bindparam, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kiban.core.audit import AuditEvent
from kiban.core.database import insert_together
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
    .returning(
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
        active_kid(),
    )
)


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
