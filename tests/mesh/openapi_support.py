"""OpenAPI documents of mesh services, for the tests."""

from __future__ import annotations

RESIDENT_CERTIFICATE = """\
openapi: 3.1.0
info: {title: 住民票情報 / Resident certificate, version: "1"}
paths:
  /residents/{addressee_number}/certificate:
    get:
      parameters:
        - {name: addressee_number, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: 住民票の記載事項}
  /residents/{addressee_number}/household:
    get:
      parameters:
        - {name: addressee_number, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: 世帯}
"""
