"""French and English at the web edge: the gettext catalogues and Babel formatting of
``egards.i18n``, under the names the pages and features import."""

from __future__ import annotations

from egards.i18n import (
    BUSINESS_ZONE,
    N_,
    PARIS,
    accept_language,
    catalogue,
    format_datetime,
    format_day,
    format_money,
    format_number,
    format_short_datetime,
    pick_locale,
    render_message,
    translate,
    translate_plural,
)

__all__ = [
    "BUSINESS_ZONE",
    "N_",
    "PARIS",
    "accept_language",
    "catalogue",
    "format_datetime",
    "format_day",
    "format_money",
    "format_number",
    "format_short_datetime",
    "pick_locale",
    "render_message",
    "translate",
    "translate_plural",
]
