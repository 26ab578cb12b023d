"""A provider system for bench/mesh_exchange.py: answers a resident certificate at once.

Plain ASGI, so that what is measured is the mesh, not a framework: the same app answers
the direct calls and the calls through both gateways.

    .venv/bin/python -m uvicorn --app-dir bench mesh_provider:app --port N --no-access-log
"""

from __future__ import annotations

import json
from typing import Any

_BODY = json.dumps(
    {
        "addressee_number": "0000000125",
        "name": "山田 花子",
        "name_kana": "ヤマダ ハナコ",
        "birth_date": "1980-05-01",
        "address": "東京都千代田区千代田1-1",
        "household_head": "山田 太郎",
        "moved_in_on": "2024-04-01",
    },
    ensure_ascii=False,
).encode("utf-8")
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_BODY)).encode("ascii")),
    (b"kiban-data-subject", b"0000000125"),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
