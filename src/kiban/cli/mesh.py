"""``kiban mesh …``: the central registry, for its operator.

An organisation asks to join (``member request``), the operator approves or rejects it; then
the same for each of its subsystems.  An approved member's gateway gets its certificate
(``member certificate``) and its addresses (``member gateway``); providers publish services
and grant access rights to them.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from cryptography import x509
from sqlalchemy.orm import Session

from kiban.cli.context import cli_session
from kiban.cli.errors import CliError
from kiban.cli.mesh_consent import app as consent_app
from kiban.cli.mesh_log import app as log_app
from kiban.cli.mesh_tracker import app as tracker_app
from kiban.core.config import get_settings
from kiban.core.errors import ProblemError
from kiban.identity.ca.authority import AuthorityNotInitialised
from kiban.mesh.configuration import ConfigurationRejected, publish, verify_configuration
from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberId, ServiceId, SubsystemId
from kiban.mesh.providers.catalogue import publish_standard
from kiban.mesh.providers.keys import ProviderKeyService
from kiban.mesh.registry.access import AccessService, Endpoint, Grantee
from kiban.mesh.registry.models import (
    GrantedTo,
    MeshMember,
    MeshSubsystem,
    RegistrationStatus,
    service_id_of,
)
from kiban.mesh.registry.service import RegistryService

# Whoever runs kiban on the registry's server: the registry operator.
OPERATOR = "operator"

app = typer.Typer(no_args_is_help=True)  # its help is in kiban.cli.COMMANDS
member_app = typer.Typer(no_args_is_help=True, help="Members / メンバー (組織)")
subsystem_app = typer.Typer(no_args_is_help=True, help="Subsystems / サブシステム")
service_app = typer.Typer(no_args_is_help=True, help="Services / サービス")
app.add_typer(member_app, name="member")
app.add_typer(subsystem_app, name="subsystem")
app.add_typer(service_app, name="service")

Parsed = TypeVar("Parsed", MemberId, SubsystemId, ServiceId)
Service = TypeVar("Service", RegistryService, AccessService)

MemberArgument = Annotated[
    str, typer.Argument(metavar="MEMBER", help="JP/{GOV|LG|PUB|COM}/{code}, e.g. JP/LG/131016")
]
SubsystemArgument = Annotated[
    str,
    typer.Argument(
        metavar="SUBSYSTEM", help="JP/{class}/{code}/{subsystem}, e.g. JP/LG/131016/juki"
    ),
]
ServiceArgument = Annotated[
    str,
    typer.Argument(
        metavar="SERVICE",
        # Rich reads [/…] as markup: the bracket is escaped.
        help="JP/{class}/{code}/{subsystem}/{service}\\[/v{n}], e.g."
        " JP/LG/131016/juki/resident-certificate/v1",
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, for the organisation / 理由")]
StatusOption = Annotated[
    RegistrationStatus | None, typer.Option("--status", help="Only those in this state")
]


def _parsed(parse: Callable[[str], Parsed], text: str) -> Parsed:
    try:
        return parse(text)
    except InvalidMeshIdentifier as error:
        raise CliError(str(error)) from None


def _call(
    make: Callable[[Session], Service], work: Callable[[Service], str], *, quiet: bool = False
) -> None:
    """Run ``work`` in one unit of work and print its line (unless ``quiet``); a refusal
    is one line."""
    try:
        with cli_session() as session:
            line = work(make(session))
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    if not quiet:
        typer.echo(line)


def _registry_call(work: Callable[[RegistryService], str]) -> None:
    _call(RegistryService, work)


def _write_csv(header: list[str], rows: Iterable[list[str]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def _iso(moment: datetime) -> str:
    # SQLite hands back naive datetimes; kiban only ever stores UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _decision(row: MeshMember | MeshSubsystem) -> list[str]:
    return [
        row.status,
        _iso(row.requested_at),
        row.requested_by,
        _iso(row.decided_at) if row.decided_at else "",
        row.decided_by or "",
        row.decision_reason or "",
    ]


_DECISION_HEADER = [
    "status",
    "requested_at",
    "requested_by",
    "decided_at",
    "decided_by",
    "reason",
]


@member_app.command("request")
def request_member(
    member: MemberArgument,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The name, for GOV and PUB members / 名称 (GOV・PUB)"),
    ] = None,
) -> None:
    """Ask for an organisation to join the mesh / 組織の参加を申請する."""
    parsed = _parsed(MemberId.parse, member)
    _registry_call(
        lambda registry: (
            f"{parsed} {registry.request_member(parsed, requested_by=OPERATOR, name=name).name}:"
            " requested; waiting for approval / 申請しました(承認待ち)"
        )
    )


@member_app.command("approve")
def approve_member(member: MemberArgument) -> None:
    """Approve a member's request / 参加を承認する."""
    parsed = _parsed(MemberId.parse, member)
    _registry_call(
        lambda registry: (
            f"{registry.approve_member(parsed, operator=OPERATOR).name} ({parsed}):"
            " approved / 承認しました"
        )
    )


