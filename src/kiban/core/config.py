"""Settings, read from ``KIBAN_*`` environment variables (and an optional ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIBAN_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/kiban.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host:port/db",
    )
    data_dir: Path = Field(
        default=Path("var"), description="Where kiban keeps local state such as generated keys"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="Processes `kiban serve` runs")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For and X-Forwarded-Proto `kiban serve` believes",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    preload_registry: bool = Field(
        default=True,
        description="Build the address index in the background as the server starts",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key for keyed hashes and for encrypting stored keys; generated if unset",
        repr=False,
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL people and relying parties reach kiban at: the OpenID issuer",
        pattern=r"^https?://[^/?#]+$",
    )
    secure_cookies: bool = Field(
        default=True,
        description="Send cookies over HTTPS only; browsers treat http://127.0.0.1 as secure",
    )
    demo_wallet: bool = Field(
        default=False,
        description="Offer the demo wallet, which approves card sign-ins for seeded residents",
    )
    staff_idle_minutes: int = Field(default=15, ge=1, le=120)
    staff_absolute_hours: int = Field(default=8, ge=1, le=24)
    person_idle_minutes: int = Field(default=30, ge=1, le=240)
    person_absolute_hours: int = Field(default=12, ge=1, le=72)
    oidc_token_limit_per_client: int = Field(
        default=5000, ge=1, description="Token requests one relying party may make in 10 s"
    )
    oidc_token_limit_per_ip: int = Field(
        default=5000, ge=1, description="Token requests from one address in 10 s"
    )


class InvalidSettings(ValueError):
    """A ``KIBAN_*`` setting does not hold; the message names it, on one line."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "KIBAN_" + "_".join(str(part) for part in first["loc"]).upper()
        raise InvalidSettings(f"{name}: {first['msg']}") from None
