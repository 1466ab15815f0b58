"""French and English. English strings are the keys; French comes from translations/fr.json."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from egards.config import LOCALES
from egards.features import FEATURES

PARIS = ZoneInfo("Europe/Paris")


@cache
def catalogue(locale: str) -> dict[str, str]:
    """The shared catalogue, plus each feature's own ``translations/<locale>.json``."""
    if locale == "en":
        return {}
    merged: dict[str, str] = {}
    for folder in ("web", *FEATURES):
        path = files("egards") / folder / "translations" / f"{locale}.json"
        if path.is_file():
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def translate(locale: str, text: str, **values: object) -> str:
    result = catalogue(locale).get(text, text)
    return result.format(**values) if values else result


def pick_locale(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate in LOCALES:
            return candidate
    return "fr"


def format_datetime(value: datetime | None, locale: str, zone: ZoneInfo = PARIS) -> str:
    if value is None:
        return ""
    local = value.astimezone(zone)
    return local.strftime("%d/%m/%Y %H:%M") if locale == "fr" else local.strftime("%Y-%m-%d %H:%M")