@member_app.command("reject")
def reject_member(member: MemberArgument, reason: ReasonOption) -> None:
    """Reject a member's request, saying why / 参加を却下する."""
    parsed = _parsed(MemberId.parse, member)
    _registry_call(
        lambda registry: (
            f"{registry.reject_member(parsed, operator=OPERATOR, reason=reason).name}"
            f" ({parsed}): rejected / 却下しました"
        )
    )


@member_app.command("certificate")
def member_certificate(
    member: MemberArgument,
    public_key: Annotated[
        Path, typer.Option("--public-key", help="The gateway's EC P-256 public key (PEM)")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the certificate and its chain here (PEM)"),
    ] = None,
) -> None:
    """Issue an approved member's gateway certificate / ゲートウェイの組織証明書を発行する."""
    parsed = _parsed(MemberId.parse, member)
    try:
        key_pem = public_key.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {public_key}: {error.strerror}") from None
    chain: list[bytes] = []

    def issue(registry: RegistryService) -> str:
        issued = registry.issue_certificate(
            parsed, key_pem, settings=get_settings(), actor=OPERATOR
        )
        chain.extend([issued.pem, registry.authority_chain_pem()])
        return f"{parsed}: certificate {issued.record.serial_number} issued / 発行しました"

    try:
        # Without --out, standard output is the certificate and its chain, nothing else.
        _call(RegistryService, issue, quiet=out is None)
    except AuthorityNotInitialised as error:
        raise CliError(str(error)) from None
    if out is None:
        typer.echo(b"".join(chain).decode("ascii"), nl=False)
        return
    try:
        out.write_bytes(b"".join(chain))
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None


@member_app.command("list")
def list_members(status: StatusOption = None) -> None:
    """Print the members as CSV / メンバーの一覧 (CSV)."""
    with cli_session() as session:
        members = RegistryService(session).members(status)
        rows = [
            [str(MemberId.of(row.member_class, row.member_code)), row.name, *_decision(row)]
            for row in members
        ]
    _write_csv(["member", "name", *_DECISION_HEADER], rows)


gateway_app = typer.Typer(no_args_is_help=True, help="Gateway addresses / ゲートウェイのアドレス")
member_app.add_typer(gateway_app, name="gateway")

AddressArgument = Annotated[
    str,
    typer.Argument(metavar="ADDRESS", help="https://HOST:PORT, e.g. https://127.0.0.1:5501"),
]


@gateway_app.command("add")
def add_gateway(member: MemberArgument, address: AddressArgument) -> None:
    """Register where an approved member's gateway is reached / ゲートウェイのアドレスを登録する."""
    parsed = _parsed(MemberId.parse, member)

    def add(registry: RegistryService) -> str:
        added = registry.add_gateway(parsed, address, actor=OPERATOR)
        return f"{parsed}: gateway {added.address} registered / 登録しました"

    _registry_call(add)


