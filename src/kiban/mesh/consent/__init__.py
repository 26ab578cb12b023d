"""Consent artefacts (同意): a resident's permission for one consumer to have one service's
data about them, for one purpose, until a day, once or repeatedly.

Where the legal basis of an exchange is the person's consent — above all for consumers
outside government, a bank or an insurer — the resident grants the artefact on their portal
at the consumer's request, sees it there with every other and revokes it when they wish.  The
provider's gateway spends it on every request that names it, before the provider's system
sees the request, and withholds an answer about anyone else (``docs/mesh-consent.md``).
"""
