"""Who may call a route. Every route declares one of these; a test checks that none is missing."""

from __future__ import annotations

from fastapi import Depends

from kiban.core.tenancy import tenant_api_key_access


def public_access() -> None:
    """Anyone, signed in or not: public reference data and public pages."""


PublicAccess = Depends(public_access)

ACCESS_DECLARATIONS: set[object] = {public_access, tenant_api_key_access}
