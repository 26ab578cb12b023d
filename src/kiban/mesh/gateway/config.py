"""A gateway's set-up: its home directory, its settings file and its keys.

Each organisation runs its own gateway, with its own key, certificate and message log, in a
directory of its own::

    DIR/gateway.toml     settings (see :class:`GatewaySettings`)
    DIR/gateway.key      the gateway's EC P-256 private key, PEM (readable by the gateway only)
    DIR/gateway.pem      its organisation certificate, then the issuing CA's, from the registry
    DIR/root.pem         the one root CA the gateway trusts, copied out of band
    DIR/log.key          32 random bytes that encrypt the message bodies the log keeps
    DIR/maintenance      while present, the gateway refuses new exchanges; it holds the reason

``kiban gateway init`` makes the key, ``log.key`` and the settings; the registry operator
certifies the public key (``kiban mesh member certificate``) and the result is copied to
``gateway.pem``.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from kiban.identity.ca.service import serial_hex
from kiban.mesh.identifiers import InvalidMeshIdentifier, MemberId, ServiceId

SETTINGS_FILE = "gateway.toml"
KEY_FILE = "gateway.key"
PUBLIC_KEY_FILE = "gateway.pub"
CERTIFICATE_FILE = "gateway.pem"
ROOT_FILE = "root.pem"
LOG_KEY_FILE = "log.key"
DATABASE_FILE = "gateway.sqlite3"
MAINTENANCE_FILE = "maintenance"  # present while the gateway is in maintenance: the reason
LOOPBACK = ("127.0.0.0/8", "::1/128")


class GatewaySetupError(ValueError):
    """The gateway cannot start as set up; the message says what to fix, on one line."""


def _member(text: str) -> str:
    try:
        return str(MemberId.parse(text))
    except InvalidMeshIdentifier as error:
        raise ValueError(str(error)) from None


def _backend(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"a provider system's address is an http(s) URL, not {url!r}")
    return url.rstrip("/")


class Backend(BaseModel):
    """A provider system that wants to be told who calls: its URL and the file holding the
    bearer token it expects (a tenant API key of kiban's own services, say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, AfterValidator(_backend)]
    token_file: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderSystem:
    """Where a service's calls go, and the headers that authenticate the gateway there."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()


class GatewaySettings(BaseModel):
    """``gateway.toml``.  Paths are relative to the gateway's directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    member: Annotated[str, AfterValidator(_member)]
    registry_url: str = Field(
        pattern=r"^https?://[^/?#]+$",
        description="Where the registry publishes the global configuration (…/mesh/configuration)",
    )
    database_url: str = Field(default="", description="Empty: gateway.sqlite3 in the directory")
    host: str = Field(default="127.0.0.1", description="The consumer interface, for our systems")
    port: int = Field(default=8080, ge=0, le=65535)
    mesh_host: str = Field(default="127.0.0.1", description="The interface other gateways call")
    mesh_port: int = Field(default=5500, ge=0, le=65535)
    allow_from: tuple[str, ...] = Field(
        default=LOOPBACK, description="Networks whose systems may call the consumer interface"
    )
    keep_bodies: bool = Field(default=False, description="Keep message bodies in the log")
    configuration_interval: float = Field(default=60, gt=0, le=600)
    request_timeout: float = Field(default=30, gt=0, le=600)
    # The provider systems behind this gateway: service identifier → base URL, or a table
    # with the URL and a token file.
    services: dict[str, Annotated[str, AfterValidator(_backend)] | Backend] = Field(
        default_factory=dict
    )

    @field_validator("allow_from")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value

    @field_validator("services")
    @classmethod
    def _service_ids(cls, value: dict[str, str | Backend]) -> dict[str, Backend]:
        return {
            str(ServiceId.parse(service)): Backend(url=url) if isinstance(url, str) else url
            for service, url in value.items()
        }

    def member_id(self) -> MemberId:
        return MemberId.parse(self.member)

    def networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(network, strict=False) for network in self.allow_from)

    def backends(self) -> dict[ServiceId, Backend]:
        return {
            ServiceId.parse(service): Backend(url=backend) if isinstance(backend, str) else backend
            for service, backend in self.services.items()
        }


