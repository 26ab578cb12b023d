"""The certificate authority: a root and an issuing CA, resident and organisation
certificates, and their revocation."""
