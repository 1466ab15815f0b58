"""The explanation of a tier and a balance, in the member's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

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


def _count_activities(programme: Programme, lines: Iterable[Earning], lang: str) -> str:
    """``9 flights and 2 purchases`` from qualifying lines, reversed activities left out."""
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
        parts.append(f"{n} {label}")
    if not parts:
        return ""
    joiner = " et " if lang == "fr" else " and "
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + joiner + parts[-1]


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
    """
    fr = lang == "fr"
    q = programme.qualification
    currency = programme.qualifying_currency.name.get(lang)
    tier = programme.tier(state.tier)
    name = tier.name.get(lang)
    period_lines = _counted_lines(programme, state, earnings, as_of)
    earned = sum(e.amount for e in period_lines)
    sources = _count_activities(programme, period_lines, lang)
    since = format_date(state.since, lang)
    sentences = []
    head = f"{name} depuis le {since}" if fr else f"{name} since {since}"
    if earned or sources:
        detail = f"{format_number(earned, lang)} {currency}"
        if sources:
            detail += f" grâce à {sources}" if fr else f" from {sources}"
        detail += " sur la période en cours" if fr else " in the current period"
        head += f" : {detail}" if fr else f": {detail}"
    sentences.append(head)

    index = programme.tier_index(state.tier)
    following = programme.tiers[index + 1] if index + 1 < len(programme.tiers) else None
    counter = format_number(state.counter, lang)
    if q.period.kind is not PeriodKind.CUMULATIVE:
        sentences.append(
            f"compteur de qualification : {counter} {currency}"
            if fr
            else f"qualification counter: {counter} {currency}"
        )
    if state.lifetime:
        sentences.append(f"{name} acquis à vie" if fr else f"{name} for life")
    elif state.period_end is not None and index > 0:
        missing = max(0, tier.threshold - state.counter)
        deadline = format_date(state.period_end, lang)
        if missing:
            sentences.append(
                f"{format_number(missing, lang)} {currency} à obtenir d'ici le {deadline} "
                f"pour conserver {name}"
                if fr
                else f"{format_number(missing, lang)} {currency} needed by {deadline} "
                f"to keep {name}"
            )
        else:
            sentences.append(
                f"{name} est déjà conservé pour la prochaine période (évaluée le {deadline})"
                if fr
                else f"{name} is already kept for the next period (evaluated on {deadline})"
            )
    if following is not None:
        missing = max(0, following.threshold - state.counter)
        label = following.name.get(lang)
        text = (
            f"{format_number(missing, lang)} {currency} de plus pour atteindre {label}"
            if fr
            else f"{format_number(missing, lang)} {currency} more to reach {label}"
        )
        if state.period_end is not None and q.period.kind is not PeriodKind.ROLLING:
            deadline = format_date(state.period_end, lang)
            text += f" avant le {deadline}" if fr else f" by {deadline}"
        sentences.append(text)
    return (" ; " if fr else "; ").join(sentences) + "."


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
    fr = lang == "fr"
    unit = programme.currency(currency).name.get(lang)
    text = f"{format_number(balance, lang)} {unit}"
    expiry = programme.currency(currency).expiry
    tier_name = programme.tier(tier).name.get(lang)
    if expiry is None or expiry.mode is ExpiryMode.NEVER or balance == 0:
        if expiry is None or expiry.mode is ExpiryMode.NEVER:
            text += ", sans date d'expiration" if fr else ", with no expiry date"
        return text + "."
    if is_exempt(programme, currency, tier):
        return text + (
            f" ; en tant que {tier_name}, vos {unit} n'expirent pas."
            if fr
            else f"; as {tier_name}, your {unit} do not expire."
        )
    if expiry.mode is ExpiryMode.AFTER_LAST_ACTIVITY and last_activity_on is not None:
        until = balance_valid_until(programme, currency, last_activity_on=last_activity_on)
        assert until is not None
        return text + (
            f", valables jusqu'au {format_date(until, lang)} ; toute activité d'ici là les "
            f"prolonge de {expiry.months} mois (dernière activité le "
            f"{format_date(last_activity_on, lang)})."
            if fr
            else f", valid until {format_date(until, lang)}; any activity before then extends "
            f"them by {expiry.months} months (last activity on "
            f"{format_date(last_activity_on, lang)})."
        )
    dated = sorted((b for b in buckets if b.expires_on and b.amount), key=fifo_order)
    if dated:
        first_day = dated[0].expires_on
        assert first_day is not None
        soonest = sum(b.amount for b in dated if b.expires_on == first_day)
        text += (
            f" ; {format_number(soonest, lang)} expirent le {format_date(first_day, lang)}"
            " (les plus anciens sont dépensés en premier)"
            if fr
            else f"; {format_number(soonest, lang)} expire on {format_date(first_day, lang)}"
            " (soonest-expiring are spent first)"
        )
    return text + "."


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
