"""Per-tenant staff accounts with roles, password and TOTP."""
