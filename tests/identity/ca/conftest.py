"""Fixtures for the certificate authority tests (shared with the card tests)."""

from __future__ import annotations

from identity.ca.ca_support import authority, make_resident

__all__ = ["authority", "make_resident"]
