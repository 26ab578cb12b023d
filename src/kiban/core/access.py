"""Who may call a route. Every route declares one of these; a test checks that none is missing.

Each domain registers its own access dependencies with :func:`declare_access` (a tenant's key
or staff, a signed-in resident, an OpenID client...), so the rule holds without this module
knowing every domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Depends

AccessCheck = TypeVar("AccessCheck", bound=Callable[..., Any])

ACCESS_DECLARATIONS: set[object] = set()


def declare_access(check: AccessCheck) -> AccessCheck:
    """Register ``check``, a FastAPI dependency, as a statement of who may call a route."""
    ACCESS_DECLARATIONS.add(check)
    return check


@declare_access
def public_access() -> None:
    """Anyone, signed in or not: public reference data and public pages."""


PublicAccess = Depends(public_access)
