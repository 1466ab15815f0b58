"""The FastAPI application: routers, pages, static files, error handlers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware

from egards import __version__
from egards.accounts.domain import SESSION_LIFETIME
from egards.config import Settings, get_settings
from egards.db import Database, engine_from_settings
from egards.web import csp, problems
from egards.web.admission import Admission
from egards.web.deps import set_locale
from egards.web.static_files import FOLDER, CachedStaticFiles
from egards.web.templating import collect_nav

# A raw e-mail handed over by a gateway is as large as the SMTP receiver accepts.
INBOUND_EMAIL = "/api/v1/cases/inbound-email"
# What a customer sends from their own space (a message with its attachments) may be as large
# as the e-mail they could have sent instead.
PORTAL_MESSAGES = "/my/requests/"


class _BodyLimits:
    """:class:`problems.BodyLimit` with a limit of its own for some paths."""

    def __init__(
        self,
        app: Any,
        *,
        default: int,
        by_path: dict[str, int],
        by_prefix: dict[str, int] | None = None,
    ) -> None:
        self.default = problems.BodyLimit(app, default)
        self.by_path = {path: problems.BodyLimit(app, limit) for path, limit in by_path.items()}
        self.by_prefix = [
            (prefix, problems.BodyLimit(app, limit)) for prefix, limit in (by_prefix or {}).items()
        ]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        chosen = self.by_path.get(path) or next(
            (limit for prefix, limit in self.by_prefix if path.startswith(prefix)), self.default
        )
        await chosen(scope, receive, send)


class _Locale:
    """The request's language (:func:`set_locale`), inside the session. Plain ASGI, as the other
    middlewares: Starlette's ``@app.middleware("http")`` runs each request through a task
    group and a memory stream, a cost every API answer paid for one attribute."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            set_locale(Request(scope))
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(engine_from_settings(settings, serving=True))
    app = FastAPI(
        title="Égards",
        version=__version__,
        summary="Loyalty programme and customer relationship in one system.",
        description=(
            "The customer file shared by every silo and partner. Authenticate with a bearer "
            "token (`Authorization: Bearer egd_...`). Errors are RFC 9457 problem details "
            "naming the field and the reason."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db

    app.add_middleware(_Locale)
    app.add_middleware(csp.DefaultPolicy)
    # Inside the session (a busy page speaks the user's language), outside everything else.
    app.add_middleware(Admission, limit=settings.db_pool_size, wait=settings.db_wait_timeout)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key,
        session_cookie="egards_session",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(
        _BodyLimits,
        default=settings.max_body_bytes,
        by_path={INBOUND_EMAIL: settings.max_message_bytes},
        by_prefix={PORTAL_MESSAGES: settings.max_message_bytes},
    )
    # Outermost: pages, API answers and static files leave compressed (htmx: 52 KB → 16 KB).
    # Level 6 (zlib's default) instead of Starlette's 9: a 100-line statement (34 KB) costs
    # 0.18 ms instead of 0.51 to compress, to the same size within 1 %.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    problems.install(app)

    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    def healthz() -> JSONResponse:
        try:
            with db.unit_of_work() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not ready"
            return JSONResponse({"status": "unavailable", "database": str(exc)[:200]}, 503)
        return JSONResponse({"status": "ok", "version": __version__, "database": db.dialect})

    import egards.all_models  # noqa: F401  (mappers configured before the first request)
    from egards.features import modules
    from egards.web.pages import router as pages

    for _, api in modules("api"):
        app.include_router(api.router, prefix="/api/v1", responses=problems.ERRORS)
    app.include_router(pages, include_in_schema=False)
    for _, feature_pages in modules("pages"):
        app.include_router(feature_pages.router, include_in_schema=False)
    collect_nav()
    app.mount("/static", CachedStaticFiles(directory=str(FOLDER)), name="static")
    return app
