"""The FastAPI application: routers, pages, static files, error handlers."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware

from egards import __version__
from egards.config import Settings, get_settings
from egards.db import Database, make_engine
from egards.web import csp, problems
from egards.web.deps import set_locale
from egards.web.templating import collect_nav


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(make_engine(settings.resolved_database_url))
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

    @app.middleware("http")
    async def locale_middleware(request: Request, call_next):
        set_locale(request)
        return await call_next(request)

    @app.middleware("http")
    async def content_security_policy(request: Request, call_next):
        response = await call_next(request)
        if request.url.path not in csp.EXEMPT_PATHS:
            response.headers.setdefault("Content-Security-Policy", csp.DEFAULT)
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key,
        session_cookie="egards_session",
        max_age=12 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(problems.BodyLimit, max_bytes=settings.max_body_bytes)
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
        app.include_router(api.router, prefix="/api/v1")
    app.include_router(pages)
    for _, feature_pages in modules("pages"):
        app.include_router(feature_pages.router)
    collect_nav()
    app.mount("/static", StaticFiles(directory=str(files("egards.web") / "static")), name="static")
    return app