@gateway_app.command("remove")
def remove_gateway(member: MemberArgument, address: AddressArgument) -> None:
    """Take a gateway address off the register / ゲートウェイのアドレスを削除する."""
    parsed = _parsed(MemberId.parse, member)

    def remove(registry: RegistryService) -> str:
        registry.remove_gateway(parsed, address, actor=OPERATOR)
        return f"{parsed}: gateway {address.strip()} removed / 削除しました"

    _registry_call(remove)


@gateway_app.command("list")
def list_gateways(
    member: Annotated[
        str | None, typer.Option("--member", help="Only this member's, e.g. JP/LG/131016")
    ] = None,
) -> None:
    """Print the gateway addresses as CSV / ゲートウェイのアドレスの一覧 (CSV)."""
    of_member = _parsed(MemberId.parse, member) if member else None
    with cli_session() as session:
        rows = [
            [
                str(MemberId.of(row.member_class, row.member_code)),
                row.address,
                _iso(row.registered_at),
                row.registered_by,
            ]
            for row in RegistryService(session).gateways(of_member)
        ]
    _write_csv(["member", "address", "registered_at", "registered_by"], rows)


@subsystem_app.command("request")
def request_subsystem(subsystem: SubsystemArgument) -> None:
    """Ask for one of a member's subsystems / サブシステムの登録を申請する."""
    parsed = _parsed(SubsystemId.parse, subsystem)

    def request(registry: RegistryService) -> str:
        registry.request_subsystem(parsed, requested_by=OPERATOR)
        return f"{parsed}: requested; waiting for approval / 申請しました(承認待ち)"

    _registry_call(request)


@subsystem_app.command("approve")
def approve_subsystem(subsystem: SubsystemArgument) -> None:
    """Approve a subsystem; its member must be approved / サブシステムを承認する."""
    parsed = _parsed(SubsystemId.parse, subsystem)

    def approve(registry: RegistryService) -> str:
        registry.approve_subsystem(parsed, operator=OPERATOR)
        return f"{parsed}: approved / 承認しました"

    _registry_call(approve)


@subsystem_app.command("reject")
def reject_subsystem(subsystem: SubsystemArgument, reason: ReasonOption) -> None:
    """Reject a subsystem, saying why / サブシステムを却下する."""
    parsed = _parsed(SubsystemId.parse, subsystem)

    def reject(registry: RegistryService) -> str:
        registry.reject_subsystem(parsed, operator=OPERATOR, reason=reason)
        return f"{parsed}: rejected / 却下しました"

    _registry_call(reject)


@subsystem_app.command("list")
def list_subsystems(
    member: Annotated[
        str | None, typer.Option("--member", help="Only this member's, e.g. JP/LG/131016")
    ] = None,
    status: StatusOption = None,
) -> None:
    """Print the subsystems as CSV / サブシステムの一覧 (CSV)."""
    of_member = _parsed(MemberId.parse, member) if member else None
    with cli_session() as session:
        rows = [
            [
                f"{MemberId.of(row.member_class, row.member_code)}/{row.subsystem_code}",
                *_decision(row),
            ]
            for row in RegistryService(session).subsystems(of_member, status)
        ]
    _write_csv(["subsystem", *_DECISION_HEADER], rows)


@service_app.command("publish")
def publish_service(
    service: ServiceArgument,
    openapi: Annotated[
        Path, typer.Option("--openapi", help="Its OpenAPI 3 document, JSON or YAML")
    ],
    title: Annotated[str, typer.Option("--title", help="What it is / 名称")],
    personal_data: Annotated[
        bool,
        typer.Option(
            "--personal-data",
            help="Its answers carry a person's data / 個人情報を含む",
        ),
    ] = False,
) -> None:
    """Publish a service of an approved subsystem, or describe it anew / サービスを公開する."""
    parsed = _parsed(ServiceId.parse, service)
    try:
        document = openapi.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read {openapi}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{openapi} is not UTF-8 text") from None

    def publish(registry: RegistryService) -> str:
        registry.publish_service(
            parsed,
            title=title,
            openapi=document,
            personal_data=personal_data,
            published_by=OPERATOR,
        )
        return f"{parsed}: published / 公開しました"

    _registry_call(publish)


