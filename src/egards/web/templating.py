from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from egards.web.i18n import format_datetime, translate

templates = Jinja2Templates(directory=str(files("egards.web") / "templates"))


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    locale = getattr(request.state, "locale", "fr")
    base = {
        "_": lambda text, **kw: translate(locale, text, **kw),
        "locale": locale,
        "dt": lambda value: format_datetime(value, locale),
        "csrf_token": request.session.get("csrf", "") if "session" in request.scope else "",
        "actor": getattr(request.state, "actor", None),
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status_code
    )
