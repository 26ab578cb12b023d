"""One place that imports every domain's models, for migrations and metadata."""

from __future__ import annotations


def import_all_models() -> None:
    import kiban.core.audit
    import kiban.core.sessions
    import kiban.core.tenancy
    import kiban.core.throttle
    import kiban.identity.business.models
    import kiban.identity.ca.models
    import kiban.identity.card.models
    import kiban.identity.oidc.models
    import kiban.identity.staff.models
    import kiban.mesh.consent.models
    import kiban.mesh.providers.models
    import kiban.mesh.registry.models
    import kiban.mesh.tracker.models
    import kiban.registry.addresses.models
    import kiban.registry.corporations.models
    import kiban.registry.localgov.models
    import kiban.registry.models
    import kiban.residents.models  # noqa: F401
