"""Identity: the certificate authority, card sign-in, the OpenID Connect provider, business
IDs and staff accounts."""
