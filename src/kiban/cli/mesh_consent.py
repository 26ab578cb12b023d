"""``kiban mesh consent …``: consent artefacts, for the registry operator.

``list`` prints a local government's consents as CSV, revoked and spent ones included;
``revoke`` withdraws one for the person when they cannot themselves — on a court's order, say
— with the reason kept in the consent.  Residents revoke their own on the portal.
"""

from __future__ import annotations

import csv
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.core.errors import ProblemError
from kiban.identity.ca.service import as_utc
from kiban.mesh.consent.repository import ConsentQuery
from kiban.mesh.consent.service import ConsentService
from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberClass, MemberId

# Whoever runs kiban on the registry's server: the registry operator.
OPERATOR = "operator"

app = typer.Typer(no_args_is_help=True)

_HEADER = [
    "consent",
    "subject",
    "consumer",
    "service",
    "items",
    "purpose",
    "explanation",
    "kind",
    "status",
    "valid_from",
    "valid_until",
    "granted_at",
    "revoked_at",
    "revoked_by",
    "revocation_reason",
    "used_at",
    "used_message_id",
    "use_count",
    "last_used_at",
]


def _provider(text: str) -> str:
    """The tenant code of ``text``, a local government's member identifier."""
    try:
        member = MemberId.parse(text)
    except InvalidMeshIdentifier as error:
        raise CliError(f"--provider: {error}") from None
    if member.member_class is not MemberClass.LG:
        raise CliError(
            f"--provider: consents are given for local governments' data: JP/LG/…, not {member}"
        )
    return member.code


def _iso(moment: datetime | None) -> str:
    return as_utc(moment).isoformat() if moment else ""


@app.command("list")
def list_consents(
    provider: Annotated[
        str,
        typer.Option("--provider", help="The local government whose data, e.g. JP/LG/131016"),
    ],
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only this person's: their 宛名番号")
    ] = None,
) -> None:
    """Print a local government's consents as CSV, newest first / 同意の一覧 (CSV)."""
    query = ConsentQuery(_provider(provider), subject)
    now = datetime.now(UTC)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(_HEADER)
    with cli_session() as session:
        for view in ConsentService(session).stream(query):
            consent = view.consent
            writer.writerow(
                [
                    consent.id,
                    consent.addressee_number,
                    str(consent.consumer),
                    str(consent.service),
                    "; ".join(consent.operations),
                    consent.purpose,
                    consent.explanation,
                    consent.kind,
                    consent.status(now).value,
                    _iso(consent.valid_from),
                    consent.valid_until.isoformat(),
                    _iso(consent.granted_at),
                    _iso(consent.revoked_at),
                    consent.revoked_by or "",
                    consent.revocation_reason or "",
                    _iso(consent.used_at),
                    consent.used_message_id or "",
                    consent.use_count,
                    _iso(consent.last_used_at),
                ]
            )


@app.command("revoke")
def revoke(
    consent: Annotated[str, typer.Argument(metavar="ID", help="The consent's identifier")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the person / 理由")],
) -> None:
    """Revoke a consent for the person, saying why / 同意を取り消す."""
    try:
        consent_id = str(uuid.UUID(consent.strip()))
    except ValueError:
        raise CliError(f"{consent.strip()!r} is not a consent's identifier (a UUID)") from None
    try:
        with cli_session() as session:
            ConsentService(session).revoke(consent_id, actor=OPERATOR, reason=reason)
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    typer.echo(f"{consent_id}: revoked / 取り消しました")
