"""``kiban mesh tracker …``: the data tracker's records, for the registry operator.

``list`` prints a provider's records as CSV, hidden ones included; ``hide`` keeps one from
the person through a day while an investigation must not be tipped off.  A local government's
own supervisors do the same through the tenant API.
"""

from __future__ import annotations

import csv
import sys
import uuid
from datetime import date, datetime
from typing import Annotated

import typer

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.core.errors import ProblemError
from kiban.identity.ca.service import as_utc
from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberId
from kiban.mesh.tracker.repository import DataUseQuery
from kiban.mesh.tracker.service import TrackerService

# Whoever runs kiban on the registry's server: the registry operator.
OPERATOR = "operator"

app = typer.Typer(no_args_is_help=True)

ProviderOption = Annotated[
    str,
    typer.Option("--provider", help="The member whose systems gave the data, e.g. JP/LG/131016"),
]

_HEADER = [
    "message_id",
    "used_at",
    "subject",
    "service",
    "client",
    "user_id",
    "purpose",
    "legal_basis",
    "received_at",
    "hidden_until",
    "hidden_reason",
    "hidden_by",
]


def _provider(text: str) -> MemberId:
    try:
        return MemberId.parse(text)
    except InvalidMeshIdentifier as error:
        raise CliError(str(error)) from None


def _message_id(text: str) -> str:
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        raise CliError(f"--message-id: {text.strip()!r} is not a UUID") from None


def _iso(moment: datetime) -> str:
    return as_utc(moment).isoformat()


@app.command("list")
def list_uses(
    provider: ProviderOption,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only this person's, e.g. a 宛名番号")
    ] = None,
) -> None:
    """Print a provider's records as CSV, newest first, hidden ones too / 記録の一覧 (CSV)."""
    query = DataUseQuery(provider=_provider(provider), subject=subject)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(_HEADER)
    with cli_session() as session:
        for view in TrackerService(session).stream(query):
            record = view.record
            writer.writerow(
                [
                    record.message_id,
                    _iso(record.used_at),
                    record.subject,
                    str(record.service),
                    str(record.client),
                    record.user_id or "",
                    record.purpose,
                    record.legal_basis,
                    _iso(record.received_at),
                    record.hidden_until.isoformat() if record.hidden_until else "",
                    record.hidden_reason or "",
                    record.hidden_by or "",
                ]
            )


@app.command("hide")
def hide(
    provider: ProviderOption,
    message_id: Annotated[str, typer.Option("--message-id", help="The record's message id")],
    until: Annotated[
        datetime,
        typer.Option(
            "--until",
            formats=["%Y-%m-%d"],
            help="The last day it is hidden (Japan time), e.g. 2027-03-31",
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the auditors / 理由")],
) -> None:
    """Hide a record from the person through a day / 本人への表示を一定の日まで止める."""
    member, record = _provider(provider), _message_id(message_id)
    last_day: date = until.date()
    try:
        with cli_session() as session:
            TrackerService(session).hide(
                member, record, until=last_day, reason=reason, actor=OPERATOR
            )
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    typer.echo(
        f"{member} {record}: hidden from the person through {last_day}"
        f" / {last_day}まで本人に表示しません"
    )
