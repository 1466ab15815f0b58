"""The explanation of a tier and a balance, in the member's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from egards.i18n import translate, translate_plural
from egards.loyalty.domain.dates import format_date, format_number
from egards.loyalty.domain.earning import Earning
from egards.loyalty.domain.expiry import Bucket, balance_valid_until, fifo_order, is_exempt
from egards.loyalty.domain.tiers import TierState
from egards.loyalty.errors import (
    UnknownReference,
)
from egards.loyalty.programme import (
    ExpiryMode,
    OnTierReached,
    PeriodKind,
    Programme,
)

# --- explanation ----------------------------------------------------------------------------


def _and(items: Sequence[str], lang: str) -> str:
    """``a, b and c`` / ``a, b et c``."""
    if len(items) < 2:
        return "".join(items)
    return translate(lang, "{items} and {last}", items=", ".join(items[:-1]), last=items[-1])


def _count_activities(programme: Programme, lines: Iterable[Earning], lang: str) -> str:
    """``9 flights and 2 purchases`` from qualifying lines, reversed activities left out.

    The activities' names and plurals are the programme's (company data, in each language);
    only the count and the joining words are ours."""
    net: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for line in lines:
        key = line.reverses or line.activity_key
        net[key] = net.get(key, 0) + line.amount
        if line.reverses is None:
            kinds[key] = line.activity_kind
    counts: dict[str, int] = {}
    for key, amount in net.items():
        if amount and key in kinds:
            counts[kinds[key]] = counts.get(kinds[key], 0) + 1
    parts = []
    for code, n in counts.items():
        try:
            kind = programme.activity(code)
            label = (kind.name if n == 1 else kind.plural).get(lang)
        except UnknownReference:
            label = code
        parts.append(f"{format_number(n, lang)} {label}")
    return _and(parts, lang)


def _counted_lines(
    programme: Programme, state: TierState, earnings: Sequence[Earning], as_of: date
) -> list[Earning]:
    code = programme.qualification.currency
    lines = [e for e in earnings if e.currency == code and state.period_start <= e.on <= as_of]
    reached = state.upgrades[-1] if state.upgrades else None
    if reached is None or programme.qualification.on_tier_reached is OnTierReached.KEEP:
        return lines
    keys = [line.activity_key for line in lines]
    if reached.activity_key in keys:
        last = len(keys) - 1 - keys[::-1].index(reached.activity_key)
        return lines[last + 1 :]
    return [line for line in lines if line.on > reached.on]


def explain_tier(
    programme: Programme,
    state: TierState,
    *,
    earnings: Sequence[Earning],
    as_of: date,
    lang: str = "en",
) -> str:
    """The member's tier in words an agent can read out, e.g. "Gold since 12 March 2025:
    184 XP from 9 flights in the current period; 46 XP needed by 11 March 2026 to keep Gold".

    ``earnings`` are the member's lines in the order they were counted (others than the
    qualifying currency's are ignored); those of the current period are summarised, except,
    when reaching the tier took its threshold (or the whole counter) off, the lines that went
    into reaching it: those up to the activity that reached it.

    Tier and currency names are the programme's (in each language); the sentences are in the
    loyalty catalogue.
    """
    q = programme.qualification
    currency = programme.qualifying_currency.name.get(lang)
    tier = programme.tier(state.tier)
    name = tier.name.get(lang)
    period_lines = _counted_lines(programme, state, earnings, as_of)
    earned = sum(e.amount for e in period_lines)
    sources = _count_activities(programme, period_lines, lang)
    sentences = []
    head = translate(lang, "{tier} since {day}", tier=name, day=format_date(state.since, lang))
    if earned or sources:
        amount = format_number(earned, lang)
        if sources:
            detail = translate(
                lang,
                "{amount} {currency} from {activities} in the current period",
                amount=amount,
                currency=currency,
                activities=sources,
            )
        else:
            detail = translate(
                lang, "{amount} {currency} in the current period", amount=amount, currency=currency
            )
        head = translate(lang, "{tier_since}: {detail}", tier_since=head, detail=detail)
    sentences.append(head)

    index = programme.tier_index(state.tier)
    following = programme.tiers[index + 1] if index + 1 < len(programme.tiers) else None
    if q.period.kind is not PeriodKind.CUMULATIVE:
        sentences.append(
            translate(
                lang,
                "qualification counter: {amount} {currency}",
                amount=format_number(state.counter, lang),
                currency=currency,
            )
        )
    if state.lifetime:
        sentences.append(translate(lang, "{tier} for life", tier=name))
    elif state.period_end is not None and index > 0:
        missing = max(0, tier.threshold - state.counter)
        deadline = format_date(state.period_end, lang)
        if missing:
            sentences.append(
                translate(
                    lang,
                    "{amount} {currency} needed by {day} to keep {tier}",
                    amount=format_number(missing, lang),
                    currency=currency,
                    day=deadline,
                    tier=name,
                )
            )
        else:
            sentences.append(
                translate(
                    lang,
                    "{tier} is already kept for the next period (evaluated on {day})",
                    tier=name,
                    day=deadline,
                )
            )
    if following is not None:
        values = {
            "amount": format_number(max(0, following.threshold - state.counter), lang),
            "currency": currency,
            "tier": following.name.get(lang),
        }
        if state.period_end is not None and q.period.kind is not PeriodKind.ROLLING:
            text = translate(
                lang,
                "{amount} {currency} more to reach {tier} by {day}",
                day=format_date(state.period_end, lang),
                **values,
            )
        else:
            text = translate(lang, "{amount} {currency} more to reach {tier}", **values)
        sentences.append(text)
    return translate(lang, "; ").join(sentences) + "."


def explain_balance(
    programme: Programme,
    currency: str,
    *,
    balance: int,
    tier: str,
    as_of: date,
    buckets: Sequence[Bucket] = (),
    last_activity_on: date | None = None,
    lang: str = "en",
) -> str:
    """A spendable balance in words, with what expires next and why."""
    unit = programme.currency(currency).name.get(lang)
    values = {"amount": format_number(balance, lang), "currency": unit}
    expiry = programme.currency(currency).expiry
    tier_name = programme.tier(tier).name.get(lang)
    if expiry is None or expiry.mode is ExpiryMode.NEVER:
        return translate(lang, "{amount} {currency}, with no expiry date.", **values)
    if balance == 0:
        return f"{values['amount']} {unit}."
    if is_exempt(programme, currency, tier):
        return translate(
            lang,
            "{amount} {currency}; as {tier}, your {currency} do not expire.",
            tier=tier_name,
            **values,
        )
    if expiry.mode is ExpiryMode.AFTER_LAST_ACTIVITY and last_activity_on is not None:
        until = balance_valid_until(programme, currency, last_activity_on=last_activity_on)
        assert until is not None
        return translate(
            lang,
            "{amount} {currency}, valid until {day}; any activity before then extends them by "
            "{months} (last activity on {last_day}).",
            day=format_date(until, lang),
            months=translate_plural(lang, "{count} month", "{count} months", expiry.months or 0),
            last_day=format_date(last_activity_on, lang),
            **values,
        )
    dated = sorted((b for b in buckets if b.expires_on and b.amount), key=fifo_order)
    if dated:
        first_day = dated[0].expires_on
        assert first_day is not None
        soonest = sum(b.amount for b in dated if b.expires_on == first_day)
        return translate(
            lang,
            "{amount} {currency}; {expiring} expire on {day} (soonest-expiring are spent first).",
            expiring=format_number(soonest, lang),
            day=format_date(first_day, lang),
            **values,
        )
    return f"{values['amount']} {unit}."


def explain(
    programme: Programme,
    state: TierState,
    *,
    earnings: Sequence[Earning],
    balances: Mapping[str, int],
    as_of: date,
    buckets: Mapping[str, Sequence[Bucket]] | None = None,
    last_activity_on: date | None = None,
    lang: str = "en",
) -> str:
    """Tier and balances of a member, one paragraph per subject, in ``lang`` (``fr``/``en``)."""
    paragraphs = [explain_tier(programme, state, earnings=earnings, as_of=as_of, lang=lang)]
    for currency in programme.spendable_currencies:
        paragraphs.append(
            explain_balance(
                programme,
                currency.code,
                balance=balances.get(currency.code, 0),
                tier=state.tier,
                as_of=as_of,
                buckets=(buckets or {}).get(currency.code, ()),
                last_activity_on=last_activity_on,
                lang=lang,
            )
        )
    return "\n".join(paragraphs)
