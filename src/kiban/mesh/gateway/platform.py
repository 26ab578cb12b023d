"""What a gateway asks of the platform (the registry's ``kiban serve``) in its own name.

The data tracker's records and consent checks go to the platform as a compact JWS signed
with the gateway's key (``kid``: its organisation certificate's serial), which the platform
checks against its certificate register: no other credential is needed.
"""

from __future__ import annotations

import time
from typing import Any

import httpx2

from kiban.mesh.gateway.protocol import Signer
from kiban.mesh.identifiers import MemberId

MEDIA_TYPE = "application/jose"


async def post_signed(
    client: httpx2.AsyncClient,
    url: str,
    signer: Signer,
    kind: str,
    member: MemberId,
    claims: dict[str, Any],
) -> httpx2.Response:
    """POST ``claims``, with the member and the time, signed as a ``kind`` JWS."""
    token = signer.sign(kind, {"provider": str(member), "issued_at": int(time.time()), **claims})
    return await client.post(url, content=token, headers={"Content-Type": MEDIA_TYPE})
