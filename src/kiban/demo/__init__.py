"""Clearly marked demonstration pieces that are not part of the infrastructure itself."""
