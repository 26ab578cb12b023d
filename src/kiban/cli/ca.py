"""``kiban ca …``: set up the certificate authority, show it, revoke certificates."""

from __future__ import annotations

from typing import Annotated

import typer
from cryptography import x509

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.core.config import get_settings
from kiban.core.errors import ProblemError
from kiban.identity.ca.authority import (
    Authority,
    AuthorityKeyError,
    AuthorityNotInitialised,
    ensure_authority,
    fingerprint,
    load_authority,
)
from kiban.identity.ca.models import RevocationReason
from kiban.identity.ca.service import CertificateRegister

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS

OPERATOR = "operator:cli"


def _describe(label: str, certificate: x509.Certificate) -> None:
    typer.echo(f"{label}:")
    typer.echo(f"  subject:     {certificate.subject.rfc4514_string()}")
    typer.echo(f"  issuer:      {certificate.issuer.rfc4514_string()}")
    typer.echo(f"  serial:      {certificate.serial_number:x}")
    typer.echo(f"  not before:  {certificate.not_valid_before_utc.isoformat()}")
    typer.echo(f"  not after:   {certificate.not_valid_after_utc.isoformat()}")
    typer.echo(f"  sha256:      {fingerprint(certificate)}")


def _show(authority: Authority) -> None:
    _describe("root CA / ルート認証局", authority.root)
    _describe("issuing CA / 発行局", authority.issuing)


@app.command()
def init() -> None:
    """Create the root and issuing CA, once; running it again changes nothing."""
    try:
        with cli_session() as session:
            authority, created = ensure_authority(session, get_settings())
    except AuthorityKeyError as error:
        raise CliError(str(error)) from None
    state = "created / 作成しました" if created else "already set up / 作成済みです"
    typer.echo(f"certificate authority {state}", err=True)
    _show(authority)


@app.command()
def show() -> None:
    """Print the CA certificates: subjects, validity and SHA-256 fingerprints."""
    try:
        with cli_session() as session:
            authority = load_authority(session)
    except AuthorityNotInitialised as error:
        raise CliError(str(error)) from None
    _show(authority)


@app.command()
def revoke(
    serial: Annotated[str, typer.Argument(metavar="SERIAL", help="Serial number, hex")],
    reason: Annotated[
        RevocationReason, typer.Option("--reason", help="RFC 5280 reason", case_sensitive=False)
    ],
) -> None:
    """Revoke a certificate at once; the CRL and OCSP say so from now on."""
    try:
        with cli_session() as session:
            record = CertificateRegister(session).revoke(serial, reason, actor=OPERATOR)
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    typer.echo(f"certificate {record.serial_number} ({record.kind}) revoked / 失効しました")
