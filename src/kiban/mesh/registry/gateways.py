"""Where a member's gateway is reached: ``https://HOST:PORT``, and nothing else.

Gateways talk to each other over mutual TLS only, so the scheme is https; the port is always
written, so that an address says exactly where to connect; a path, a query, a fragment or a
user name mean nothing to a gateway and are refused rather than silently dropped.  An address
is kept written one way (host in lower case, an IPv6 literal in its short form), so that the
same gateway cannot be registered twice under two spellings.
"""

from __future__ import annotations

import ipaddress
import re

GATEWAY_ADDRESS_MAX_LENGTH = 300  # https:// + a DNS name (at most 253) + :65535
_SCHEME = "https://"
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT = re.compile(r"[0-9]{1,5}")
_FORM = "https://HOST:PORT, e.g. https://gateway.example.jp:5501 or https://[::1]:5501"


class InvalidGatewayAddress(ValueError):
    """Not a gateway address; the message says why, on one line."""


def gateway_address(text: str) -> str:
    """``text`` as a gateway address, written the one way it is kept."""
    address = text.strip()
    if len(address) > GATEWAY_ADDRESS_MAX_LENGTH:
        raise InvalidGatewayAddress(
            f"a gateway address is at most {GATEWAY_ADDRESS_MAX_LENGTH} characters"
        )
    if not address.lower().startswith(_SCHEME):
        raise _invalid(address, _FORM)
    authority = address[len(_SCHEME) :]
    if not authority.isprintable() or any(c in authority for c in " /?#@\\"):
        raise _invalid(address, f"no path, query or user name: {_FORM}")
    if authority.startswith("["):
        literal, bracket, port = authority[1:].partition("]")
        if not bracket or not port.startswith(":"):
            raise _invalid(address, f"the port is required: {_FORM}")
        host, port = _ipv6(address, literal), port[1:]
    else:
        name, colon, port = authority.rpartition(":")
        if not colon:
            raise _invalid(address, f"the port is required: {_FORM}")
        host = _host(address, name.lower())
    if not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        raise _invalid(address, f"the port is a number from 1 to 65535: {_FORM}")
    return f"{_SCHEME}{host}:{int(port)}"


def _ipv6(address: str, literal: str) -> str:
    try:
        ip = ipaddress.IPv6Address(literal)
    except ValueError:
        raise _invalid(address, f"{literal!r} is not an IPv6 address") from None
    if ip.scope_id:
        raise _invalid(address, "an address with a zone (%…) is only valid on one host")
    return f"[{ip.compressed}]"


def _host(address: str, name: str) -> str:
    if ":" in name:
        raise _invalid(address, "an IPv6 address is written in brackets: https://[::1]:5501")
    if not name.isascii():
        raise _invalid(address, "write an internationalised domain name in its xn-- form")
    labels = name.split(".")
    if all(label.isdigit() for label in labels):
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            raise _invalid(address, f"{name!r} is not an IPv4 address") from None
    if len(name) > 253 or labels[-1].isdigit() or not all(map(_LABEL.fullmatch, labels)):
        raise _invalid(address, f"{name!r} is not a host name")
    return name


def _invalid(address: str, why: str) -> InvalidGatewayAddress:
    return InvalidGatewayAddress(f"gateway address {address!r}: {why}")
