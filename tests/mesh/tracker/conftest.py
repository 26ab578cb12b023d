"""Fixtures for the data tracker's tests."""

from __future__ import annotations

from identity.ca.ca_support import authority
from mesh.tracker.tracker_support import gateways, mesh, set_clock

__all__ = ["authority", "gateways", "mesh", "set_clock"]
