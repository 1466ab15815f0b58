from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from egards.features import FEATURES, modules
from egards.web.i18n import format_datetime, translate

templates = Jinja2Templates(
    directory=[str(files("egards.web") / "templates")]
    + [
        str(files("egards") / feature / "templates")
        for feature in FEATURES
        if (files("egards") / feature / "templates").is_dir()
    ]
)
# Console menu entries: (path, label, permission) from each feature's pages.NAV.
NAV: list[tuple[str, str, str]] = []


def collect_nav() -> None:
    NAV.clear()
    for _, pages in modules("pages"):
        NAV.extend(getattr(pages, "NAV", ()))


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
        "nav": NAV,
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status_code
    )
