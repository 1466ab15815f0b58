"""The reasons a proposal gives, in each of our languages (the recovery catalogue's words)."""

from __future__ import annotations

from egards.config import LOCALES
from egards.formats import format_money as _format_money
from egards.formats import format_number as _format_number
from egards.i18n import translate, translate_plural
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


def _years(years: float, lang: str) -> str:
    whole = int(years)
    if whole < 1:
        return translate(lang, "less than a year")
    return translate_plural(lang, "{count} year", "{count} years", whole)


def _facts_in(case: CaseSignals, customer: CustomerSignals, lang: str) -> list[str]:
    facts: list[str] = []
    if not customer.is_customer:
        facts.append(translate(lang, "not a customer"))
    else:
        held = case.tier_lost_name if case.tier_lost else None
        label = held or customer.tier_name or customer.tier
        years = _years(customer.tenure_years, lang)
        if label:
            facts.append(translate(lang, "{tier} for {years}", tier=label, years=years))
        else:
            facts.append(translate(lang, "customer for {years}", years=years))
        if customer.clv_cents is not None:
            clv = format_money(_whole(customer.clv_cents), lang)
            facts.append(translate(lang, "CLV {amount}", amount=clv))
        elif customer.spend_12m_cents > 0:
            spend = format_money(_whole(customer.spend_12m_cents), lang)
            facts.append(translate(lang, "{amount} spent in 12 months", amount=spend))
    if case.broken_promises:
        facts.append(
            translate_plural(
                lang, "{count} broken promise", "{count} broken promises", case.broken_promises
            )
        )
    if case.repeated_incidents:
        facts.append(
            translate_plural(
                lang,
                "{count} other case in 12 months",
                "{count} other cases in 12 months",
                case.repeated_incidents,
            )
        )
    if case.tier_lost and case.lost_after_service_failure:
        facts.append(translate(lang, "downgraded after a service failure"))
    elif case.tier_lost:
        facts.append(translate(lang, "downgraded in the last 12 months"))
    if case.sentiment is not None and case.sentiment <= -0.5:
        facts.append(translate(lang, "very unhappy"))
    return facts


def _facts(case: CaseSignals, customer: CustomerSignals) -> dict[str, list[str]]:
    """The facts an agent would cite, in each language, most telling first."""
    return {lang: _facts_in(case, customer, lang) for lang in LOCALES}


def _whole(cents: int) -> int:
    """Cents rounded half up to whole euros, still in cents: value figures need no cents."""
    return (cents + 50) // 100 * 100


def _action(option: GestureOption, case: CaseSignals, customer: CustomerSignals, lang: str) -> str:
    if option.kind == "status_exception":
        if case.tier_lost and case.tier_lost_name:
            return translate(lang, "restore {tier}", tier=case.tier_lost_name)
        if customer.tier_name:
            return translate(lang, "keep {tier} for one more period", tier=customer.tier_name)
    if option.kind == "points" and option.amount is not None:
        # The currency's name is the programme's (company data, in each language).
        currency = customer.currency_name.get(lang) or customer.currency_name.get("en", "points")
        return translate(
            lang,
            "{amount} bonus {currency}",
            amount=_format_number(option.amount, lang),
            currency=currency,
        )
    return option.name.get(lang) or option.name.get("en") or option.code


def _price(cost: int, cash: int, worked: int, failed: int, lang: str) -> str:
    price = translate(lang, "cost {cash} in cash", cash=format_money(cash, lang))
    if cost != cash:
        price = translate(
            lang, "{price} ({total} in all)", price=price, total=format_money(cost, lang)
        )
    if failed and not worked:
        return translate(lang, "{price}, did not work last time", price=price)
    if worked and not failed:
        return translate(lang, "{price}, worked before", price=price)
    return price


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
    for lang in LOCALES:
        action = _action(option, case, customer, lang)
        offer = f"{action}, {_price(cost, cash, worked, failed, lang)}"
        head = ", ".join(facts[lang])
        line = translate(lang, "{facts}: {offer}", facts=head, offer=offer) if head else offer
        reason[lang] = line[0].upper() + line[1:]
    return reason
