"""The catalogue of gestures: seeded from ``catalogue.yaml`` (or the configured file) on first
read, each entry checked to be coherent and priceable, edited by recovery administrators with
an audit record.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.db import utcnow
from egards.errors import InvalidInput, NotFound
from egards.i18n import N_
from egards.recovery import domain
from egards.recovery.models import (
    GestureType,
)

from ._common import _insert_once, _settings


def _seed_catalogue(session: Session) -> None:
    if session.scalar(select(func.count()).select_from(GestureType)):
        return
    path = _settings().catalogue_file
    raw = path.read_text() if path else (files("egards.recovery") / "catalogue.yaml").read_text()
    rows = []
    for position, item in enumerate(yaml.safe_load(raw)["gestures"]):
        row = GestureType(
            code=item["code"],
            kind=item["kind"],
            name_fr=item["name"]["fr"],
            name_en=item["name"]["en"],
            text_fr=item.get("text", {}).get("fr", ""),
            text_en=item.get("text", {}).get("en", ""),
            cost_cents=item.get("cost_cents", 0),
            amount=item.get("amount"),
            min_amount=item.get("min_amount"),
            max_amount=item.get("max_amount"),
            cost_per_thousand_cents=item.get("cost_per_thousand_cents"),
            cost_percent=item.get("cost_percent", 100),
            valid_days=item.get("valid_days"),
            requires_approval=item.get("requires_approval", False),
            active=True,
            position=position,
        )
        check_gesture_type(row)
        rows.append(row)
    _insert_once(session, rows)


def option_of(row: GestureType) -> domain.GestureOption:
    return domain.GestureOption(
        code=row.code,
        kind=domain.gesture_kind(row.kind),
        name={"fr": row.name_fr, "en": row.name_en},
        cost_cents=row.cost_cents,
        cash_cents=row.cash_cents,
        amount=row.amount,
        min_amount=row.min_amount,
        max_amount=row.max_amount,
        cost_per_thousand_cents=row.cost_per_thousand_cents,
        cost_percent=row.cost_percent,
        requires_approval=row.requires_approval,
        active=row.active,
    )


def check_gesture_type(row: GestureType) -> None:
    """A catalogue entry must be coherent and priceable; its cost at the default amount and
    the cash part (vouchers and credits are money) are derived, never typed twice."""
    row.cash_cents = 0
    if row.kind in domain.AMOUNT_KINDS and row.amount is not None:
        row.cost_cents = domain.grant_cost_cents(option_of(row), None)
        row.cash_cents = row.cost_cents if row.kind in ("voucher", "credit") else 0
    domain.validate_option(option_of(row))
    if row.kind in ("voucher", "upgrade", "lounge_pass") and not row.valid_days:
        raise InvalidInput(N_("a voucher or pass needs a validity in days"), field="valid_days")


def catalogue(session: Session, *, active_only: bool = False) -> list[GestureType]:
    _seed_catalogue(session)
    query = select(GestureType).order_by(GestureType.position, GestureType.code)
    if active_only:
        query = query.where(GestureType.active.is_(True))
    return list(session.scalars(query))


def get_gesture_type(session: Session, code: str) -> GestureType:
    _seed_catalogue(session)
    row = session.get(GestureType, code)
    if row is None:
        raise NotFound(N_("no gesture {code!r} in the catalogue"), code=code, field="gesture_code")
    return row


EDITABLE = (
    "name_fr",
    "name_en",
    "text_fr",
    "text_en",
    "cost_cents",
    "amount",
    "min_amount",
    "max_amount",
    "cost_per_thousand_cents",
    "cost_percent",
    "valid_days",
    "requires_approval",
    "active",
)


def save_gesture_type(
    session: Session, *, actor: Actor, code: str, kind: str | None, changes: dict[str, Any]
) -> GestureType:
    """Create (with ``kind``) or change a catalogue entry; audited."""
    actor.require(Permission.RECOVERY_ADMIN)
    _seed_catalogue(session)
    row = session.get(GestureType, code)
    before = None
    if row is None:
        if kind is None:
            raise NotFound(N_("no gesture {code!r} in the catalogue"), code=code, field="code")
        position = session.scalar(select(func.max(GestureType.position))) or 0
        row = GestureType(code=code, kind=kind, position=position + 1, name_fr="", name_en="")
        session.add(row)
    else:
        before = {name: getattr(row, name) for name in EDITABLE}
    for name, value in changes.items():
        if name not in EDITABLE:
            raise InvalidInput(N_("cannot change {name}"), name=name, field=name)
        setattr(row, name, value)
    if not row.name_fr or not row.name_en:
        raise InvalidInput(N_("a gesture needs a name in French and in English"), field="name_en")
    check_gesture_type(row)
    row.updated_at, row.updated_by = utcnow(), actor.label
    audit.record(
        session,
        actor=actor,
        action="recovery.catalogue",
        entity_type="gesture_type",
        entity_id=code,
        before=before,
        after={name: getattr(row, name) for name in EDITABLE},
    )
    session.flush()
    return row
