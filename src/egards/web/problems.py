"""RFC 9457 problem details: the one place where domain errors become HTTP answers."""

from __future__ import annotations

import logging
import re
from typing import Any

from babel.lists import format_list
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from egards.db import is_busy
from egards.errors import DomainError, NotAuthenticated
from egards.formats import babel_locale
from egards.web.i18n import N_, accept_language, pick_locale, readable, translate

log = logging.getLogger("egards")
PROBLEM_JSON = "application/problem+json"


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: ``code`` is stable, ``errors`` name each field and its reason."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    errors: list[dict[str, Any]] | None = None


_PROBLEM_SCHEMA = ProblemDetails.model_json_schema()
# The error answers every JSON route declares in OpenAPI (app.py gives them to every API
# router): a body that is not JSON (400), credentials, permissions, absence, conflicts,
# invalid fields, a body over the size limit (413), and a database too busy to answer in
# time (503, with Retry-After).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}
    for code, text in {
        400: "Malformed body",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        422: "Invalid input",
        503: "Busy: the database did not answer in time; retry after `Retry-After` seconds",
    }.items()
}
# Seconds a client is asked to wait before retrying a request the server was too busy for.
RETRY_AFTER = 1


class Problem(JSONResponse):
    media_type = PROBLEM_JSON


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    instance: str,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://egards.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def field_path(loc: tuple[Any, ...]) -> str:
    """("body", "emails", 0) -> "emails[0]"; ("query", "limit") -> "limit"."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "form") else loc)
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or str(loc[0] if loc else "body")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and request.url.path != "/healthz"


def reader_locale(request: Request) -> str:
    """The language of an answer: the console's (the session's, else the default) for a page;
    ``Accept-Language`` for the API, English when it asks for neither of ours."""
    if _wants_html(request):
        settings = getattr(request.app.state, "settings", None)
        chosen = request.session.get("locale") if "session" in request.scope else None
        return pick_locale(
            getattr(request.state, "locale", None),
            chosen,
            accept_language(request.headers.get("accept-language")),
            getattr(settings, "default_locale", None),
        )
    return accept_language(request.headers.get("accept-language")) or "en"


def error_text(locale: str, exc: DomainError) -> str:
    """A domain error's message in ``locale`` (its template translated, else as written)."""
    return readable(locale, exc)


