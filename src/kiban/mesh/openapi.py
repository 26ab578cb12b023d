"""A service's OpenAPI document: read from JSON or YAML, and checked against OpenAPI 3."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_DOCUMENT_BYTES = 1_000_000


class InvalidOpenAPI(ValueError):
    """Not a valid OpenAPI 3 document; the message says where and why, on one line."""


def read_openapi(text: str) -> dict[str, Any]:
    """The document in ``text`` (JSON, or YAML), once it validates as OpenAPI 3.0 or 3.1."""
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise InvalidOpenAPI(f"the document is larger than {MAX_DOCUMENT_BYTES:,} bytes")
    try:
        document = yaml.safe_load(text)  # JSON is YAML too
    except RecursionError:
        raise InvalidOpenAPI("the document nests too deeply") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidOpenAPI(f"neither JSON nor YAML{where}") from None
    if not isinstance(document, dict):
        raise InvalidOpenAPI("an OpenAPI document is an object with 'openapi', 'info', 'paths'")
    version = document.get("openapi")
    if not isinstance(version, str) or not version.startswith(("3.0.", "3.1.")):
        raise InvalidOpenAPI("'openapi' must be 3.0.x or 3.1.x (Swagger 2.0 is not accepted)")
    try:
        validate(document)
    except OpenAPIValidationError as error:
        raise InvalidOpenAPI(
            f"{_pointer(error.absolute_path)}: {error.message}".splitlines()[0]
        ) from None
    return document


def _pointer(path: Iterable[object]) -> str:
    """Where in the document, as a JSON pointer (RFC 6901): ``#/paths/~1items/get``."""
    escaped = [str(part).replace("~", "~0").replace("/", "~1") for part in path]
    return "#/" + "/".join(escaped) if escaped else "#"


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True)


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    """Every ``(METHOD, path)`` the document describes."""
    return {
        (method.upper(), path)
        for path, item in (document.get("paths") or {}).items()
        if isinstance(item, dict)
        for method in item
        if method in HTTP_METHODS
    }
