"""The OpenID Connect provider through which relying parties sign people in."""