@dataclass(frozen=True, slots=True)
class GatewayKeys:
    """The gateway's private key with its certificate chain, and the root it trusts."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # the certificate, then the issuing CA's
    root: x509.Certificate
    log_key: bytes

    @property
    def serial(self) -> str:
        return serial_hex(self.certificate.serial_number)


@dataclass(frozen=True, slots=True)
class Gateway:
    """Everything a gateway process starts from."""

    directory: Path
    settings: GatewaySettings
    keys: GatewayKeys
    providers: dict[ServiceId, ProviderSystem]

    @property
    def member(self) -> MemberId:
        return self.settings.member_id()

    @property
    def database_url(self) -> str:
        return self.settings.database_url or f"sqlite:///{self.directory / DATABASE_FILE}"

    def path(self, name: str) -> Path:
        return self.directory / name


def load_settings(directory: Path, **overrides: Any) -> GatewaySettings:
    """``DIR/gateway.toml``, with ``overrides`` (from the command line) applied."""
    path = directory / SETTINGS_FILE
    try:
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GatewaySetupError(
            f"{path} does not exist: run `kiban gateway init` to set the gateway up"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GatewaySetupError(f"{path}: not valid TOML: {error}") from None
    content.update({name: value for name, value in overrides.items() if value is not None})
    return _validated(content, str(path))


def _validated(content: dict[str, Any], source: str) -> GatewaySettings:
    try:
        return GatewaySettings.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise GatewaySetupError(f"{source}: {where}: {first['msg']}") from None


def load_gateway(directory: Path, member: MemberId | None = None, **overrides: Any) -> Gateway:
    """The gateway set up in ``directory`` (``member``'s, when given), once its keys and
    certificate agree."""
    settings = load_settings(directory, **overrides)
    if member is not None and settings.member_id() != member:
        raise GatewaySetupError(
            f"{directory} holds the gateway of {settings.member_id()}, not of {member}"
        )
    return Gateway(
        directory,
        settings,
        load_keys(directory, settings.member_id()),
        _providers(directory, settings),
    )


def _providers(directory: Path, settings: GatewaySettings) -> dict[ServiceId, ProviderSystem]:
    """The provider systems, with their tokens read from their files."""
    providers = {}
    for service, backend in settings.backends().items():
        headers: tuple[tuple[str, str], ...] = ()
        if backend.token_file is not None:
            path = directory / backend.token_file
            try:
                token = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as error:
                raise GatewaySetupError(f"{service}: cannot read {path}: {error}") from None
            if len(token.split()) != 1 or not token.isascii() or not token.isprintable():
                raise GatewaySetupError(f"{service}: {path} must hold one printable token")
            headers = (("Authorization", f"Bearer {token}"),)
        providers[service] = ProviderSystem(backend.url, headers)
    return providers


def load_keys(directory: Path, member: MemberId) -> GatewayKeys:
    private_key = _private_key(directory / KEY_FILE)
    chain = _certificates(directory / CERTIFICATE_FILE)
    if len(chain) < 2:
        raise GatewaySetupError(
            f"{directory / CERTIFICATE_FILE} must hold the gateway's certificate and the "
            "issuing CA's, as `kiban mesh member certificate` writes them"
        )
    roots = _certificates(directory / ROOT_FILE)
    certificate = chain[0]
    if certificate.public_key() != private_key.public_key():
        raise GatewaySetupError(
            f"{CERTIFICATE_FILE} certifies another key than {KEY_FILE}: "
            "have the registry certify this gateway's public key"
        )
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if [name.value for name in names] != [str(member)]:
        raise GatewaySetupError(f"{CERTIFICATE_FILE} is not a certificate for {member}")
    try:
        log_key = (directory / LOG_KEY_FILE).read_bytes()
    except FileNotFoundError:
        raise GatewaySetupError(f"{directory / LOG_KEY_FILE} does not exist") from None
    if len(log_key) != 32:
        raise GatewaySetupError(f"{LOG_KEY_FILE} must hold 32 bytes")
    return GatewayKeys(private_key, certificate, tuple(chain[:2]), roots[0], log_key)


def _private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise GatewaySetupError(f"{path} does not exist") from None
    except (ValueError, TypeError):
        raise GatewaySetupError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise GatewaySetupError(f"{path} is not an EC P-256 key")
    return key


def _certificates(path: Path) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except FileNotFoundError:
        raise GatewaySetupError(f"{path} does not exist") from None
    except ValueError:
        raise GatewaySetupError(f"{path} holds no PEM certificate") from None
    return certificates


def initialise(
    directory: Path,
    member: MemberId,
    *,
    registry_url: str,
    root: Path,
    port: int,
    mesh_port: int,
) -> Path:
    """A new gateway directory: key pair, log key and settings.  Returns the public key's
    path, which the registry operator certifies."""
    if (directory / KEY_FILE).exists():
        raise GatewaySetupError(f"{directory} holds a gateway already ({KEY_FILE} exists)")
    roots = _certificates(root)
    settings = _validated(
        {"member": str(member), "registry_url": registry_url, "port": port, "mesh_port": mesh_port},
        "the settings",
    )
    directory.mkdir(parents=True, exist_ok=True)
    private_key = ec.generate_private_key(ec.SECP256R1())
    _write_private(
        directory / KEY_FILE,
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_private(directory / LOG_KEY_FILE, secrets.token_bytes(32))
    public = directory / PUBLIC_KEY_FILE
    public.write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (directory / ROOT_FILE).write_bytes(roots[0].public_bytes(serialization.Encoding.PEM))
    (directory / SETTINGS_FILE).write_text(_toml(settings), encoding="utf-8")
    return public


def _write_private(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)


def _toml(settings: GatewaySettings) -> str:
    """The settings file ``init`` writes: every setting, so that an operator sees them."""
    lines = [
        "# kiban gateway settings / ゲートウェイの設定",
        f'member = "{settings.member}"',
        f'registry_url = "{settings.registry_url}"',
        '# database_url = "postgresql+psycopg://…"   # default: gateway.sqlite3 here',
        f'host = "{settings.host}"',
        f"port = {settings.port}",
        f'mesh_host = "{settings.mesh_host}"',
        f"mesh_port = {settings.mesh_port}",
        "allow_from = [" + ", ".join(f'"{n}"' for n in settings.allow_from) + "]",
        f"keep_bodies = {'true' if settings.keep_bodies else 'false'}",
        f"configuration_interval = {settings.configuration_interval:g}",
        f"request_timeout = {settings.request_timeout:g}",
        "",
        "# The provider systems behind this gateway: service → base URL, or a table with",
        "# the URL and a file holding the bearer token the system expects",
        "[services]",
        '# "JP/LG/131016/juki/resident-certificate/v1" = "http://127.0.0.1:9001"',
        '# "JP/LG/131016/juki/household/v1" = { url = "http://…", token_file = "juki.token" }',
        "",
    ]
    return "\n".join(lines)
