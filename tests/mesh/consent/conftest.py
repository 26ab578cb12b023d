"""Fixtures for the consent tests."""

from __future__ import annotations

from identity.ca.ca_support import authority
from mesh.consent.consent_support import consent_mesh, hanako, provider_gateways
from mesh.tracker.tracker_support import set_clock

__all__ = ["authority", "consent_mesh", "hanako", "provider_gateways", "set_clock"]
