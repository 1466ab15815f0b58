"""The product's parts, in dependency order, and the seams where each plugs in.

A feature folder may provide any of: ``models`` (tables), ``api.router`` (JSON routes),
``pages.router`` (console pages), ``pages.NAV`` (console menu entries),
``pages.customer_panels`` (panels on the customer 360 page), ``pages.case_panels`` (panels
beside a case), ``cli.app`` (a Typer group), ``demo.populate`` (demo data),
``translations/fr.json``, ``portal.panels`` (panels in the customer's own space, see
:mod:`egards.web.panels`), and in ``service`` the two GDPR hooks: ``export_section(session,
customer_id)`` (what it holds about a person, for their export) and
``erase_customer_data(session, erasure)`` (remove or anonymise everything personal it holds
about the customers of a :class:`egards.privacy.Erasure`). Nothing else needs to know
a feature exists.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

FEATURES = (
    "accounts",
    "audit",
    "customers",
    "outbox",
    "loyalty",
    "cases",
    "analytics",
    "recovery",
    "subscriptions",
    "voice",
    "ideas",
    "social",
    "portal",
    "batch",
)


def modules(name: str) -> Iterator[tuple[str, ModuleType]]:
    """Each feature's module ``name`` (e.g. "models", "api"), for features that have one."""
    for feature in FEATURES:
        qualified = f"egards.{feature}.{name}"
        if importlib.util.find_spec(f"egards.{feature}") and importlib.util.find_spec(qualified):
            yield feature, importlib.import_module(qualified)


def hooks(module: str, name: str) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Each feature's function ``name`` of its module ``module`` (e.g. "service",
    "erase_customer_data"), in dependency order, for features that define it."""
    for feature, found in modules(module):
        if callable(hook := getattr(found, name, None)):
            yield feature, hook
