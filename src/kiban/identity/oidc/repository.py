"""Every query of the OpenID Connect provider."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiban.identity.oidc.models import (
    OidcAuthorizationCode,
    OidcClient,
    OidcClientAssertion,
    OidcConsent,
    OidcGrant,
    OidcToken,
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
        self, client_id: str, jti: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Record a client assertion's ``jti``; False if it was seen before (a replay).

        Expired ones are forgotten first: an expired assertion is refused anyway.
        """
        self.session.execute(
            delete(OidcClientAssertion).where(
                OidcClientAssertion.client_id == client_id, OidcClientAssertion.expires_at < now
            )
        )
        try:
            with self.session.begin_nested():
                self.session.add(
                    OidcClientAssertion(client_id=client_id, jti=jti, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True

    # Codes ------------------------------------------------------------------------------

    def code(self, code_sha256: str) -> OidcAuthorizationCode | None:
        return self.session.get(OidcAuthorizationCode, code_sha256)

    def use_code(self, code_sha256: str, now: datetime) -> bool:
        """Mark the code used; False if another exchange got there first."""
        result = self.session.execute(
            update(OidcAuthorizationCode)
            .where(
                OidcAuthorizationCode.code_sha256 == code_sha256,
                OidcAuthorizationCode.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_grants_of_code(self, code_sha256: str, now: datetime) -> None:
        self.session.execute(
            update(OidcGrant)
            .where(OidcGrant.code_sha256 == code_sha256, OidcGrant.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    # Tokens -----------------------------------------------------------------------------

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
