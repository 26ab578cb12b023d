"""The global configuration as a gateway holds it: fetched, verified, and refused when stale.

The gateway fetches the registry's signed configuration every ``configuration_interval``
seconds (60 by default), with the CA's revocation list, so that a configuration signed with
a revoked registry certificate is refused.  A configuration that does not verify is never
used; one that has expired is no longer used.  Without a valid configuration the gateway
refuses every exchange (fails closed) and says why; it keeps fetching, and takes up its work
again as soon as the registry answers with a valid configuration.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx2
from cryptography import x509

from kiban.core.logging import get_logger
from kiban.mesh.configuration import (
    MEDIA_TYPE,
    ConfigurationRejected,
    GlobalConfiguration,
    verify_configuration,
)
from kiban.mesh.gateway.protocol import Verifier
from kiban.mesh.identifiers import MemberId
from kiban.mesh.policy import AccessPolicy

log = get_logger(__name__)

CONFIGURATION_PATH = "/mesh/configuration"
REVOCATIONS_PATH = "/ca/crl"


class ConfigurationUnavailable(RuntimeError):
    """The gateway holds no valid configuration; the message says why, on one line."""


@dataclass(frozen=True, slots=True)
class MeshView:
    """One verified configuration, prepared for the decisions of every exchange."""

    configuration: GlobalConfiguration
    policy: AccessPolicy
    verifier: Verifier

    @classmethod
    def of(cls, configuration: GlobalConfiguration) -> MeshView:
        policy = AccessPolicy.from_configuration(configuration.content)
        listed = {
            certificate.serial: (str(member), certificate.certificate)
            for member, held in policy.certificates.items()
            for certificate in held
        }
        return cls(configuration, policy, Verifier(listed))

    def addresses(self, member: MemberId) -> list[str]:
        return self.policy.gateway_addresses(member)


class ConfigurationHolder:
    """The gateway's current configuration, and the loop that keeps it fresh."""

    def __init__(
        self,
        registry_url: str,
        root: x509.Certificate,
        *,
        interval: float,
        client: httpx2.AsyncClient,
    ) -> None:
        self.url = registry_url.rstrip("/") + CONFIGURATION_PATH
        # The CA's list, to refuse a configuration signed with a revoked registry key.
        self.revocations_url = registry_url.rstrip("/") + REVOCATIONS_PATH
        self.root = root
        self.interval = interval
        self.client = client
        self._view: MeshView | None = None
        self.last_error: str | None = "no configuration fetched yet"
        self.fetched_at: datetime | None = None

    def current(self, now: datetime | None = None) -> MeshView:
        """The configuration to act on; :class:`ConfigurationUnavailable` when there is none
        that holds now."""
        view = self._view
        if view is None:
            raise ConfigurationUnavailable(
                f"no valid global configuration: {self.last_error or 'not fetched yet'}"
            )
        if view.configuration.expires_at <= (now or datetime.now(UTC)):
            raise ConfigurationUnavailable(
                "the global configuration expired at "
                f"{view.configuration.expires_at.isoformat()}; the last fetch: "
                f"{self.last_error or 'succeeded'}"
            )
        return view

    def accept(
        self,
        token: str,
        revocations: x509.CertificateRevocationList,
        now: datetime | None = None,
    ) -> MeshView:
        """Verify ``token`` and act on it from now on; :class:`ConfigurationRejected` leaves
        the current configuration as it was."""
        configuration = verify_configuration(token, self.root, now, revocations=revocations)
        current = self._view
        if current is not None and configuration.issued_at < current.configuration.issued_at:
            raise ConfigurationRejected("older than the configuration the gateway holds")
        view = MeshView.of(configuration)
        self._view = view
        self.last_error = None
        self.fetched_at = datetime.now(UTC)
        return view

    async def refresh(self) -> bool:
        """Fetch and accept the registry's configuration; whether that worked."""
        try:
            response = await self.client.get(self.url, headers={"Accept": MEDIA_TYPE})
            if response.status_code != 200:
                raise ConfigurationRejected(f"the registry answered {response.status_code}")
            listed = await self.client.get(self.revocations_url)
            if listed.status_code != 200:
                raise ConfigurationRejected(
                    f"the revocation list: the registry answered {listed.status_code}"
                )
            try:
                revocations = x509.load_der_x509_crl(listed.content)
            except ValueError:
                raise ConfigurationRejected("the revocation list is not a DER CRL") from None
            self.accept(response.text, revocations)
        except (httpx2.HTTPError, ConfigurationRejected) as error:
            self.last_error = f"{self.url}: {error or type(error).__name__}"
            log.warning("mesh.configuration.refused", reason=self.last_error)
            return False
        return True

    async def keep_fresh(self) -> None:
        """Refresh every ``interval`` seconds, until cancelled."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval)
