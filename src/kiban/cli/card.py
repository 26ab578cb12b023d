"""``kiban card …``: issue a virtual card, approve a sign-in with it, report it lost.

Secrets are never taken as command-line arguments (they would end up in shell history and
``ps``).  Each comes, in this order, from a file option, an environment variable for
scripts, or a hidden prompt:

- the 4-digit PIN: ``--pin-file FILE``, ``KIBAN_CARD_PIN``, prompt;
- the signing password (6–16 of A–Z, 0–9): ``--password-file FILE``, ``KIBAN_CARD_PASSWORD``,
  prompt.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import httpx2
import typer
from cryptography.hazmat.primitives import serialization

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.core.config import get_settings
from kiban.core.errors import ProblemError
from kiban.identity.ca.authority import AuthorityKeyError, AuthorityNotInitialised
from kiban.identity.ca.models import CertificateKind, RevocationReason
from kiban.identity.ca.service import CertificateRegister
from kiban.identity.card.issuance import card_folder_rolled_back, issue_card, signing_eligible
from kiban.identity.card.protocol import (
    b64url,
    display_code,
    normalise_code,
    origin_of,
    pin_error,
    signin_message,
    signing_password_error,
)
from kiban.identity.card.virtual import (
    CardError,
    CardLocked,
    VirtualCard,
    check_new_card_directory,
)

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS

PIN_ENV = "KIBAN_CARD_PIN"
PASSWORD_ENV = "KIBAN_CARD_PASSWORD"
COUNTER = "operator:cli"

TenantOption = Annotated[
    str, typer.Option("--tenant", metavar="CODE", help="全国地方公共団体コード")
]
ResidentOption = Annotated[
    str, typer.Option("--resident", metavar="ADDRESSEE_NO", help="宛名番号 (10 digits)")
]
PinFileOption = Annotated[
    Path | None,
    typer.Option(
        "--pin-file",
        help=f"Read the PIN from this file (else ${PIN_ENV}, else a prompt)",
    ),
]


def _check_record(tenant: str, resident: str) -> None:
    if not re.fullmatch(r"\d{6}", tenant):
        raise CliError("--tenant must be a 6-digit local government code / 団体コードは6桁です")
    if not re.fullmatch(r"\d{10}", resident):
        raise CliError("--resident must be a 10-digit 宛名番号 / 宛名番号は10桁です")


def _secret(
    file: Path | None, env: str, prompt: str, check: Callable[[str], str | None], *, confirm: bool
) -> str:
    """A secret from its file, its environment variable or a hidden prompt, checked."""
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as unreadable:
            raise CliError(f"cannot read {file}: {unreadable.strerror}") from None
        value = lines[0].strip() if lines else ""
    elif os.environ.get(env):
        value = os.environ[env].strip()
    else:
        value = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    problem: str | None = check(value)
    if problem:
        raise CliError(problem)
    return str(value)


@app.command()
def issue(
    tenant: TenantOption,
    resident: ResidentOption,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="A new folder for the card")],
    pin_file: PinFileOption = None,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help=f"Read the signing password from this file (else ${PASSWORD_ENV}, else a prompt)",
        ),
    ] = None,
) -> None:
    """Issue a resident's card: new keys, both certificates, written to DIR / カードを発行する."""
    _check_record(tenant, resident)
    try:
        check_new_card_directory(out)
    except CardError as error:
        raise CliError(str(error)) from None
    pin = _secret(
        pin_file, PIN_ENV, "暗証番号（数字4桁） / PIN (4 digits)", pin_error, confirm=True
    )
    settings = get_settings()
    try:
        with card_folder_rolled_back(out), cli_session() as session:
            password = None
            if signing_eligible(session, tenant, resident):
                password = _secret(
                    password_file,
                    PASSWORD_ENV,
                    "署名用パスワード（英大文字と数字6〜16文字） / Signing password",
                    signing_password_error,
                    confirm=True,
                )
            issued = issue_card(
                session,
                settings,
                tenant,
                resident,
                out,
                pin=pin,
                signing_password=password,
                actor=COUNTER,
            )
    except (CardError, AuthorityNotInitialised, AuthorityKeyError) as error:
        raise CliError(str(error)) from None
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    certificates = issued.certificates
    typer.echo(f"card written to {out} / カードを発行しました")
    typer.echo(f"  authentication certificate: {certificates.authentication.record.serial_number}")
    if certificates.signing is None:
        typer.echo("  signing certificate: none (under 15) / 署名用証明書なし（15歳未満）")
    else:
        typer.echo(f"  signing certificate:        {certificates.signing.record.serial_number}")


