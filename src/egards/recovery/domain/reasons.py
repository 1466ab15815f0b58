"""The reasons a proposal gives, in French and English."""

from __future__ import annotations

from egards.formats import format_money as _format_money
from egards.formats import format_number as _format_number
from egards.recovery.domain.catalogue import (
    GestureOption,
)
from egards.recovery.domain.signals import (
    CaseSignals,
    CustomerSignals,
)


def format_money(cents: int, lang: str) -> str:
    """``€8,400`` / ``8 400 €`` (Babel), with cents only when there are any."""
    return _format_money(cents, lang)


def _format_count(value: int, lang: str) -> str:
    return _format_number(value, lang)


def _years(years: float, lang: str) -> str:
    whole = int(years)
    if whole < 1:
        return "moins d'un an" if lang == "fr" else "less than a year"
    if lang == "fr":
        return f"{whole} an" if whole == 1 else f"{whole} ans"
    return f"{whole} year" if whole == 1 else f"{whole} years"


def _facts(case: CaseSignals, customer: CustomerSignals) -> dict[str, list[str]]:
    """The facts an agent would cite, in each language, most telling first."""
    facts: dict[str, list[str]] = {"fr": [], "en": []}
    if not customer.is_customer:
        facts["fr"].append("pas client")
        facts["en"].append("not a customer")
    else:
        held = case.tier_lost_name if case.tier_lost else None
        label = held or customer.tier_name or customer.tier
        if label:
            facts["fr"].append(f"{label} depuis {_years(customer.tenure_years, 'fr')}")
            facts["en"].append(f"{label} for {_years(customer.tenure_years, 'en')}")
        else:
            facts["fr"].append(f"client depuis {_years(customer.tenure_years, 'fr')}")
            facts["en"].append(f"customer for {_years(customer.tenure_years, 'en')}")
        if customer.clv_cents is not None:
            facts["fr"].append(f"valeur client {format_money(_whole(customer.clv_cents), 'fr')}")
            facts["en"].append(f"CLV {format_money(_whole(customer.clv_cents), 'en')}")
        elif customer.spend_12m_cents > 0:
            spend = _whole(customer.spend_12m_cents)
            facts["fr"].append(f"{format_money(spend, 'fr')} d'achats sur 12 mois")
            facts["en"].append(f"{format_money(spend, 'en')} spent in 12 months")
    if case.broken_promises:
        n = case.broken_promises
        facts["fr"].append(f"{n} promesse{'s' if n > 1 else ''} non tenue{'s' if n > 1 else ''}")
        facts["en"].append(f"{n} broken promise{'s' if n > 1 else ''}")
    if case.repeated_incidents:
        n = case.repeated_incidents
        facts["fr"].append(
            f"{n} autre{'s' if n > 1 else ''} dossier{'s' if n > 1 else ''} en 12 mois"
        )
        facts["en"].append(f"{n} other case{'s' if n > 1 else ''} in 12 months")
    if case.tier_lost and case.lost_after_service_failure:
        facts["fr"].append("déclassé après un incident de service")
        facts["en"].append("downgraded after a service failure")
    elif case.tier_lost:
        facts["fr"].append("déclassé ces 12 derniers mois")
        facts["en"].append("downgraded in the last 12 months")
    if case.sentiment is not None and case.sentiment <= -0.5:
        facts["fr"].append("très mécontent")
        facts["en"].append("very unhappy")
    return facts


def _whole(cents: int) -> int:
    """Cents rounded half up to whole euros, still in cents: value figures need no cents."""
    return (cents + 50) // 100 * 100


def _action(option: GestureOption, case: CaseSignals, customer: CustomerSignals, lang: str) -> str:
    if option.kind == "status_exception":
        if case.tier_lost and case.tier_lost_name:
            return (
                f"rétablir {case.tier_lost_name}"
                if lang == "fr"
                else f"restore {case.tier_lost_name}"
            )
        if customer.tier_name:
            if lang == "fr":
                return f"maintenir {customer.tier_name} une période de plus"
            return f"keep {customer.tier_name} for one more period"
    if option.kind == "points" and option.amount is not None:
        currency = customer.currency_name.get(lang) or customer.currency_name.get("en", "points")
        count = _format_count(option.amount, lang)
        return f"{count} {currency} offerts" if lang == "fr" else f"{count} bonus {currency}"
    return option.name.get(lang) or option.name.get("en") or option.code


def _reason(
    option: GestureOption,
    case: CaseSignals,
    customer: CustomerSignals,
    facts: dict[str, list[str]],
    cost: int,
    cash: int,
    worked: int,
    failed: int,
) -> dict[str, str]:
    """``Gold for 6 years, CLV €8,400, …: restore Gold, cost €0 in cash (€120 in all)``."""
    reason = {}
    for lang in ("fr", "en"):
        if lang == "fr":
            price = f"coût {format_money(cash, 'fr')} en numéraire"
            if cost != cash:
                price += f" ({format_money(cost, 'fr')} au total)"
            past = ""
            if failed and not worked:
                past = ", n'a pas fonctionné la dernière fois"
            elif worked and not failed:
                past = ", a déjà fonctionné"
        else:
            price = f"cost {format_money(cash, 'en')} in cash"
            if cost != cash:
                price += f" ({format_money(cost, 'en')} in all)"
            past = ""
            if failed and not worked:
                past = ", did not work last time"
            elif worked and not failed:
                past = ", worked before"
        head = ", ".join(facts[lang])
        action = _action(option, case, customer, lang)
        colon = "\u00a0: " if lang == "fr" else ": "
        line = f"{head}{colon}{action}, {price}{past}" if head else f"{action}, {price}{past}"
        reason[lang] = line[0].upper() + line[1:]
    return reason