@service_app.command("list")
def list_services(
    subsystem: Annotated[
        str | None, typer.Option("--subsystem", help="Only this subsystem's")
    ] = None,
) -> None:
    """Print the services as CSV / サービスの一覧 (CSV)."""
    of_subsystem = _parsed(SubsystemId.parse, subsystem) if subsystem else None
    with cli_session() as session:
        rows = [
            [
                str(service_id_of(row)),
                row.title,
                "yes" if row.personal_data else "no",
                _iso(row.published_at),
                row.published_by,
            ]
            for row in RegistryService(session).services(of_subsystem)
        ]
    _write_csv(["service", "title", "personal_data", "published_at", "published_by"], rows)


@service_app.command("openapi")
def show_openapi(service: ServiceArgument) -> None:
    """Print a service's OpenAPI document (JSON) / OpenAPI 文書を表示する."""
    parsed = _parsed(ServiceId.parse, service)
    _registry_call(lambda registry: registry.service(parsed).openapi)


group_app = typer.Typer(no_args_is_help=True, help="Groups of subsystems / グループ")
access_app = typer.Typer(no_args_is_help=True, help="Access rights to services / アクセス権")
app.add_typer(group_app, name="group")
app.add_typer(access_app, name="access")

GroupArgument = Annotated[str, typer.Argument(metavar="GROUP", help="The group's code")]
OwnerOption = Annotated[
    str | None,
    typer.Option("--owner", help="The member whose local group it is; without it, a global group"),
]
GranteeArgument = Annotated[
    str,
    typer.Argument(
        metavar="TO",
        help="A subsystem (JP/LG/011002/tax), group:CODE or local-group:CODE",
    ),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint", help="One operation, e.g. 'GET /residents/{id}'; without it, all of them"
    ),
]
PurposesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--purpose",
        metavar="CODE",
        help="For a service with personal data: a purpose the right allows, e.g."
        " tax-assessment (one or more) / 利用目的",
    ),
]


def _access_call(work: Callable[[AccessService], str]) -> None:
    _call(AccessService, work)


def _owner_of(owner: str | None) -> MemberId | None:
    return _parsed(MemberId.parse, owner) if owner else None


@group_app.command("create")
def create_group(
    group: GroupArgument,
    description: Annotated[str, typer.Option("--description", help="What it gathers / 説明")],
    owner: OwnerOption = None,
) -> None:
    """Create a global group, or a member's local group / グループを作る."""
    of = _owner_of(owner)

    def create(access: AccessService) -> str:
        access.create_group(group, owner=of, description=description, actor=OPERATOR)
        return f"{group}: created / 作成しました"

    _access_call(create)


@group_app.command("add")
def add_to_group(
    group: GroupArgument, subsystem: SubsystemArgument, owner: OwnerOption = None
) -> None:
    """Add an approved subsystem to a group / グループに加える."""
    of, parsed = _owner_of(owner), _parsed(SubsystemId.parse, subsystem)

    def add(access: AccessService) -> str:
        access.add_to_group(group, parsed, owner=of, actor=OPERATOR)
        return f"{parsed}: added to {group} / 追加しました"

    _access_call(add)


@group_app.command("remove")
def remove_from_group(
    group: GroupArgument, subsystem: SubsystemArgument, owner: OwnerOption = None
) -> None:
    """Take a subsystem out of a group / グループから外す."""
    of, parsed = _owner_of(owner), _parsed(SubsystemId.parse, subsystem)

    def remove(access: AccessService) -> str:
        access.remove_from_group(group, parsed, owner=of, actor=OPERATOR)
        return f"{parsed}: removed from {group} / 外しました"

    _access_call(remove)


@group_app.command("show")
def show_group(group: GroupArgument, owner: OwnerOption = None) -> None:
    """Print a group's subsystems, one a line / グループの構成."""
    of = _owner_of(owner)
    _access_call(lambda access: "\n".join(str(s) for s in access.group_subsystems(group, owner=of)))


