"""The decision a provider's gateway takes on every call, from the global configuration.

A gateway does not have the registry's database: it acts on the configuration the registry
signed.  :class:`AccessPolicy` indexes a verified configuration once, when it arrives, so
that :meth:`AccessPolicy.decide`, which runs on every exchange, is a few dictionary look-ups
and one precompiled pattern per right that can name the client (its own, and its groups').
The registry takes the same decision from its database (``kiban mesh access check``): both
go through :func:`judge`, so that what the registry says and what a gateway does cannot
drift apart.

Least privilege: nothing is allowed that no right names, and only for an approved
subsystem.  A call to a service that carries personal data also needs a purpose that a
right covering the call lists.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from cryptography import x509

from kiban.mesh.configuration import ConfigurationRejected
from kiban.mesh.identifiers import MemberId, ServiceId, SubsystemId
from kiban.mesh.registry.models import GrantedTo

WHOLE_SERVICE = "*"  # a right's method and path when it covers every operation


class Problem(StrEnum):
    """Why a call is refused, for machines (the gateway's error answer) and logs."""

    UNKNOWN_SERVICE = "unknown-service"  # not a published service
    UNKNOWN_CLIENT = "unknown-client"  # not an approved subsystem
    ACCESS_DENIED = "access-denied"  # no right covers the call
    PURPOSE_REQUIRED = "purpose-required"  # personal data, and the call gives no purpose
    PURPOSE_NOT_ALLOWED = "purpose-not-allowed"  # no right covering the call lists it


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    problem: Problem | None  # None when allowed
    detail: str  # one line, English, for logs and the caller
    personal_data: bool  # the answer carries a person's data: log it for the data tracker


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    id: ServiceId
    title: str
    personal_data: bool


@dataclass(frozen=True, slots=True)
class MemberCertificate:
    """A member's gateway certificate that holds now (organisation certificate)."""

    member: MemberId
    serial: str  # hexadecimal, as the CA writes it
    der: bytes
    certificate: x509.Certificate = field(compare=False, repr=False)


@lru_cache(maxsize=4096)
def path_pattern(path: str) -> re.Pattern[str]:
    """An OpenAPI path template as a pattern: each ``{parameter}`` is one path segment."""
    parts = re.split(r"(\{[^/{}]+\})", path)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts if part)
    )


@dataclass(frozen=True, slots=True)
class Right:
    """One access right, as the decision reads it: an operation (or ``*``), whom it is
    granted to, and for a personal-data service the purposes it allows."""

    method: str
    path: str
    granted_to: GrantedTo
    subject: str  # a subsystem's identifier, or a group's code
    purposes: frozenset[str] = frozenset()
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = None if self.method == WHOLE_SERVICE else path_pattern(self.path)
        object.__setattr__(self, "_pattern", pattern)

    def covers(self, method: str, path: str) -> bool:
        """Whether the right names ``method`` (upper case) on ``path``."""
        return self._pattern is None or (
            self.method == method and self._pattern.fullmatch(path) is not None
        )


# Whether the client is in the group (owner, code); the owner is None for a global group.
Membership = Callable[[MemberId | None, str], bool]


def judge(
    *,
    client: SubsystemId,
    service: ServiceId,
    method: str,
    path: str,
    purpose: str | None,
    published: ServiceInfo | None,
    client_approved: bool,
    rights: Iterable[Right],
    in_group: Membership,
) -> Decision:
    """The decision on one call, whichever side holds the registry's data.

    ``rights`` are the service's, ``in_group`` answers for the client.  The checks go from
    the coarsest: the service, the client, a right covering the call, then its purpose.
    """
    method = method.upper()
    if published is None:
        return _refused(Problem.UNKNOWN_SERVICE, f"{service} is not a published service", False)
    personal = published.personal_data
    if not client_approved:
        return _refused(Problem.UNKNOWN_CLIENT, f"{client} is not an approved subsystem", personal)
    client_text = str(client)
    call = f"{client_text} call {_shown(method)} {_shown(path)} of {service}"
    covered = False
    for right in rights:
        if not right.covers(method, path) or not _names(right, client_text, service, in_group):
            continue
        if not personal:
            return Decision(True, None, f"a right lets {call}", False)
        if purpose in right.purposes:
            return Decision(True, None, f"a right lets {call} for {purpose}", True)
        covered = True
    if not covered:
        return _refused(Problem.ACCESS_DENIED, f"no access right lets {call}", personal)
    if not purpose:
        return _refused(
            Problem.PURPOSE_REQUIRED, f"{service} carries personal data: name the purpose", True
        )
    return _refused(
        Problem.PURPOSE_NOT_ALLOWED, f"no access right lets {call} for {_shown(purpose)}", True
    )


