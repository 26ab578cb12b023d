"""``kiban oidc …`` through the real entry point; ``client create`` once in a process of its own, as
an operator runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from identity.oidc.provider_support import SECRET_KEY
from identity.oidc.relying_party import es256_key
from kiban_command import run_kiban, run_kiban_in_process


@pytest.fixture
def url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_create_list_disable_a_client(url: str, tmp_path: Path) -> None:
    created = run_kiban(
        "oidc", "client", "create", "--name", "CLI テスト", "--purpose", "テストのため",
        "--redirect-uri", "https://cli.example/cb", "--auth-method", "client_secret_basic",
        "--scope", "name address",
        database_url=url, data_dir=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    values = dict(line.split("=", 1) for line in created.stdout.split())
    assert len(values["client_secret"]) >= 43
    assert "not shown again" in created.stderr

    listed = run_kiban_in_process("oidc", "client", "list", database_url=url, data_dir=tmp_path)
    row = next(line for line in listed.stdout.splitlines() if values["client_id"] in line)
    assert "openid name address" in row
    assert values["client_secret"] not in listed.stdout

    disabled = run_kiban_in_process(
        "oidc", "client", "disable", values["client_id"], database_url=url, data_dir=tmp_path
    )
    assert disabled.returncode == 0
    listed = run_kiban_in_process("oidc", "client", "list", database_url=url, data_dir=tmp_path)
    assert "disabled" in next(
        line for line in listed.stdout.splitlines() if values["client_id"] in line
    )


def test_a_private_key_jwt_client_with_inline_keys(url: str, tmp_path: Path) -> None:
    _private, jwk = es256_key()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}), encoding="utf-8")
    created = run_kiban_in_process(
        "oidc", "client", "create", "--name", "JWT", "--purpose", "p",
        "--redirect-uri", "https://jwt.example/cb", "--auth-method", "private_key_jwt",
        "--jwks-file", str(jwks), database_url=url, data_dir=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "client_secret" not in created.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--redirect-uri", "http://rp.example/cb"], "must use https"),
        (["--redirect-uri", "https://rp.example/*"], "must be exact"),
        (["--redirect-uri", "https://rp.example/cb#x"], "fragment"),
        (["--redirect-uri", "https://rp.example/cb", "--scope", "mynumber"], "unknown scope"),
        (["--redirect-uri", "https://rp.example/cb", "--auth-method", "none"], "--auth-method"),
    ],
)
def test_bad_input_is_one_line(
    url: str, tmp_path: Path, arguments: list[str], message: str
) -> None:
    base = ["oidc", "client", "create", "--name", "x", "--purpose", "y"]
    if "--auth-method" not in arguments:
        arguments = [*arguments, "--auth-method", "client_secret_basic"]
    result = run_kiban_in_process(*base, *arguments, database_url=url, data_dir=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("kiban: error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_private_key_jwt_refuses_private_keys(url: str, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(
        json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "d": "x", "x": "y", "y": "z"}]})
    )
    result = run_kiban_in_process(
        "oidc", "client", "create", "--name", "x", "--purpose", "y",
        "--redirect-uri", "https://rp.example/cb", "--auth-method", "private_key_jwt",
        "--jwks-file", str(jwks), database_url=url, data_dir=tmp_path,
    )  # fmt: skip
    assert "private key" in result.stderr


def test_rotate_keys(url: str, tmp_path: Path) -> None:
    # The keys are committed: other tests must be able to decrypt them.
    secret = {"KIBAN_SECRET_KEY": SECRET_KEY}
    first = run_kiban_in_process("oidc", "keys", "rotate", database_url=url, environment=secret)
    second = run_kiban_in_process("oidc", "keys", "rotate", database_url=url, environment=secret)
    assert first.returncode == second.returncode == 0
    listed = run_kiban_in_process(
        "oidc", "keys", "list", database_url=url, data_dir=tmp_path
    ).stdout
    old_kid = first.stdout.strip().removeprefix("kid=")
    new_kid = second.stdout.strip().removeprefix("kid=")
    old_row = next(line for line in listed.splitlines() if line.startswith(old_kid))
    new_row = next(line for line in listed.splitlines() if line.startswith(new_kid))
    assert not old_row.endswith(",")  # retired
    assert new_row.endswith(",")  # signing
