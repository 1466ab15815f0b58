"""Plain JSON for the loyalty core's value objects, so the database can keep them exactly."""

from __future__ import annotations

from datetime import date
from typing import Any

from egards.loyalty.domain import Allocation, Earning, TierState, Upgrade
from egards.loyalty.ledger import Account, AccountKind
from egards.messages import names

_PLAIN = frozenset({str, int, bool, type(None)})


def encode(value: Any) -> Any:
    """Ledger operation arguments to JSON: accounts, dates and allocations are tagged."""
    if type(value) in _PLAIN:  # most arguments: keys, amounts, kinds (a fast path)
        return value
    if isinstance(value, Account):
        return {"$account": [str(value.kind), value.currency, value.member]}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Allocation):
        return {"$allocation": [value.bucket_id, value.amount]}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def encode_args(args: dict[str, Any]) -> dict[str, Any]:
    """A ledger operation's keyword arguments, each through :func:`encode`."""
    return {k: v if type(v) in _PLAIN else encode(v) for k, v in args.items()}


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$account" in value:
            kind, currency, member = value["$account"]
            return Account(AccountKind(kind), currency, member)
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$allocation" in value:
            return Allocation(*value["$allocation"])
    if isinstance(value, list):
        return tuple(decode(v) for v in value)
    return value


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def state_to_json(state: TierState) -> dict[str, Any]:
    """A tier state as plain JSON. An upgrade keeps the state before it, whose own upgrades
    are the ones listed before it: they are written once, not again inside each later
    upgrade's ``before`` (the list grew by nesting, 2 KB for three upgrades in a period,
    read and rewritten with the member at every activity); :func:`state_from_json` puts
    them back."""
    upgrades = [
        {
            "on": u.on.isoformat(),
            "from_tier": u.from_tier,
            "to_tier": u.to_tier,
            "removed": u.removed,
            "before": (
                _state_json(u.before, None)  # its upgrades: those before it (always, so far)
                if u.before.upgrades == state.upgrades[:i]
                else state_to_json(u.before)
            ),
            "activity_key": u.activity_key,
        }
        for i, u in enumerate(state.upgrades)
    ]
    return _state_json(state, upgrades)


def _state_json(state: TierState, upgrades: list[dict[str, Any]] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tier": state.tier,
        "since": state.since.isoformat(),
        "period_start": state.period_start.isoformat(),
        "period_end": state.period_end.isoformat() if state.period_end else None,
        "counter": state.counter,
        "consecutive_periods": state.consecutive_periods,
        "lifetime": state.lifetime,
    }
    if upgrades is not None:
        data["upgrades"] = upgrades
    data["window"] = [[day.isoformat(), amount] for day, amount in state.window]
    return data


def state_from_json(data: dict[str, Any], earlier: tuple[Upgrade, ...] = ()) -> TierState:
    """The state :func:`state_to_json` wrote; ``earlier``: the upgrades of a state written
    without them (an upgrade's ``before``), those listed before its upgrade. States written
    before 2026-12-05 hold them in every ``before``, and read as they are."""
    upgrades = [] if "upgrades" in data else list(earlier)
    for u in data.get("upgrades", ()):
        upgrades.append(
            Upgrade(
                on=date.fromisoformat(u["on"]),
                from_tier=u["from_tier"],
                to_tier=u["to_tier"],
                removed=u["removed"],
                before=state_from_json(u["before"], tuple(upgrades)),
                activity_key=u.get("activity_key"),  # not kept before migration 0012
            )
        )
    return TierState(
        tier=data["tier"],
        since=date.fromisoformat(data["since"]),
        period_start=date.fromisoformat(data["period_start"]),
        period_end=_day(data["period_end"]),
        counter=data["counter"],
        consecutive_periods=data["consecutive_periods"],
        lifetime=data["lifetime"],
        upgrades=tuple(upgrades),
        window=tuple((date.fromisoformat(day), amount) for day, amount in data["window"]),
    )


def earning_to_json(earning: Earning) -> dict[str, Any]:
    # Field by field (the order of asdict): asdict deep-copies every value, and the bulk path
    # writes two earnings per activity.
    return {
        "activity_key": earning.activity_key,
        "activity_kind": earning.activity_kind,
        "currency": earning.currency,
        "amount": earning.amount,
        "rule_id": earning.rule_id,
        "reason": earning.reason,
        "on": earning.on.isoformat(),
        "qualifying": earning.qualifying,
        "reverses": earning.reverses,
    }


def earning_from_json(data: dict[str, Any]) -> Earning:
    """An earning line as stored; lines stored before migration 0017 hold their reason as
    English and French text (``reason``, ``reason_fr``), read as that text."""
    data = {**data, "on": date.fromisoformat(data["on"])}
    if "reason_fr" in data:
        data["reason"] = names({"en": data["reason"], "fr": data.pop("reason_fr")})
    return Earning(**data)
