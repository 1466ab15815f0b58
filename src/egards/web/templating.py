from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from egards.features import FEATURES, modules
from egards.web.i18n import (
    format_datetime,
    format_day,
    format_money,
    format_number,
    format_percentage,
    format_short_datetime,
    render_message,
    translate,
    translate_plural,
)

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
        "ngettext": lambda one, many, n, **kw: translate_plural(locale, one, many, n, **kw),
        "dt": lambda value, long=False, zone=False: (
            format_datetime(value, locale, with_zone=zone)
            if long or zone
            else format_short_datetime(value, locale)
        ),
        "said": lambda stored, fallback="": render_message(locale, stored, fallback or ""),
        "day": lambda value: format_day(value, locale),
        "number": lambda value: format_number(value, locale),
        "percent": lambda share, digits=0: format_percentage(share, locale, digits),
        "money": lambda cents, currency="EUR": format_money(cents, locale, currency),
        "csrf_token": request.session.get("csrf", "") if "session" in request.scope else "",
        "actor": getattr(request.state, "actor", None),
        "nav": NAV,
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status_code
    )