class LossReason(StrEnum):
    LOST = "lost"
    STOLEN = "stolen"
    REPLACED = "replaced"


_LOSS_REASONS = {
    LossReason.LOST: RevocationReason.KEY_COMPROMISE,
    LossReason.STOLEN: RevocationReason.KEY_COMPROMISE,
    LossReason.REPLACED: RevocationReason.SUPERSEDED,
}


@app.command()
def revoke(
    tenant: TenantOption,
    resident: ResidentOption,
    reason: Annotated[LossReason, typer.Option("--reason", help="Why the card stops")],
) -> None:
    """Stop a resident's card (both certificates), e.g. reported lost / カードの一時停止・失効."""
    _check_record(tenant, resident)
    with cli_session() as session:
        revoked = CertificateRegister(session).revoke_resident(
            tenant,
            resident,
            (CertificateKind.AUTHENTICATION, CertificateKind.SIGNING),
            _LOSS_REASONS[reason],
            actor=COUNTER,
        )
    if not revoked:
        raise CliError("no valid certificate for this resident / 有効な証明書がありません")
    for record in revoked:
        typer.echo(f"certificate {record.serial_number} ({record.kind}) revoked / 失効しました")


def _server_and_code(code: str, server: str | None) -> tuple[str, str]:
    """The code, and the server: given, from the QR code's URL, or the configured one."""
    typed = code
    if code.startswith(("http://", "https://")):
        parts = urlsplit(code)
        typed = parts.path.rstrip("/").rsplit("/", 1)[-1]
        server = server or origin_of(code)
    normalised = normalise_code(typed)
    if normalised is None:
        raise CliError("a sign-in code is 8 letters and digits, e.g. ABCD-2345 / コードが不正です")
    try:
        return origin_of(server or get_settings().public_url), normalised
    except ValueError as error:
        raise CliError(str(error)) from None


def _refusal(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"the server answered {response.status_code}"
    detail = body.get("detail") or body.get("title") if isinstance(body, dict) else None
    return f"{detail} ({response.status_code})" if detail else f"HTTP {response.status_code}"


@app.command()
def approve(
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="The code the browser shows, or the QR code's URL")
    ],
    card: Annotated[Path, typer.Option("--card", metavar="DIR", help="The card folder")],
    server: Annotated[
        str | None, typer.Option("--server", metavar="URL", help="Default: KIBAN_PUBLIC_URL")
    ] = None,
    pin_file: PinFileOption = None,
) -> None:
    """Approve a browser's card sign-in: sign its challenge with the card / サインインを承認する."""
    origin, code = _server_and_code(code, server)
    try:
        virtual_card = VirtualCard(card)
    except CardError as error:
        raise CliError(str(error)) from None
    if virtual_card.locked:
        raise CliError(str(CardLocked()))
    try:
        with httpx2.Client(base_url=origin, timeout=10) as client:
            found = client.get(f"/card/signin-requests/{code}")
            if found.status_code != 200:
                raise CliError(f"cannot approve {display_code(code)}: {_refusal(found)}")
            signin = found.json()
            typer.echo(
                f"承認する内容 / You approve: {signin['service']} — {origin},"
                f" code {display_code(code)}, expires {signin['expires_at']}",
                err=True,
            )
            pin = _secret(pin_file, PIN_ENV, "暗証番号 / PIN", pin_error, confirm=False)
            message = signin_message(origin, code, signin["challenge"])
            try:
                signature = virtual_card.sign(pin, message)
            except CardError as error:
                raise CliError(str(error)) from None
            certificate = virtual_card.authentication_certificate.public_bytes(
                serialization.Encoding.PEM
            )
            approved = client.post(
                f"/card/signin-requests/{code}/approval",
                json={"certificate": certificate.decode("ascii"), "signature": b64url(signature)},
            )
    except httpx2.HTTPError as error:
        raise CliError(
            f"cannot reach {origin}: {type(error).__name__} / サーバーに接続できません"
        ) from None
    if approved.status_code != 200:
        raise CliError(f"the server refused the approval: {_refusal(approved)}")
    typer.echo(f"approved {display_code(code)}; the browser signs in now / 承認しました")