def _names(right: Right, client: str, service: ServiceId, in_group: Membership) -> bool:
    """Whether ``right`` is granted to ``client``, directly or through a group."""
    if right.granted_to == GrantedTo.SUBSYSTEM:
        return right.subject == client
    owner = None if right.granted_to == GrantedTo.GLOBAL_GROUP else service.subsystem.member
    return in_group(owner, right.subject)


def _refused(problem: Problem, detail: str, personal_data: bool) -> Decision:
    return Decision(False, problem, detail, personal_data)


def _shown(text: str) -> str:
    """``text`` as it can stand in a one-line message: quoted when it holds control
    characters (a path or a purpose is the caller's)."""
    return text if text.isprintable() else repr(text)


_NO_SUBSYSTEMS: frozenset[SubsystemId] = frozenset()


def _service_info(entry: Mapping[str, Any]) -> ServiceInfo:
    return ServiceInfo(ServiceId.parse(entry["id"]), entry["title"], bool(entry["personal_data"]))


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """A verified global configuration, indexed for a gateway: built once per configuration,
    read on every exchange."""

    members: Mapping[MemberId, str]  # approved member → name
    subsystems: frozenset[SubsystemId]  # approved
    services: Mapping[ServiceId, ServiceInfo]
    groups: Mapping[tuple[MemberId | None, str], frozenset[SubsystemId]]
    certificates: Mapping[MemberId, tuple[MemberCertificate, ...]]
    gateways: Mapping[MemberId, tuple[str, ...]]
    # A service's rights granted to one subsystem, by subsystem, and those granted to
    # groups: a service may be granted to each of 1,741 municipalities' systems one by one.
    _direct: Mapping[tuple[ServiceId, SubsystemId], tuple[Right, ...]] = field(repr=False)
    _to_groups: Mapping[ServiceId, tuple[Right, ...]] = field(repr=False)
    _by_serial: Mapping[str, MemberCertificate] = field(repr=False)
    _by_der: Mapping[bytes, MemberId] = field(repr=False)

    @classmethod
    def from_configuration(cls, content: Mapping[str, Any]) -> AccessPolicy:
        """The policy of ``content``, a configuration's content once
        :func:`~kiban.mesh.configuration.verify_configuration` has accepted it."""
        try:
            return cls._index(content)
        except KeyError as error:
            # Signed by the registry, so a registry of another version: say what is amiss.
            raise ConfigurationRejected(f"the content is not understood: missing {error}") from None
        except (TypeError, ValueError, AttributeError) as error:
            message = (str(error) or type(error).__name__).splitlines()[0]
            raise ConfigurationRejected(f"the content is not understood: {message}") from None

    @classmethod
    def _index(cls, content: Mapping[str, Any]) -> AccessPolicy:
        direct: defaultdict[tuple[ServiceId, SubsystemId], list[Right]] = defaultdict(list)
        to_groups: defaultdict[ServiceId, list[Right]] = defaultdict(list)
        for entry in content["rights"]:
            service = ServiceId.parse(entry["service"])
            right = Right(
                entry["method"],
                entry["path"],
                GrantedTo(entry["granted_to"]),
                entry["subject"],
                frozenset(entry["purposes"]),
            )
            if right.granted_to == GrantedTo.SUBSYSTEM:
                direct[service, SubsystemId.parse(right.subject)].append(right)
            else:
                to_groups[service].append(right)
        certificates: defaultdict[MemberId, list[MemberCertificate]] = defaultdict(list)
        for entry in content["certificates"]:
            der = base64.b64decode(entry["der"], validate=True)
            member = MemberId.parse(entry["member"])
            certificates[member].append(
                MemberCertificate(member, entry["serial"], der, x509.load_der_x509_certificate(der))
            )
        gateways: defaultdict[MemberId, list[str]] = defaultdict(list)
        for entry in content["gateways"]:
            gateways[MemberId.parse(entry["member"])].append(entry["address"])
        listed = [certificate for held in certificates.values() for certificate in held]
        return cls(
            members={MemberId.parse(entry["id"]): entry["name"] for entry in content["members"]},
            subsystems=frozenset(SubsystemId.parse(text) for text in content["subsystems"]),
            services={info.id: info for info in map(_service_info, content["services"])},
            groups={
                (MemberId.parse(entry["owner"]) if entry["owner"] else None, entry["code"]): (
                    frozenset(SubsystemId.parse(text) for text in entry["subsystems"])
                )
                for entry in content["groups"]
            },
            certificates={member: tuple(held) for member, held in certificates.items()},
            gateways={member: tuple(held) for member, held in gateways.items()},
            _direct={key: tuple(held) for key, held in direct.items()},
            _to_groups={service: tuple(held) for service, held in to_groups.items()},
            _by_serial={certificate.serial.lower(): certificate for certificate in listed},
            _by_der={certificate.der: certificate.member for certificate in listed},
        )

    def decide(
        self,
        client: SubsystemId,
        service: ServiceId,
        method: str,
        path: str,
        purpose: str | None = None,
    ) -> Decision:
        """Whether ``client`` may call ``METHOD path`` of ``service`` for ``purpose``."""
        return judge(
            client=client,
            service=service,
            method=method,
            path=path,
            purpose=purpose,
            published=self.services.get(service),
            client_approved=client in self.subsystems,
            rights=self._candidates(client, service),
            in_group=self._membership(client),
        )

    def _candidates(self, client: SubsystemId, service: ServiceId) -> tuple[Right, ...]:
        """Only the rights that can name the client: its own, and the groups'."""
        return self._direct.get((service, client), ()) + self._to_groups.get(service, ())

    def _membership(self, client: SubsystemId) -> Membership:
        groups = self.groups
        return lambda owner, code: client in groups.get((owner, code), _NO_SUBSYSTEMS)

    def service(self, service: ServiceId) -> ServiceInfo | None:
        return self.services.get(service)

    def services_of(self, subsystem: SubsystemId) -> list[ServiceInfo]:
        """The services ``subsystem`` provides, by identifier."""
        return sorted(
            (info for info in self.services.values() if info.id.subsystem == subsystem),
            key=lambda info: str(info.id),
        )

    def granted(self, client: SubsystemId, service: ServiceId) -> list[Right]:
        """The rights to ``service`` that name ``client``, directly or through a group: what
        it may call (nothing, when it is not an approved subsystem)."""
        if client not in self.subsystems:
            return []
        in_group, text = self._membership(client), str(client)
        return [
            right
            for right in self._candidates(client, service)
            if _names(right, text, service, in_group)
        ]

    def is_approved_member(self, member: MemberId) -> bool:
        return member in self.members

    def is_approved_subsystem(self, subsystem: SubsystemId) -> bool:
        return subsystem in self.subsystems

    def certificates_of(self, member: MemberId) -> list[MemberCertificate]:
        """The member's gateway certificates that hold now (none when it has none)."""
        return list(self.certificates.get(member, ()))

    def certificate(self, serial: str) -> MemberCertificate | None:
        """A listed gateway certificate by its serial number (hexadecimal)."""
        return self._by_serial.get(serial.lower())

    def member_of_certificate(self, der: bytes) -> MemberId | None:
        """Whose gateway presents this certificate (DER), e.g. the peer of a mutual TLS
        connection: only a certificate the configuration lists, byte for byte, names a
        member; a revoked or unknown one names none."""
        return self._by_der.get(der)

    def gateway_addresses(self, member: MemberId) -> list[str]:
        """Where the member's gateways are reached, ``https://HOST:PORT``, in order."""
        return list(self.gateways.get(member, ()))
