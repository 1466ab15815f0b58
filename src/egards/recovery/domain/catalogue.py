"""The catalogue of gestures and what each costs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from egards.errors import InvalidInput
from egards.i18n import N_
from egards.recovery.domain.vocabulary import (
    AMOUNT_KINDS,
    KINDS,
    MAX_CENTS,
    MAX_POINTS,
    GestureKind,
)


@dataclass(frozen=True)
class GestureOption:
    """One entry of the gesture catalogue, with its cost model and its name in both languages."""

    code: str
    kind: GestureKind
    name: dict[str, str]
    cost_cents: int
    cash_cents: int = 0
    amount: int | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    cost_per_thousand_cents: int | None = None
    cost_percent: int = 100
    requires_approval: bool = False
    active: bool = True


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def validate_option(option: GestureOption) -> GestureOption:
    """The option itself if its catalogue entry is coherent; otherwise ``InvalidInput``.

    A status exception always needs a supervisor (issue 6, "Budgets and approvals"), so an entry
    that says otherwise is refused rather than silently corrected.
    """
    if not option.code or option.code != option.code.strip() or len(option.code) > 64:
        raise InvalidInput(N_("A gesture code is 1 to 64 characters, no spaces."), field="code")
    if option.kind not in KINDS:
        raise InvalidInput(
            N_("Unknown gesture kind {option_kind!r}."), option_kind=option.kind, field="kind"
        )
    for lang in ("fr", "en"):
        text = option.name.get(lang) if isinstance(option.name, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(N_("The gesture needs a name in {lang!r}."), lang=lang, field="name")
    for name in ("cost_cents", "cash_cents"):
        value = getattr(option, name)
        if not _is_int(value) or value < 0 or value > MAX_CENTS:
            raise InvalidInput(
                N_("{name} must be whole cents between 0 and {max_cents}."),
                name=name,
                max_cents=MAX_CENTS,
                field=name,
            )
    if option.cash_cents > option.cost_cents:
        raise InvalidInput(N_("The cash part cannot exceed the cost."), field="cash_cents")
    if option.kind == "status_exception" and not option.requires_approval:
        raise InvalidInput(
            N_("A status exception always requires a supervisor's approval."),
            field="requires_approval",
        )
    if option.kind not in AMOUNT_KINDS:
        for name in ("amount", "min_amount", "max_amount"):
            if getattr(option, name) is not None:
                raise InvalidInput(
                    N_("A {option_kind} takes no amount."), option_kind=option.kind, field=name
                )
        return option
    if option.amount is None:
        raise InvalidInput(
            N_("A {option_kind} needs a default amount."), option_kind=option.kind, field="amount"
        )
    if option.kind == "points":
        per_thousand = option.cost_per_thousand_cents
        if per_thousand is None or not _is_int(per_thousand) or per_thousand < 0:
            raise InvalidInput(
                N_("Points need the cost of 1000 points in cents."), field="cost_per_thousand_cents"
            )
    elif not _is_int(option.cost_percent) or not 0 <= option.cost_percent <= 100:
        raise InvalidInput(N_("cost_percent is between 0 and 100."), field="cost_percent")
    low, high = option.min_amount, option.max_amount
    if low is not None and high is not None and low > high:
        raise InvalidInput(N_("min_amount is above max_amount."), field="min_amount")
    _check_amount(option, option.amount)
    return option


def validate_catalogue(options: Sequence[GestureOption]) -> list[GestureOption]:
    """Every option validated, and codes unique across the catalogue."""
    seen: set[str] = set()
    for option in options:
        validate_option(option)
        if option.code in seen:
            raise InvalidInput(
                N_("Gesture code {option_code!r} appears twice."),
                option_code=option.code,
                field="code",
            )
        seen.add(option.code)
    return list(options)


def _check_amount(option: GestureOption, amount: object) -> int:
    """``amount`` as a valid integer for this option, or ``InvalidInput`` on field ``amount``."""
    unit = "points" if option.kind == "points" else "cents"
    if not _is_int(amount):
        raise InvalidInput(
            N_("The amount must be a whole number of {unit}."), unit=unit, field="amount"
        )
    assert isinstance(amount, int)
    if amount < 1:
        raise InvalidInput(N_("The amount must be at least 1."), field="amount", amount=amount)
    ceiling = MAX_POINTS if option.kind == "points" else MAX_CENTS
    if amount > ceiling:
        raise InvalidInput(
            N_("{amount} {unit} is not a plausible gesture (at most {ceiling})."),
            unit=unit,
            ceiling=ceiling,
            field="amount",
            amount=amount,
        )
    if option.min_amount is not None and amount < option.min_amount:
        raise InvalidInput(
            N_("This gesture starts at {min_amount} {unit}."),
            min_amount=option.min_amount,
            unit=unit,
            field="amount",
            amount=amount,
        )
    if option.max_amount is not None and amount > option.max_amount:
        raise InvalidInput(
            N_("This gesture goes up to {max_amount} {unit}."),
            max_amount=option.max_amount,
            unit=unit,
            field="amount",
            amount=amount,
        )
    return amount


def _amount_or_default(option: GestureOption, amount: int | None) -> int | None:
    if option.kind not in AMOUNT_KINDS:
        if amount is not None:
            raise InvalidInput(
                N_("A {option_kind} takes no amount."), option_kind=option.kind, field="amount"
            )
        return None
    if amount is None:
        amount = option.amount
    if amount is None:
        raise InvalidInput(
            N_("This {option_kind} needs an amount."), option_kind=option.kind, field="amount"
        )
    return _check_amount(option, amount)


def grant_cost_cents(option: GestureOption, amount: int | None) -> int:
    """Exact cost in cents of granting ``amount`` (``None``: the option's default).

    Points cost ``amount × cost_per_thousand / 1000``, vouchers and credits ``amount ×
    cost_percent / 100``, both rounded half up to the cent; other kinds cost ``cost_cents``.
    """
    value = _amount_or_default(option, amount)
    if value is None:
        return option.cost_cents
    if option.kind == "points":
        per_thousand = option.cost_per_thousand_cents
        if per_thousand is None:
            raise InvalidInput(
                N_("Points need the cost of 1000 points in cents."), field="cost_per_thousand_cents"
            )
        return (value * per_thousand + 500) // 1000
    return (value * option.cost_percent + 50) // 100


def grant_cash_cents(option: GestureOption, amount: int | None) -> int:
    """Cash paid out for ``amount``: the catalogue's cash share, scaled from the default amount."""
    cost = grant_cost_cents(option, amount)
    value = _amount_or_default(option, amount)
    if value is None or option.amount is None:
        return min(cost, option.cash_cents)
    return min(cost, _half_up(value * option.cash_cents, option.amount))
