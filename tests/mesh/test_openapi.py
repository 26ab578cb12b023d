"""Services' OpenAPI documents: valid ones are kept as JSON, others refused on one line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiban.mesh.openapi import InvalidOpenAPI, as_json, operations, read_openapi
from mesh.openapi_support import RESIDENT_CERTIFICATE


def test_yaml_and_json_read_alike_with_their_operations() -> None:
    from_yaml = read_openapi(RESIDENT_CERTIFICATE)
    assert read_openapi(as_json(from_yaml)) == from_yaml
    assert operations(from_yaml) == {
        ("GET", "/residents/{addressee_number}/certificate"),
        ("GET", "/residents/{addressee_number}/household"),
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "neither JSON nor YAML at line 1"),
        ("- a list", "an OpenAPI document is an object"),
        ('{"swagger": "2.0"}', "Swagger 2.0 is not accepted"),
        ('{"openapi": "3.1.0"}', "#: 'info' is a required property"),
        (
            json.dumps(
                {
                    "openapi": "3.0.3",
                    "info": {"title": "x", "version": "1"},
                    "paths": {"/a": {"get": {"responses": {"200": {"summary": "no description"}}}}},
                }
            ),
            "#/paths/~1a/get/responses/200",
        ),
        ("[" * 100_000, "nests too deeply"),
        ("x" * 1_000_001, "larger than 1,000,000 bytes"),
    ],
)
def test_a_bad_document_is_refused_with_where_and_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidOpenAPI) as refused:
        read_openapi(text)
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)


def _outcome(text: str) -> str:
    try:
        read_openapi(text)
    except InvalidOpenAPI as refused:
        return str(refused)
    return ""


@given(
    st.text(max_size=200) | st.recursive(st.none() | st.text(max_size=5), st.lists).map(json.dumps)
)
def test_any_text_is_a_document_or_a_one_line_refusal(text: str) -> None:
    assert "\n" not in _outcome(text)
