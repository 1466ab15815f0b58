"""French and English at the web edge: the gettext catalogues of ``egards.i18n`` and the Babel
formats of ``egards.formats``, under the names the pages and features import."""

from __future__ import annotations

from egards.formats import (
    BUSINESS_ZONE,
    format_day,
    format_money,
    format_number,
    format_percentage,
)
from egards.i18n import (
    N_,
    PARIS,
    accept_language,
    catalogue,
    format_datetime,
    format_short_datetime,
    pick_locale,
    readable,
    render_message,
    translate,
    translate_context,
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
    "format_percentage",
    "format_short_datetime",
    "pick_locale",
    "readable",
    "render_message",
    "translate",
    "translate_context",
    "translate_plural",
]
