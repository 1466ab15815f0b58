from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from egards.features import FEATURES, modules
from egards.web import csrf
from egards.web.i18n import (
    format_datetime,
    format_day,
    format_money,
    format_number,
    format_percentage,
    format_short_datetime,
    render_message,
    translate,
    translate_context,
    translate_plural,
)
from egards.web.static_files import static_url

templates = Jinja2Templates(
    directory=[str(files("egards.web") / "templates")]
    + [
        str(files("egards") / feature / "templates")
        for feature in FEATURES
        if (files("egards") / feature / "templates").is_dir()
    ]
)
templates.env.globals["static_url"] = static_url
# Console menu entries: (path, label, permission) from each feature's pages.NAV.
NAV: list[tuple[str, str, str]] = []
# The same entries grouped by feature, one menu per group: (group label, entries). A feature
# names its group with pages.NAV_GROUP (default: its first entry's label).
NAV_GROUPS: list[tuple[str, list[tuple[str, str, str]]]] = []
# The core's own group, first in the menu: the customer file and the audit trail.
CORE_GROUP = (
    "Customers",
    [
        ("/customers", "Find a customer", "customers:read"),
        ("/audit", "Audit trail", "audit:read"),
    ],
)


@dataclass(frozen=True)
class MenuGroup:
    label: str
    entries: list[tuple[str, str, bool]]  # (path, label, current page)

    @property
    def active(self) -> bool:
        return any(current for _, _, current in self.entries)


def collect_nav() -> None:
    NAV.clear()
    NAV_GROUPS.clear()
    NAV_GROUPS.append((CORE_GROUP[0], list(CORE_GROUP[1])))
    for _, pages in modules("pages"):
        entries: list[tuple[str, str, str]] = list(getattr(pages, "NAV", ()))
        NAV.extend(entries)
        if entries:
            label = getattr(pages, "NAV_GROUP", entries[0][1])
            # Features that name the same group share it (the menu keeps five groups).
            group = next((g for name, g in NAV_GROUPS if name == label), None)
            if group is None:
                NAV_GROUPS.append((label, list(entries)))
            else:
                group.extend(entries)


def menu(actor: Any, path: str) -> list[MenuGroup]:
    """The menu groups this actor may open, with the entry of the current page marked (the
    longest path that the current one starts with, so /recovery/approvals is not /recovery)."""
    visible = [
        (label, [(p, text) for p, text, permission in entries if actor.can(permission)])
        for label, entries in NAV_GROUPS
    ]
    prefixes = [p for _, entries in visible for p, _ in entries if _under(path, p)]
    current = max(prefixes, key=len, default=None)
    return [
        MenuGroup(label, [(p, text, p == current) for p, text in entries])
        for label, entries in visible
        if entries
    ]


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    locale = getattr(request.state, "locale", "fr")
    base = {
        "_": lambda text, **kw: translate(locale, text, **kw),
        "locale": locale,
        "ngettext": lambda one, many, n, **kw: translate_plural(locale, one, many, n, **kw),
        "pgettext": lambda context, text, **kw: translate_context(locale, context, text, **kw),
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
        "dt_due": lambda value: format_datetime(value, locale, with_zone=True),
        "csrf_token": _masked_csrf(request),
        "actor": getattr(request.state, "actor", None),
        "nav": NAV,
        "menu": menu,
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status_code
    )


def _masked_csrf(request: Request) -> str:
    """The session's CSRF secret masked afresh for this page (web.csrf: BREACH)."""
    secret = request.session.get("csrf", "") if "session" in request.scope else ""
    return csrf.mask(secret) if secret else ""
