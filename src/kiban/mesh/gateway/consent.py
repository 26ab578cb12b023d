"""Consent, as the provider's gateway enforces it on every request whose basis is consent.

A resident grants a consent artefact on the portal: this consumer may have this service's
data about them, for this purpose, until a date, once or repeatedly (``docs/mesh-consent.md``).
The consumer names it in ``Kiban-Consent``.  Before the provider's system sees the request,
the provider's gateway asks the platform to spend the artefact for this exchange: the
platform answers only for a consent that holds now for this consumer, service and purpose
(and, once only, for a one-time consent), and says whom it is about.  The provider's answer
must then be about that person (``Kiban-Data-Subject``), or the gateway withholds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2

from kiban.mesh.gateway.platform import post_signed
from kiban.mesh.gateway.protocol import Exchange, Signer
from kiban.mesh.identifiers import MemberId

TYPE = "kiban-mesh-consent-use+jwt"
USE_PATH = "/mesh/consents/use"


@dataclass(frozen=True, slots=True)
class ConsentHeld:
    """A consent the platform has spent for one exchange: about whom."""

    consent: str
    subject: str


class ConsentRefused(Exception):
    """The consent does not allow the exchange; the message says why, on one line."""


class ConsentChecker:
    def __init__(
        self, platform_url: str, client: httpx2.AsyncClient, signer: Signer, member: MemberId
    ) -> None:
        self.url = platform_url.rstrip("/") + USE_PATH
        self.client = client
        self.signer = signer
        self.member = member

    async def spend(self, exchange: Exchange) -> ConsentHeld:
        """The consent ``exchange`` names, spent for it; :class:`ConsentRefused` otherwise."""
        if exchange.consent is None:
            raise ConsentRefused("the legal basis is consent: Kiban-Consent is required")
        try:
            answer = await post_signed(
                self.client,
                self.url,
                self.signer,
                TYPE,
                self.member,
                {
                    "consent": exchange.consent,
                    "message_id": exchange.id,
                    "client": exchange.client,
                    "service": exchange.service,
                    "purpose": exchange.purpose,
                    "method": exchange.method,
                    "path": exchange.path,
                },
            )
        except httpx2.HTTPError as error:
            raise ConsentRefused(
                f"the platform cannot confirm the consent now: {type(error).__name__}"
            ) from None
        if answer.status_code != 200:
            raise ConsentRefused(_reason(answer))
        try:
            held = answer.json()
            return ConsentHeld(str(held["consent"]), str(held["subject"]))
        except (ValueError, KeyError, TypeError):
            raise ConsentRefused(
                "the platform's answer about the consent is not understood"
            ) from None


def _reason(answer: httpx2.Response) -> str:
    try:
        detail = answer.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else f"the platform answered {answer.status_code}"
