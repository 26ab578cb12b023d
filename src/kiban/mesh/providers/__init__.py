"""The provider systems behind kiban's standard mesh services.

``kiban serve``, the municipalities' common SaaS, is each municipality's resident-records and
tax system; here it answers the calls that the municipality's own mesh gateway passes on —
resident certificates, households, income certificates, population statistics — and, for the
national tax agency, the corporation registry.  docs/mesh-services.md describes the services.
"""
