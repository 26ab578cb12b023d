"""The problems a gateway answers with: RFC 9457 problem details whose ``type`` a caller's
program can act on (``https://kiban.example/problems/mesh/access-denied``)."""

from __future__ import annotations

import json

from starlette.responses import Response

from kiban.core.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

# slug → (status, title)
PROBLEMS: dict[str, tuple[int, str]] = {
    "bad-request": (400, "Bad request / 要求が正しくありません"),
    "payload-too-large": (413, "The body is too large / 本文が大きすぎます"),
    "network-not-allowed": (
        403,
        "This network may not call the gateway / このネットワークからは利用できません",
    ),
    "not-our-client": (
        403,
        "The client is not a subsystem of this gateway's member / "
        "このゲートウェイの組織のサブシステムではありません",
    ),
    "unknown-client": (403, "Unknown client / 登録されていない呼出元です"),
    "unknown-service": (404, "Unknown service / 登録されていないサービスです"),
    "configuration-unavailable": (
        503,
        "No valid global configuration / 有効なグローバル設定がありません",
    ),
    "log-unavailable": (
        503,
        "The message log cannot be written / メッセージログに記録できません",
    ),
    "maintenance": (503, "The gateway is in maintenance / メンテナンス中です"),
    "provider-unreachable": (
        502,
        "The provider's gateway cannot be reached / 提供側ゲートウェイに接続できません",
    ),
    "provider-system-unreachable": (
        502,
        "The provider's system cannot be reached / 提供側システムに接続できません",
    ),
    "invalid-signature": (401, "The signature does not hold / 署名が正しくありません"),
    "unknown-certificate": (
        401,
        "The signer's certificate is not valid on the mesh / 署名者の証明書が有効ではありません",
    ),
    "stale-request": (401, "The request is too old / 要求の有効期間が過ぎています"),
    "replayed-request": (409, "The request was sent before / 同じ要求が既に送られています"),
    "access-denied": (403, "No access right / アクセス権がありません"),
    "purpose-required": (400, "A purpose is required / 利用目的が必要です"),
    "purpose-not-allowed": (
        403,
        "Not allowed for this purpose / この利用目的では利用できません",
    ),
    "legal-basis-required": (400, "A legal basis is required / 法令上の根拠が必要です"),
    "consent-required": (403, "Valid consent is required / 有効な同意が必要です"),
    "tampered-response": (
        502,
        "The response does not verify / 応答の署名を検証できません",
    ),
}


def problem_body(slug: str, detail: str, **extensions: str) -> tuple[int, bytes]:
    status, title = PROBLEMS[slug]
    document = {
        "type": f"{PROBLEM_TYPE_BASE}mesh/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **extensions,
    }
    return status, json.dumps(document, ensure_ascii=False).encode("utf-8")


def problem_response(
    slug: str, detail: str, headers: dict[str, str] | None = None, **extensions: str
) -> Response:
    status, body = problem_body(slug, detail, **extensions)
    return Response(body, status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)