# The reasons pydantic gives most often, in words the catalogue translates; English keeps
# pydantic's own sentence (API clients may match on it), another language reads these.
VALIDATION_REASONS = {
    "missing": N_("required"),
    "extra_forbidden": N_("not a field of this request"),
    "string_too_long": N_("{max_length} characters at most"),
    "string_too_short": N_("{min_length} characters at least"),
    "string_type": N_("must be text"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "bool_parsing": N_("must be true or false"),
    "bool_type": N_("must be true or false"),
    "decimal_parsing": N_("must be a number"),
    "float_parsing": N_("must be a number"),
    "greater_than_equal": N_("must be {ge} or more"),
    "greater_than": N_("must be more than {gt}"),
    "less_than_equal": N_("must be {le} or less"),
    "less_than": N_("must be less than {lt}"),
    "literal_error": N_("must be {expected}"),
    "enum": N_("must be {expected}"),
    "date_from_datetime_parsing": N_("must be a date written YYYY-MM-DD"),
    "date_parsing": N_("must be a date written YYYY-MM-DD"),
    "datetime_parsing": N_("must be a date and time"),
    "datetime_from_date_parsing": N_("must be a date and time"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be an object"),
    "model_type": N_("must be an object"),
    "too_long": N_("{max_length} items at most"),
    "too_short": N_("{min_length} items at least"),
}


def validation_reason(locale: str, error: Any) -> str:
    """One field's reason from pydantic, in ``locale`` when the catalogue has its words."""
    template = VALIDATION_REASONS.get(error.get("type", ""))
    if locale == "en" or template is None:
        return str(error.get("msg", ""))
    context = {k: str(v).replace("'", "") for k, v in (error.get("ctx") or {}).items()}
    if error.get("type") in ("literal_error", "enum") and error.get("ctx"):
        context["expected"] = choices(locale, str(error["ctx"].get("expected", "")))
    try:
        return translate(locale, template, **context)
    except (KeyError, IndexError, ValueError):
        return str(error.get("msg", ""))


def choices(locale: str, expected: str) -> str:
    """Pydantic's allowed values (``'email', 'post' or 'phone'``) listed the reader's way by
    Babel (``email, post ou phone``); text that is not such a list is kept as written."""
    values = re.findall(r"'((?:[^'\\]|\\.)*)'", expected)
    if not values:
        return expected.replace("'", "")
    return format_list(values, style="or", locale=babel_locale(locale))


def _html_error(request: Request, status: int, detail: str) -> Response:
    from egards.web.templating import render

    detail = translate(reader_locale(request), detail)
    if request.headers.get("HX-Request"):
        return HTMLResponse(
            f'<div class="flash error" role="alert">{_escape(detail)}</div>',
            status_code=status,
            headers={"HX-Reswap": "innerHTML", "HX-Retarget": "#flash"},
        )
    return render(request, "error.html", {"status": status, "detail": detail}, status_code=status)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def busy(request: Request) -> Response:
    """503 with Retry-After: a wait for the database (a turn, a connection, a lock) ran out.
    Nothing was written; the same request can be sent again."""
    detail = N_("the server is busy; nothing was changed, try again in a moment")
    headers = {"Retry-After": str(RETRY_AFTER)}
    if _wants_html(request):
        response = _html_error(request, 503, detail)
        response.headers.update(headers)
        return response
    body = problem(503, "Busy", detail, code="busy", instance=request.url.path)
    return Problem(body, status_code=503, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if _wants_html(request):
            if isinstance(exc, NotAuthenticated) and not request.headers.get("HX-Request"):
                # The customer's own space signs in by e-mailed link, never at the console.
                if request.url.path == "/my" or request.url.path.startswith("/my/"):
                    return RedirectResponse("/my/sign-in", status_code=303)
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            return _html_error(request, exc.status, error_text(reader_locale(request), exc))
        locale = reader_locale(request)
        detail = error_text(locale, exc)
        errors = [{"field": exc.field, "reason": detail}] if exc.field else None
        headers = {"Content-Language": locale}
        if isinstance(exc, NotAuthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        reserved = {"type", "title", "status", "detail", "instance", "code", "errors"}
        context = {
            k: v
            for k, v in exc.context.items()
            if k not in reserved and isinstance(v, str | int | bool | None)
        }
        return Problem(
            problem(
                exc.status,
                translate(locale, exc.title),
                detail,
                code=exc.code,
                instance=request.url.path,
                errors=errors,
                **context,
            ),
            status_code=exc.status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        locale = reader_locale(request)
        errors = [
            {
                "field": "body",
                "reason": f"malformed JSON ({e['ctx'].get('error', 'decode error')})"
                if e.get("ctx")
                else "malformed JSON",
                "type": e["type"],
            }
            if e["type"] == "json_invalid"
            else {
                "field": field_path(tuple(e["loc"])),
                "reason": validation_reason(locale, e),
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        if _wants_html(request):
            return _html_error(request, 422, detail)
        return Problem(
            problem(
                422,
                translate(locale, "Invalid input"),
                detail,
                code="invalid_input",
                instance=request.url.path,
                errors=errors,
            ),
            status_code=422,
            headers={"Content-Language": locale},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and exc.status_code == 404:
            return _html_error(request, 404, N_("Page not found"))
        return Problem(
            problem(
                exc.status_code,
                str(exc.detail),
                str(exc.detail),
                code=f"http_{exc.status_code}",
                instance=request.url.path,
            ),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # The database refused a write a rule let through: a concurrent change got there first.
        log.warning("integrity error on %s: %s", request.url.path, exc.orig)
        body = problem(
            409,
            "Conflict with a concurrent change",
            "another request changed the same data at the same time; try again",
            code="concurrent_change",
            instance=request.url.path,
        )
        return Problem(body, status_code=409)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # A value the schema let through but the database cannot store (a NUL character,
        # a number out of the column's range): the request is refused, nothing is written.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "value not storable"
        body = problem(
            422,
            "Invalid input",
            f"a value cannot be stored: {reason}",
            code="invalid_value",
            instance=request.url.path,
        )
        return Problem(body, status_code=422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_wait(request: Request, exc: Exception) -> Response:
        if is_busy(exc):
            log.warning("busy on %s %s: %s", request.method, request.url.path, exc)
            return busy(request)
        return await unexpected(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        if _wants_html(request):
            return _html_error(
                request, 500, N_("An unexpected error occurred; it has been logged.")
            )
        return Problem(
            problem(
                500,
                "Internal error",
                "An unexpected error occurred; it has been logged.",
                code="internal_error",
                instance=request.url.path,
            ),
            status_code=500,
        )


class BodyLimit:
    """Refuse bodies larger than the limit before anything reads them (413, problem details)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = length is not None and length.isdigit() and int(length) > self.max_bytes
        if not too_big:
            seen = 0

            async def limited() -> dict:
                nonlocal seen
                message = await receive()
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
                return message

            try:
                return await self.app(scope, limited, send)
            except _TooLarge:
                pass
        body = problem(
            413,
            "Payload too large",
            f"the body exceeds {self.max_bytes} bytes",
            code="payload_too_large",
            instance=scope["path"],
        )
        await Problem(body, status_code=413)(scope, receive, send)


class _TooLarge(Exception):
    pass