@access_app.command("grant")
def grant(
    service: ServiceArgument,
    to: GranteeArgument,
    endpoint: EndpointOption = None,
    purposes: PurposesOption = None,
) -> None:
    """Let a subsystem or a group call a service, or one operation of it / アクセス権を与える."""
    parsed = _parsed(ServiceId.parse, service)

    def give(access: AccessService) -> str:
        grantee, scope = Grantee.parse(to), Endpoint.parse(endpoint)
        right = access.grant(
            parsed, grantee, endpoint=scope, actor=OPERATOR, purposes=purposes or ()
        )
        allowed = f" for {', '.join(right.purposes.split())}" if right.purposes else ""
        return f"{grantee} may call {scope} of {parsed}{allowed} / アクセス権を与えました"

    _access_call(give)


@access_app.command("revoke")
def revoke(service: ServiceArgument, to: GranteeArgument, endpoint: EndpointOption = None) -> None:
    """Take a right back / アクセス権を取り消す."""
    parsed = _parsed(ServiceId.parse, service)

    def take_back(access: AccessService) -> str:
        grantee, scope = Grantee.parse(to), Endpoint.parse(endpoint)
        access.revoke(parsed, grantee, endpoint=scope, actor=OPERATOR)
        return f"{grantee} may no longer call {scope} of {parsed} / 取り消しました"

    _access_call(take_back)


@access_app.command("list")
def list_rights(service: ServiceArgument) -> None:
    """Print a service's access rights as CSV / アクセス権の一覧 (CSV)."""
    parsed = _parsed(ServiceId.parse, service)
    with cli_session() as session:
        rows = [
            [
                str(Endpoint(row.method, row.path)),
                str(Grantee(GrantedTo(row.granted_to), row.subject)),
                row.purposes,
                _iso(row.granted_at),
                row.granted_by,
            ]
            for row in AccessService(session).rights(parsed)
        ]
    _write_csv(["endpoint", "to", "purposes", "granted_at", "granted_by"], rows)


@access_app.command("check")
def check(
    client: Annotated[str, typer.Argument(metavar="CLIENT", help="The calling subsystem")],
    service: ServiceArgument,
    method: Annotated[str, typer.Argument(metavar="METHOD")],
    path: Annotated[str, typer.Argument(metavar="PATH")],
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", metavar="CODE", help="The call's purpose / 利用目的"),
    ] = None,
) -> None:
    """Say whether a subsystem may make a call, as the provider's gateway will; exit 1 when
    not / 呼び出せるか確かめる."""
    caller, parsed = _parsed(SubsystemId.parse, client), _parsed(ServiceId.parse, service)
    with cli_session() as session:
        decision = AccessService(session).decide(caller, parsed, method, path, purpose)
    if decision.allowed:
        typer.echo(f"allowed / 可: {decision.detail}")
        return
    typer.echo(f"denied / 不可 ({decision.problem}): {decision.detail}")
    raise typer.Exit(1)


configuration_app = typer.Typer(
    no_args_is_help=True, help="The signed global configuration / グローバル設定"
)
app.add_typer(configuration_app, name="configuration")
app.add_typer(log_app, name="log", help="Gateway message logs / メッセージログ")
app.add_typer(tracker_app, name="tracker", help="Data tracker / 情報提供等記録")
app.add_typer(consent_app, name="consent", help="Consent artefacts / 同意")


@configuration_app.command("export")
def export_configuration(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write it here instead of standard output")
    ] = None,
) -> None:
    """Sign the global configuration as it is now (a compact JWS) / 署名して書き出す."""
    try:
        with cli_session() as session:
            token = publish(session, get_settings())
    except AuthorityNotInitialised as error:
        raise CliError(str(error)) from None
    if out is None:
        typer.echo(token)
        return
    try:
        out.write_text(token + "\n", encoding="ascii")
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None


