"""The product's parts, in dependency order, and the seams where each plugs in.

A feature folder may provide any of: ``models`` (tables), ``api.router`` (JSON routes),
``pages.router`` (console pages), ``pages.NAV`` (console menu entries),
``pages.customer_panels`` (panels on the customer 360 page), ``pages.case_panels`` (panels
beside a case), ``cli.app`` (a Typer group), ``demo.populate`` (demo data),
``translations/fr.json``. Nothing else needs to know a feature exists.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from types import ModuleType

FEATURES = ("accounts", "audit", "customers", "outbox", "loyalty", "cases", "analytics", "recovery")


def modules(name: str) -> Iterator[tuple[str, ModuleType]]:
    """Each feature's module ``name`` (e.g. "models", "api"), for features that have one."""
    for feature in FEATURES:
        qualified = f"egards.{feature}.{name}"
        if importlib.util.find_spec(f"egards.{feature}") and importlib.util.find_spec(qualified):
            yield feature, importlib.import_module(qualified)
