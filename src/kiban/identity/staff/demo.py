"""Demo staff: in each demo tenant, one account per role, for visitors to sign in as.

DEMO ONLY, and only while the demo is on (``KIBAN_DEMO_WALLET``): ``kiban seed --demo`` then
makes them ready, and ``/demo/staff`` shows how to sign in as them.  Seeded with the demo off,
it disables any it made before, and the page is not there.

No credential of theirs is written anywhere.  Like the sample relying party's client secret,
the password and each account's TOTP secret are derived from the deployment's secret key, so
the repository holds none and a deployment shows them to nobody while its demo is off.  The
page shows the one-time code to type now, never the TOTP secret: once the demo is turned off,
nobody who saw the page can go on making codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from kiban.core.config import Settings
from kiban.core.crypto import secret_key
from kiban.core.tenancy import StaffRole
from kiban.identity.credentials import (
    TOTP_DRIFT_STEPS,
    SecretBox,
    time_step,
    totp_box,
    totp_code,
)
from kiban.identity.staff.models import ROLE_LABELS, StaffAccount
from kiban.identity.staff.repository import StaffRepository
from kiban.identity.staff.service import StaffService
from kiban.registry.localgov.repository import LocalGovernmentRepository
from kiban.residents.synthetic import DEMO_MUNICIPALITIES

DEMO_ACTOR = "system:demo-staff"  # who the audit trail says made and restored them


def demo_login_id(role: StaffRole) -> str:
    return f"demo-{role.value}"


def _derived(settings: Settings, purpose: str) -> bytes:
    message = f"kiban/demo/staff/{purpose}/v1".encode("ascii")
    return hmac.new(secret_key(settings), message, hashlib.sha256).digest()


def demo_password(settings: Settings) -> str:
    """The password of every demo account: 16 letters and digits, in groups of four."""
    text = base64.b32encode(_derived(settings, "password")).decode("ascii").lower()[:16]
    return "-".join(text[start : start + 4] for start in range(0, 16, 4))


def demo_totp_secret(settings: Settings, tenant_code: str, role: StaffRole) -> str:
    """The account's TOTP secret: 160 bits in base32, as authenticator apps take them."""
    digest = _derived(settings, f"totp/{tenant_code}/{role.value}")
    return base64.b32encode(digest[:20]).decode("ascii")


def _is_ready(account: StaffAccount, role: StaffRole, secret: str, box: SecretBox) -> bool:
    """Whether the account signs in as the demo page says: its role, enabled, set up, with
    the derived TOTP secret (a visitor signed in as the demo admin may have changed any)."""
    return (
        account.roles == role.value
        and account.disabled_at is None
        and not account.needs_setup
        and account.totp_secret_sealed is not None
        and hmac.compare_digest(
            box.open(account.totp_secret_sealed, account.credential_context()), secret
        )
    )


def _enrol(account: StaffAccount, box: SecretBox, secret: str, now: datetime) -> None:
    """Finish the account's set-up as its first sign-in would, with the derived secret."""
    account.password_must_change = False
    account.totp_secret_sealed = box.seal(secret, account.credential_context())
    account.totp_enrolled_at = now
    account.totp_last_step = None


def seed_demo_staff(
    session: Session, settings: Settings, tenant_codes: tuple[str, ...] = DEMO_MUNICIPALITIES
) -> int:
    """Bring the demo staff of the (enabled) demo tenants in line with the demo flag: ready to
    sign in with when it is on, disabled when it is off.  How many accounts it changed."""
    box, now, password = totp_box(settings), datetime.now(UTC), demo_password(settings)
    changed = 0
    for tenant_code in tenant_codes:
        service = StaffService(session, tenant_code, actor=DEMO_ACTOR)
        for role in StaffRole:
            account = service.repository.by_login_id(demo_login_id(role))
            if not settings.demo_wallet:
                if account is not None and account.disabled_at is None:
                    service.disable(account.staff_id)
                    changed += 1
                continue
            secret = demo_totp_secret(settings, tenant_code, role)
            if account is None:
                name = f"デモ職員（{ROLE_LABELS[role]}）"
                account = service.create(demo_login_id(role), name, [role], password).account
            elif _is_ready(account, role, secret, box):
                continue
            else:
                service.set_roles(account.staff_id, [role])
                service.reset(account.staff_id, password)  # enables it again, too
            _enrol(account, box, secret, now)
            changed += 1
    session.flush()
    return changed


@dataclass(frozen=True, slots=True)
class DemoStaffMember:
    login_id: str
    role_label: str
    code: str | None  # the one-time code to type now; None while there is none to give


@dataclass(frozen=True, slots=True)
class DemoTenant:
    tenant_code: str
    name: str
    members: list[DemoStaffMember]


def _code_to_type(account: StaffAccount, secret: str, now: datetime) -> str | None:
    """The code of the current time step or, when another visitor has just used it, of the
    next one, which sign-in accepts too (one step of drift); None if both are used."""
    current = time_step(now)
    last = account.totp_last_step
    step = current if last is None else max(current, last + 1)
    return totp_code(secret, step) if step <= current + TOTP_DRIFT_STEPS else None


def demo_staff(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> list[DemoTenant]:
    """For the demo page: each demo tenant's demo accounts with the code to sign in with now."""
    box, now = totp_box(settings), now or datetime.now(UTC)
    governments = LocalGovernmentRepository(session)
    tenants = []
    for tenant_code in DEMO_MUNICIPALITIES:
        accounts = StaffRepository(session, tenant_code)
        members = []
        for role in StaffRole:
            account = accounts.by_login_id(demo_login_id(role))
            if account is None:
                continue
            secret = demo_totp_secret(settings, tenant_code, role)
            ready = _is_ready(account, role, secret, box)
            code = _code_to_type(account, secret, now) if ready else None
            members.append(DemoStaffMember(account.login_id, ROLE_LABELS[role], code))
        if members:
            government = governments.get(tenant_code)
            tenants.append(DemoTenant(tenant_code, government.name if government else "", members))
    return tenants