@configuration_app.command("verify")
def verify_configuration_file(
    configuration: Annotated[Path, typer.Argument(metavar="FILE", help="A compact JWS")],
    root: Annotated[
        Path, typer.Option("--root", help="The trusted root CA certificate (PEM, /ca/root.pem)")
    ],
) -> None:
    """Check a configuration as a gateway does; exit 1 when it must not be used / 検証する."""
    try:
        token = configuration.read_text(encoding="ascii")
    except OSError as error:
        raise CliError(f"cannot read {configuration}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{configuration} is not a compact JWS (ASCII text)") from None
    try:
        trusted = x509.load_pem_x509_certificate(root.read_bytes())
    except OSError as error:
        raise CliError(f"cannot read {root}: {error.strerror}") from None
    except ValueError:
        raise CliError(f"{root} is not a PEM certificate") from None
    try:
        verified = verify_configuration(token, trusted)
    except ConfigurationRejected as error:
        raise CliError(f"rejected: {error}", exit_code=1) from None
    content = verified.content
    typer.echo(
        f"valid until {verified.expires_at.isoformat()}: {len(content['members'])} members,"
        f" {len(content['subsystems'])} subsystems, {len(content['services'])} services,"
        f" {len(content['rights'])} access rights, {len(content['gateways'])} gateway addresses"
        " / 有効"
    )


# The standard services kiban provides ---------------------------------------------------------

services_app = typer.Typer(
    no_args_is_help=True, help="The standard services kiban provides / kibanの標準サービス"
)
provider_key_app = typer.Typer(
    no_args_is_help=True, help="Keys of national providers' gateways / 提供システムの鍵"
)
app.add_typer(services_app, name="services")
services_app.add_typer(provider_key_app, name="key")


@services_app.command("publish-standard")
def publish_standard_services(member: MemberArgument) -> None:
    """Publish the services kiban provides for a tenant, or for the national tax agency, and
    say where its gateway reaches them / 標準サービスを公開する."""
    parsed = _parsed(MemberId.parse, member)
    public_url = get_settings().public_url.rstrip("/")

    def publish(registry: RegistryService) -> str:
        published = publish_standard(registry.session, parsed, published_by=OPERATOR)
        return "\n".join(
            f"{entry.service}: published at {public_url}{entry.path} / 公開しました"
            for entry in published
        )

    _registry_call(publish)


@provider_key_app.command("create")
def create_provider_key(
    member: MemberArgument,
    name: Annotated[str, typer.Option("--name", help="What the key is for, e.g. gateway")],
) -> None:
    """Issue a key for a national provider's gateway; the token is printed once / 鍵を発行する."""
    parsed = _parsed(MemberId.parse, member)
    try:
        with cli_session() as session:
            issued = ProviderKeyService(session).create(parsed, name, actor=OPERATOR)
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    print(
        f"key {issued.key_id} created; keep this token now, it is not shown again"
        " / トークンは再表示できません",
        file=sys.stderr,
    )
    typer.echo(issued.token)


@provider_key_app.command("revoke")
def revoke_provider_key(
    member: MemberArgument,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key id shown at creation")],
) -> None:
    """Revoke a provider key at once / 鍵を失効させる."""
    parsed = _parsed(MemberId.parse, member)
    try:
        with cli_session() as session:
            ProviderKeyService(session).revoke(parsed, key_id, actor=OPERATOR)
    except ProblemError as error:
        raise CliError(error.detail or error.title) from None
    typer.echo(f"{parsed}: key {key_id} revoked / 失効しました")


@provider_key_app.command("list")
def list_provider_keys(member: MemberArgument) -> None:
    """Print a member's provider keys as CSV, never their secrets / 鍵の一覧 (CSV)."""
    parsed = _parsed(MemberId.parse, member)
    with cli_session() as session:
        rows = [
            [
                key.key_id,
                key.name,
                _iso(key.created_at),
                key.created_by,
                _iso(key.revoked_at) if key.revoked_at else "",
            ]
            for key in ProviderKeyService(session).keys(parsed)
        ]
    _write_csv(["key_id", "name", "created_at", "created_by", "revoked_at"], rows)
