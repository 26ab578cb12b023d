"""Keys of the members whose provider systems kiban hosts outside tenancy.

A municipality's gateway reaches its provider systems with one of the tenant's API keys
(``kiban tenant key create``).  A national agency is no tenant: the registry operator issues
its gateway a key of the same shape, ``kibanmesh_{class}_{code}_{key}_{secret}``, of which only
the SHA-256 is kept.  The token names its member and key, so that it is checked by primary
key; issuing and revoking one are audit events, as every registry change is.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiban.core.errors import NotFound
from kiban.core.tenancy import token_sha256
from kiban.mesh.identifiers import MemberClass, MemberId
from kiban.mesh.providers.models import MeshProviderKey
from kiban.mesh.registry.models import MeshMember, RegistrationStatus
from kiban.mesh.registry.service import RegistrationRefused, record_registry_change

TOKEN_PREFIX = "kibanmesh"
NAME_MAX_LENGTH = 64


@dataclass(frozen=True, slots=True)
class IssuedProviderKey:
    key_id: str
    token: str  # the only copy of the secret


def authenticate_provider_token(session: Session, token: str) -> MemberId | None:
    """The member of a valid, unrevoked provider key, or None."""
    prefix, _, rest = token.partition("_")
    member_class, _, rest = rest.partition("_")
    member_code, _, rest = rest.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not (member_class and member_code and key_id and secret):
        return None
    key = session.get(MeshProviderKey, (member_class, member_code, key_id))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_sha256, token_sha256(token)):
        return None
    return MemberId.of(member_class, member_code)


class ProviderKeyService:
    """The registry operator's work on provider keys; flushes, never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, member: MemberId, name: str, *, actor: str) -> IssuedProviderKey:
        """A new key for an approved member that is not a local government."""
        if member.member_class is MemberClass.LG:
            raise RegistrationRefused(
                f"{member} is a tenant: its gateway uses a tenant API key"
                f" (kiban tenant key create {member.code})"
            )
        known = self.session.get(MeshMember, (member.member_class.value, member.code))
        if known is None or known.status != RegistrationStatus.APPROVED:
            raise RegistrationRefused(f"{member} is not an approved member")
        name = name.strip()
        if not name or len(name) > NAME_MAX_LENGTH:
            raise RegistrationRefused(f"a key's name is 1 to {NAME_MAX_LENGTH} characters")
        key_id = secrets.token_hex(4)
        token = (
            f"{TOKEN_PREFIX}_{member.member_class.value}_{member.code}_{key_id}"
            f"_{secrets.token_urlsafe(32)}"
        )
        now = datetime.now(UTC)
        self.session.add(
            MeshProviderKey(
                member_class=member.member_class.value,
                member_code=member.code,
                key_id=key_id,
                name=name,
                secret_sha256=token_sha256(token),
                created_at=now,
                created_by=actor,
            )
        )
        self.session.flush()
        record_registry_change(
            self.session,
            "mesh.provider-key.create",
            actor,
            str(member),
            {"key_id": key_id, "name": name},
            now=now,
        )
        return IssuedProviderKey(key_id, token)

    def revoke(self, member: MemberId, key_id: str, *, actor: str) -> MeshProviderKey:
        key = self.session.get(MeshProviderKey, (member.member_class.value, member.code, key_id))
        if key is None:
            raise NotFound(f"{member} has no provider key {key_id!r}")
        if key.revoked_at is None:
            key.revoked_at = datetime.now(UTC)
            self.session.flush()
            record_registry_change(
                self.session, "mesh.provider-key.revoke", actor, str(member), {"key_id": key_id}
            )
        return key

    def keys(self, member: MemberId) -> list[MeshProviderKey]:
        statement = (
            select(MeshProviderKey)
            .where(
                MeshProviderKey.member_class == member.member_class.value,
                MeshProviderKey.member_code == member.code,
            )
            .order_by(MeshProviderKey.created_at, MeshProviderKey.key_id)
        )
        return list(self.session.scalars(statement))
