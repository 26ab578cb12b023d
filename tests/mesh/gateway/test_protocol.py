"""The message protocol: what a call names, what is signed, and what a signature proves."""

from __future__ import annotations

import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from kiban.mesh.gateway.protocol import (
    Answer,
    ProtocolError,
    Signer,
    Target,
    Verifier,
    consumer_exchange,
    digest,
    encode_header,
    forwarded_headers,
    request_hash,
)
from kiban.mesh.identifiers import ServiceId

SERVICE = "JP/LG/131016/juki/resident-certificate"


@pytest.mark.parametrize(
    ("path", "service", "rest"),
    [
        (f"/r1/{SERVICE}/v1/residents/1", f"{SERVICE}/v1", "/residents/1"),
        (f"/r1/{SERVICE}/residents/1", SERVICE, "/residents/1"),
        (f"/r1/{SERVICE}", SERVICE, "/"),
        (f"/r1/{SERVICE}/v2", f"{SERVICE}/v2", "/"),
        (f"/r1/{SERVICE}/version/1", SERVICE, "/version/1"),
    ],
)
def test_a_target_names_the_service_and_the_path_within_it(
    path: str, service: str, rest: str
) -> None:
    target = Target.parse(path, "year=2026")
    assert str(target.service) == service
    assert target.path == rest
    assert target.path_and_query == f"{rest}?year=2026"


@pytest.mark.parametrize(
    "path",
    [
        "/r2/JP/LG/131016/juki/x",
        "/r1/JP/LG/131016/juki",
        "/r1/JP/LG/131017/juki/x",
        "/r1/JP/XX/1/a/b",
    ],
)
def test_a_target_that_names_no_service_is_a_bad_request(path: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        Target.parse(path)
    assert refused.value.slug == "bad-request"


codes = st.from_regex(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,20}", fullmatch=True)


@given(
    subsystem=codes,
    service=codes,
    version=st.none() | st.integers(1, 99).map(lambda n: f"v{n}"),
    segments=st.lists(st.from_regex(r"[A-Za-z0-9_.~-]{1,12}", fullmatch=True), max_size=4),
)
def test_any_service_and_path_come_back_from_the_target(
    subsystem: str, service: str, version: str | None, segments: list[str]
) -> None:
    identifier = ServiceId.parse(
        f"JP/LG/131016/{subsystem}/{service}" + (f"/{version}" if version else "")
    )
    path = "/" + "/".join(segments)
    if version is None and segments and segments[0][:1] == "v" and segments[0][1:].isdigit():
        return  # a first segment such as v2 is read as the version, as documented
    target = Target.parse(f"/r1/{identifier}{path if segments else ''}")
    assert target.service == identifier
    assert target.path == path


def _headers(**values: str) -> dict[str, str]:
    return {
        "kiban-client": "JP/LG/011002/tax",
        **{k.replace("_", "-"): v for k, v in values.items()},
    }


def test_an_exchange_is_read_from_the_kiban_headers() -> None:
    target = Target.parse(f"/r1/{SERVICE}/v1/residents/1")
    exchange = consumer_exchange(
        _headers(
            **{
                "kiban-purpose": "tax-assessment",
                "kiban-legal_basis": encode_header("地方税法第294条"),
            }
        ),
        target,
        "get",
        b"",
        now=1_700_000_000,
    )
    assert exchange.client == "JP/LG/011002/tax"
    assert exchange.method == "GET"
    assert exchange.purpose == "tax-assessment"
    assert exchange.legal_basis == "地方税法第294条"
    assert exchange.body == digest(b"")
    assert exchange.iat == 1_700_000_000
    headers = forwarded_headers(exchange)
    assert headers["Kiban-Legal-Basis"] == encode_header("地方税法第294条")
    assert headers["Kiban-Legal-Basis"].isascii()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"kiban-client": "JP/LG/011002"},
        {"kiban-client": "JP/LG/011002/tax", "kiban-id": "12"},
        {"kiban-client": "JP/LG/011002/tax", "kiban-purpose": "Tax Assessment"},
        {"kiban-client": "JP/LG/011002/tax", "kiban-legal-basis": "%FF%FE"},
        {"kiban-client": "JP/LG/011002/tax", "kiban-userid": "x" * 300},
        {"kiban-client": "JP/LG/011002/tax", "kiban-userid": "a%0Ab"},
    ],
    ids=[
        "no-client",
        "member-not-subsystem",
        "bad-id",
        "bad-purpose",
        "not-utf8",
        "too-long",
        "newline",
    ],
)
def test_bad_kiban_headers_are_refused_as_a_bad_request(headers: dict[str, str]) -> None:
    with pytest.raises(ProtocolError) as refused:
        consumer_exchange(headers, Target.parse(f"/r1/{SERVICE}/x"), "GET", b"")
    assert refused.value.slug == "bad-request"


def _certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives import hashes

    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "JP/LG/011002")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0xABC)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_a_signed_request_verifies_only_with_the_signers_listed_certificate() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = Signer(key, "abc")
    exchange = consumer_exchange(
        _headers(), Target.parse(f"/r1/{SERVICE}/v1/residents/1"), "GET", b"", now=time.time()
    )
    token = signer.sign_request(exchange)
    member, verified = Verifier({"abc": ("JP/LG/011002", _certificate(key))}).verify_request(token)
    assert (member, verified) == ("JP/LG/011002", exchange)

    with pytest.raises(ProtocolError) as unknown:
        Verifier({}).verify_request(token)  # revoked: no longer in the configuration
    assert unknown.value.slug == "unknown-certificate"

    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ProtocolError) as forged:
        Verifier({"abc": ("JP/LG/011002", _certificate(other))}).verify_request(token)
    assert forged.value.slug == "invalid-signature"

    with pytest.raises(ProtocolError) as kind:  # a response is not a request
        Verifier({"abc": ("JP/LG/011002", _certificate(key))}).verify_request(
            signer.sign_response(Answer(exchange.id, request_hash(token), 200, digest(b""), 0))
        )
    assert kind.value.slug == "invalid-signature"


def test_a_response_is_bound_to_its_request() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = Signer(key, "abc")
    answer = Answer("id", request_hash("a.b.c"), 200, digest(b"{}"), 1)
    _, verified = Verifier({"abc": ("JP/LG/011002", _certificate(key))}).verify_response(
        signer.sign_response(answer)
    )
    assert verified == answer
    assert verified.request != request_hash("a.b.d")
