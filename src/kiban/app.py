"""The FastAPI application: API, OpenAPI 3.1 description and HTML pages."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from kiban import __version__
from kiban.core.access import PublicAccess
from kiban.core.config import Settings, get_settings
from kiban.core.csrf import CsrfCookieMiddleware
from kiban.core.database import (
    autocommit_session_factory,
    create_database_engine,
    session_factory,
    session_scope,
)
from kiban.core.errors import ProblemError, install_problem_handlers
from kiban.core.logging import configure_logging, get_logger
from kiban.core.middleware import RequestIdMiddleware
from kiban.core.security_headers import SecurityHeadersMiddleware

log = get_logger(__name__)


def _include_routers(app: FastAPI) -> None:
    from kiban.demo.relying_party import router as demo_relying_party_router
    from kiban.identity.business.pages import router as business_pages_router
    from kiban.identity.ca.api import router as ca_router
    from kiban.identity.card.api import router as card_router
    from kiban.identity.card.pages import router as card_pages_router
    from kiban.identity.oidc.api import router as oidc_router
    from kiban.identity.oidc.pages import router as oidc_pages_router
    from kiban.identity.staff.pages import router as staff_pages_router
    from kiban.mesh.api import router as mesh_router
    from kiban.mesh.consent.api import router as consent_router
    from kiban.mesh.consent.pages import router as consent_pages_router
    from kiban.mesh.providers.api import router as mesh_providers_router
    from kiban.mesh.tracker.api import router as tracker_router
    from kiban.mesh.tracker.pages import router as tracker_pages_router
    from kiban.registry.addresses.api import router as addresses_router
    from kiban.registry.addresses.pages import router as address_pages_router
    from kiban.registry.corporations.api import router as corporations_router
    from kiban.registry.localgov.api import router as localgov_router
    from kiban.registry.localgov.pages import router as localgov_pages_router
    from kiban.residents.api import router as residents_router
    from kiban.web.pages import install_pages

    app.include_router(addresses_router)
    app.include_router(address_pages_router)
    app.include_router(corporations_router)
    app.include_router(localgov_router)
    app.include_router(residents_router)
    app.include_router(ca_router)
    app.include_router(card_router)
    app.include_router(card_pages_router)
    app.include_router(oidc_router)
    app.include_router(oidc_pages_router)
    app.include_router(demo_relying_party_router)
    app.include_router(staff_pages_router)
    app.include_router(business_pages_router)
    app.include_router(localgov_pages_router)
    app.include_router(mesh_router)
    app.include_router(tracker_router)
    app.include_router(tracker_pages_router)
    app.include_router(consent_router)
    app.include_router(consent_pages_router)
    app.include_router(mesh_providers_router)
    install_pages(app)  # the home page, /static and HTML error pages


def preload_address_registry(app: FastAPI) -> None:
    from kiban.registry.addresses.service import normalizer_for

    try:
        normalizer_for(app.state, app.state.session_factory)
    except Exception:  # a failed preload is retried by the first request that needs it
        log.exception("registry_preload_failed")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    engine = engine or create_database_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.preload_registry:
            # The first address lookup would otherwise wait the ~1.5 s the index takes.
            threading.Thread(
                target=preload_address_registry, args=(app,), name="registry-preload", daemon=True
            ).start()
        yield
        engine.dispose()

    app = FastAPI(
        title="kiban",
        summary="国・地方デジタル共通基盤 — National–Local Digital Common Infrastructure",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.unit_of_work = partial(session_scope, app.state.session_factory)
    app.state.single_statements = partial(session_scope, autocommit_session_factory(engine))
    app.add_middleware(CsrfCookieMiddleware, secure=settings.secure_cookies)
    app.add_middleware(SecurityHeadersMiddleware, https=settings.public_url.startswith("https://"))
    app.add_middleware(RequestIdMiddleware)  # added last: outermost, so every line has the id
    install_problem_handlers(app)
    _include_routers(app)

    @app.get("/healthz", tags=["operations"], dependencies=[PublicAccess])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            raise ProblemError(
                503,
                "database-unavailable",
                "Database unavailable / データベースに接続できません",
                type(error).__name__,
            ) from error
        return {"status": "ok", "database": "ok"}

    return app
