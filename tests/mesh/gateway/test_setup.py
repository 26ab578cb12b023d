"""Setting a gateway up: ``kiban gateway init``, its settings file and its keys, and the one
line a gateway that cannot start prints."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kiban.mesh.gateway.config import (
    CERTIFICATE_FILE,
    KEY_FILE,
    LOG_KEY_FILE,
    PUBLIC_KEY_FILE,
    SETTINGS_FILE,
    GatewaySetupError,
    load_gateway,
    load_settings,
)
from kiban_command import run_kiban, run_kiban_in_process

MEMBER = "JP/LG/131016"


def _certificate(
    subject_key: ec.EllipticCurvePrivateKey, name: str, issuer_key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "root")]))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(issuer_key, hashes.SHA256())
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "root.pem"
    path.write_bytes(_pem(_certificate(key, "root", key)))
    return path


def _init(directory: Path, root: Path, *more: str) -> tuple[int, str]:
    result = run_kiban_in_process(
        "gateway",
        "init",
        "--member",
        MEMBER,
        "--dir",
        str(directory),
        "--registry",
        "https://mesh.example.jp",
        "--root",
        str(root),
        *more,
    )
    return result.returncode, result.stdout + result.stderr


def test_init_makes_the_keys_and_settings_and_says_what_comes_next(
    tmp_path: Path, root: Path
) -> None:
    directory = tmp_path / "gw"
    code, output = _init(directory, root, "--port", "8081", "--mesh-port", "5501")
    assert code == 0, output
    assert f"kiban mesh member certificate {MEMBER} --public-key" in output
    for secret in (KEY_FILE, LOG_KEY_FILE):
        assert stat.S_IMODE((directory / secret).stat().st_mode) == 0o600
    assert len((directory / LOG_KEY_FILE).read_bytes()) == 32
    assert b"PUBLIC KEY" in (directory / PUBLIC_KEY_FILE).read_bytes()
    settings = load_settings(directory)
    assert (settings.member, settings.port, settings.mesh_port) == (MEMBER, 8081, 5501)
    assert settings.registry_url == "https://mesh.example.jp"
    assert settings.configuration_interval == 60

    # Not twice: the key in place is the one the registry certified.
    code, output = _init(directory, root)
    assert code == 2
    assert "holds a gateway already" in output


def test_a_gateway_without_its_certificate_does_not_start(tmp_path: Path, root: Path) -> None:
    directory = tmp_path / "gw"
    _init(directory, root)
    result = run_kiban("gateway", "--member", MEMBER, "--dir", str(directory))
    assert result.returncode == 2
    assert result.stderr.startswith("kiban: error: ")
    assert "gateway.pem does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_certificate_must_be_for_this_gateways_key_and_member(
    tmp_path: Path, root: Path
) -> None:
    directory = tmp_path / "gw"
    _init(directory, root)
    issuer = ec.generate_private_key(ec.SECP256R1())
    other_key = ec.generate_private_key(ec.SECP256R1())
    chain = _pem(_certificate(issuer, "issuing", issuer))
    certificate = directory / CERTIFICATE_FILE
    certificate.write_bytes(_pem(_certificate(other_key, MEMBER, issuer)) + chain)
    with pytest.raises(GatewaySetupError, match="certifies another key"):
        load_gateway(directory)
    own = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), None)
    assert isinstance(own, ec.EllipticCurvePrivateKey)
    certificate.write_bytes(_pem(_certificate(own, "JP/LG/011002", issuer)) + chain)
    with pytest.raises(GatewaySetupError, match="not a certificate for JP/LG/131016"):
        load_gateway(directory)
    certificate.write_bytes(_pem(_certificate(own, MEMBER, issuer)) + chain)
    assert load_gateway(directory).member.code == "131016"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("port = 70000", "port: Input should be less than or equal to 65535"),
        ('registry_url = "ftp://x"', "registry_url: String should match pattern"),
        ("unknown = 1", "unknown: Extra inputs are not permitted"),
        ('allow_from = ["10.0.0.0/33"]', "allow_from"),
        ('[services]\n"JP/LG/131016/juki" = "http://x"', "services"),
        ('[services]\n"JP/LG/131016/juki/a" = "x"', "services.JP/LG/131016/juki/a"),
        ("= broken", "not valid TOML"),
    ],
)
def test_a_setting_that_does_not_hold_is_named(
    tmp_path: Path, root: Path, change: str, message: str
) -> None:
    directory = tmp_path / "gw"
    _init(directory, root)
    path = directory / SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    key = change.split(" ", 1)[0]
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    if change.startswith("[services]"):  # the table ends the file
        lines = [line for line in lines if line != "[services]"] + [change]
    else:
        lines = [change, *lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_kiban_in_process("gateway", "--member", MEMBER, "--dir", str(directory))
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "--member is required"),
        (("--member", "JP/LG/131017"), "check digit"),
        (("--member", MEMBER, "--dir", "/nonexistent/gw"), "run `kiban gateway init`"),
        (("--member", MEMBER, "--port", "70000"), "--port"),
    ],
)
def test_running_without_a_set_up_gateway_is_one_line(
    arguments: tuple[str, ...], message: str
) -> None:
    result = run_kiban_in_process("gateway", *arguments)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr


def test_init_refuses_a_root_that_is_not_a_certificate(tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_text("not a certificate")
    code, output = _init(tmp_path / "gw", tmp_path / "root.pem")
    assert code == 2
    assert "holds no PEM certificate" in output
    assert not (tmp_path / "gw" / KEY_FILE).exists()


def test_the_gateway_of_another_member_is_not_run_by_mistake(tmp_path: Path, root: Path) -> None:
    directory = tmp_path / "gw"
    _init(directory, root)
    result = run_kiban_in_process("gateway", "--member", "JP/LG/011002", "--dir", str(directory))
    assert result.returncode == 2
    assert "holds the gateway of JP/LG/131016" in result.stderr


def test_init_refuses_a_registry_that_is_not_an_http_url(tmp_path: Path, root: Path) -> None:
    result = run_kiban_in_process(
        "gateway",
        "init",
        "--member",
        MEMBER,
        "--dir",
        str(tmp_path / "gw"),
        "--registry",
        "ftp://mesh.example.jp",
        "--root",
        str(root),
    )
    assert result.returncode == 2
    assert "registry_url: String should match pattern" in result.stderr
    assert not (tmp_path / "gw").exists()


def test_a_provider_system_may_expect_a_token_from_a_file(tmp_path: Path, root: Path) -> None:
    directory = tmp_path / "gw"
    _init(directory, root)
    _certify(directory)
    service = "JP/LG/131016/juki/household/v1"
    settings = directory / SETTINGS_FILE
    settings.write_text(
        settings.read_text(encoding="utf-8")
        + f'"{service}" = {{ url = "http://10.0.0.12:9001/", token_file = "juki.token" }}\n',
        encoding="utf-8",
    )
    with pytest.raises(GatewaySetupError, match="cannot read"):
        load_gateway(directory)
    (directory / "juki.token").write_text("two words\n", encoding="utf-8")
    with pytest.raises(GatewaySetupError, match="one printable token"):
        load_gateway(directory)
    (directory / "juki.token").write_text("kiban_131016_k1_secret\n", encoding="utf-8")
    [provider] = load_gateway(directory).providers.values()
    assert provider.url == "http://10.0.0.12:9001"
    assert provider.headers == (("Authorization", "Bearer kiban_131016_k1_secret"),)


def _certify(directory: Path) -> None:
    """A certificate for the gateway's own key, from a throw-away issuer."""
    issuer = ec.generate_private_key(ec.SECP256R1())
    own = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), None)
    assert isinstance(own, ec.EllipticCurvePrivateKey)
    (directory / CERTIFICATE_FILE).write_bytes(
        _pem(_certificate(own, MEMBER, issuer)) + _pem(_certificate(issuer, "issuing", issuer))
    )
