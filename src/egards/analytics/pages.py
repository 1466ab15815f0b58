"""Console pages of customer value and risk: the analytics page and the 360 panel."""

from __future__ import annotations

from datetime import date

import numpy as np
from babel.numbers import get_decimal_symbol, get_group_symbol
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.analytics import service
from egards.analytics.diagnostics import Comparison, comparison_svg
from egards.analytics.errors import NotScored
from egards.customers.service import Customer
from egards.errors import N_
from egards.formats import babel_locale, format_number
from egards.i18n import translate
from egards.web.deps import CurrentActor, DbSession, SmallId
from egards.web.panels import Panel
from egards.web.templating import render

router = APIRouter(include_in_schema=False)
NAV = [("/analytics", "Analytics", Permission.ANALYTICS_READ)]

# The run's settings shown on its page, in this order, with their labels (the fitted models
# are shown apart).
RUN_SETTINGS = {
    "refit": N_("Refit asked"),
    "margin": N_("Margin"),
    "annual_discount_rate": N_("Annual discount rate"),
    "clv_months": N_("CLV horizon in months"),
    "churn_window_days": N_("Churn window in days"),
}


@router.get("/analytics")
def analytics_page(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    actor.require(Permission.ANALYTICS_READ)
    lang = "en" if getattr(request.state, "locale", "fr") == "en" else "fr"
    run = service.latest_run(session)
    silent, silent_total = (
        service.silent_loyal(session, actor=actor, lang=lang) if run is not None else ([], 0)
    )
    return render(
        request,
        "analytics/overview.html",
        {
            "run": run,
            "report": run.report if run else {},
            "segments": service.segments(session, actor=actor, lang=lang) if run else [],
            "silent": silent,
            "silent_total": silent_total,
            "runs": service.runs(session, actor=actor, limit=8),
            "programme_names": _programme_names(lang),
            "number_symbols": _number_symbols(lang),
            "period_transactions_svg": _period_transactions_svg(run.report, lang) if run else None,
        },
    )


@router.get("/analytics/runs/{run_id}")
def run_page(
    request: Request, session: DbSession, actor: CurrentActor, run_id: SmallId
) -> Response:
    """One scoring run: when, on what, the model chosen with its parameters, and its charts."""
    lang = "en" if getattr(request.state, "locale", "fr") == "en" else "fr"
    run = service.get_run(session, actor=actor, run_id=run_id)
    return render(
        request,
        "analytics/run.html",
        {
            "run": run,
            "report": run.report,
            "settings": [
                (label, run.parameters[name])
                for name, label in RUN_SETTINGS.items()
                if run.parameters.get(name) is not None
            ],
            "fitted_on": date.fromisoformat(fitted)
            if (fitted := run.parameters.get("fitted_as_of"))
            else None,
            "period_transactions_svg": _period_transactions_svg(run.report, lang),
            "fitted_by": service.fitting_run_id(session, run),
        },
    )


def _programme_names(lang: str) -> dict[str, dict[str, str]]:
    """Each programme's name and its tiers' names in the reader's language, by code."""
    from egards.loyalty import service as loyalty

    return {
        code: {
            "": programme.name.get(lang),
            **{tier.code: tier.name.get(lang) for tier in programme.tiers},
        }
        for code, programme in loyalty.programmes().items()
    }


def _period_transactions_svg(report: dict, lang: str) -> str | None:
    """Customers by repeat purchases, actual against the purchase model, as an SVG chart."""
    stored = (report.get("value_models") or {}).get("bg_nbd", {}).get("period_transactions")
    if not stored:
        return None
    comparison = Comparison(
        list(stored["labels"]),
        np.asarray(stored["actual"], dtype=float),
        np.asarray(stored["model"], dtype=float),
    )
    peak = float(max(comparison.actual.max(initial=0.0), comparison.model.max(initial=0.0)))
    return comparison_svg(
        comparison,
        title=translate(lang, "Customers by number of repeat purchases"),
        y_label=translate(lang, "Customers"),
        actual_label=translate(lang, "actual"),
        model_label=translate(lang, "model"),
        number=lambda value: format_number(round(value) if peak >= 10 else round(value, 2), lang),
    )


def _number_symbols(lang: str) -> dict[str, str]:
    """Babel's digit grouping and decimal marks, for the charts' axes (``8 000`` in French)."""
    locale = babel_locale(lang)
    return {"group": get_group_symbol(locale), "decimal": get_decimal_symbol(locale)}


def value_panel(session: Session, actor: Actor, customer: Customer) -> Panel | None:
    if actor.is_partner or not service.can_see_scores(actor):
        return None
    lang = "fr" if customer.preferred_language == "fr" else "en"
    try:
        score = service.customer_score(session, actor=actor, customer_id=customer.id, lang="en")
        score["reasons_fr"] = service.reasons_in_words(
            session, codes=score["churn_reasons"], lang="fr", customer_id=customer.id
        )
        score["segment_label_fr"] = service.segment_label(score["segment"], "fr")
    except NotScored:
        score = None
    return Panel(
        template="analytics/_value_panel.html",
        context={
            "score": score,
            "customer": customer,
            "lang": lang,
            "run_links": actor.can(Permission.ANALYTICS_READ),
        },
        column="side",
    )


customer_panels = [value_panel]
