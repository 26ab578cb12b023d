"""Who may call a provider system: the providing member's own gateway, and no one else.

A municipality's gateway sends one of the tenant's API keys (``Authorization: Bearer
kiban_…``, from its backend's ``token_file``); a signed-in person, even the tenant's staff, is
refused, since an exchange that does not pass the gateway is neither authorised by the mesh's
access rights nor kept in its message log.  A national agency's gateway sends a provider key
the registry operator issued it (``kibanmesh_…``, kiban.mesh.providers.keys).

Each call also carries the ``Kiban-*`` headers of the verified exchange, which tie the answer
to the gateways' log; for personal data, its purpose and legal basis.  They are the contract
between gateway and system, checked so that a misconfigured gateway is found at once: the
key, not the headers, is what keeps others out.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kiban.core.access import declare_access
from kiban.core.dependencies import DbSession
from kiban.core.errors import Forbidden, Unauthorized
from kiban.core.tenancy import TenantAccess, TenantCaller
from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberId, SubsystemId
from kiban.mesh.providers.keys import authenticate_provider_token
from kiban.mesh.tracker.protocol import mesh_problem


@declare_access
def tenant_gateway_access(caller: TenantAccess) -> TenantCaller:
    """The tenant's mesh gateway: one of the tenant named in the path's API keys."""
    if caller.key_id is None:
        raise Forbidden(
            "Only the tenant's mesh gateway, with one of the tenant's API keys, calls its"
            " provider systems. / 提供システムはメッシュのゲートウェイのみが呼び出せます。"
        )
    return caller


TenantGateway = Annotated[TenantCaller, Depends(tenant_gateway_access)]

_provider_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="MeshProviderKey",
    description="A provider key from `kiban mesh services key create` / 提供システムの鍵",
)


def member_gateway_access(provider: MemberId) -> Callable[..., MemberId]:
    """The access of a provider system kiban hosts for ``provider``, a member that is not a
    tenant: a dependency that admits one of ``provider``'s provider keys."""

    def provider_gateway_access(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_provider_bearer)],
        session: DbSession,
    ) -> MemberId:
        """The provider's mesh gateway, with one of the keys the registry operator issued it."""
        if credentials is None:
            raise Unauthorized(f"Send a provider key of {provider} as `Authorization: Bearer`.")
        member = authenticate_provider_token(session, credentials.credentials)
        if member is None:
            raise Unauthorized("The provider key is not valid or has been revoked.")
        if member != provider:
            raise Forbidden(f"The key is {member}'s; this system is {provider}'s.")
        return member

    return declare_access(provider_gateway_access)


def mesh_exchange(
    client: Annotated[
        str | None,
        Header(alias="Kiban-Client", description="The calling subsystem, as the gateway verified"),
    ] = None,
    message_id: Annotated[
        str | None, Header(alias="Kiban-Id", description="The exchange's identifier (a UUID)")
    ] = None,
) -> None:
    """Every call names its client and exchange, as the provider's gateway passes them on."""
    try:
        SubsystemId.parse(client or "")
    except InvalidMeshIdentifier as error:
        raise mesh_problem("bad-request", f"Kiban-Client: {error}") from None
    try:
        uuid.UUID(message_id or "")
    except ValueError:
        raise mesh_problem("bad-request", "Kiban-Id: the exchange's UUID is required") from None


def personal_data_exchange(
    _exchange: Annotated[None, Depends(mesh_exchange)],
    purpose: Annotated[
        str | None, Header(alias="Kiban-Purpose", description="The purpose code of the call")
    ] = None,
    legal_basis: Annotated[
        str | None,
        Header(
            alias="Kiban-Legal-Basis",
            description="Why by law, UTF-8 percent-encoded; `consent` with Kiban-Consent",
        ),
    ] = None,
) -> None:
    """A call for a person's data also says what for and why by law, which the gateway
    checked against the access rights before passing it on."""
    if not purpose:
        raise mesh_problem("purpose-required", "Kiban-Purpose: the call's purpose is required")
    if not legal_basis:
        raise mesh_problem("legal-basis-required", "Kiban-Legal-Basis is required")
