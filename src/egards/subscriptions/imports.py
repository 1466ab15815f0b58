"""``egards import subscriptions FILE``: contracts from a CSV or JSON Lines file.

All or nothing: every line is checked first (the customer by ``customer_external_id`` or
``customer_id``, the terms through the API's schema, the reference unique in the file and in
the database); if any line is refused, the report names each one (line, field, reason) and
nothing is written. Otherwise every contract is created in one unit of work, each with its
status history, audit record and timeline entry, as through the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from egards.accounts.domain import SYSTEM
from egards.customers import service as customers
from egards.customers.imports import Reject, read_csv, write_rejects
from egards.db import Database
from egards.errors import DomainError
from egards.subscriptions import service
from egards.subscriptions.models import Subscription
from egards.subscriptions.schemas import SubscriptionCreate

REQUIRED = ("reference", "offer", "start_date", "price_cents")
_OPTIONAL_BLANK = (
    "plan", "commitment_end", "equipment", "organisation_id", "notice_days",
    "early_fee_percent", "kind", "sold_channel", "sold_silo", "line_numbers",
)  # fmt: skip


@dataclass
class SubscriptionImport:
    created: int = 0
    rejects: list[Reject] = field(default_factory=list)
    removed_rejects: bool = False


def _rows(path: Path):
    with path.open("rb") as handle:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    yield number, Reject(number, "line", f"not valid JSON: {exc}")
                    continue
                if not isinstance(row, dict):
                    yield number, Reject(number, "line", "each line must be a JSON object")
                    continue
                yield number, row
            return
        yield from read_csv(handle, required=REQUIRED)


def _prepare(raw: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in raw.items() if not (k in _OPTIONAL_BLANK and v in ("", None))}
    lines = row.get("line_numbers")
    if isinstance(lines, str):
        row["line_numbers"] = [n.strip() for n in lines.split(";") if n.strip()]
    return row


def import_subscriptions(
    db: Database, path: Path, *, rejects_path: Path | None = None
) -> SubscriptionImport:
    result = SubscriptionImport()
    try:
        return _import(db, path, result, rejects_path)
    except _Refused:
        result.created = 0
        result.removed_rejects = write_rejects(rejects_path, result.rejects)
        return result


def _import(
    db: Database, path: Path, result: SubscriptionImport, rejects_path: Path | None
) -> SubscriptionImport:
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, row in _rows(path):
        if isinstance(row, Reject):
            result.rejects.append(row)
        else:
            parsed.append((number, _prepare(row)))
    with db.unit_of_work() as session:
        external = customers.ids_by_external_id(
            session, (str(r.get("customer_external_id") or "") for _, r in parsed)
        )
        seen: dict[str, int] = {}
        valid: list[tuple[int, SubscriptionCreate]] = []
        for number, row in parsed:
            external_id = row.pop("customer_external_id", None)
            if external_id:
                if external_id not in external:
                    result.rejects.append(
                        Reject(number, "customer_external_id", f"no customer {external_id}")
                    )
                    continue
                row["customer_id"] = external[external_id]
            try:
                data = SubscriptionCreate.model_validate(row)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "line"
                result.rejects.append(Reject(number, where, first["msg"]))
                continue
            if data.reference in seen:
                result.rejects.append(
                    Reject(number, "reference", f"also on line {seen[data.reference]}")
                )
                continue
            seen[data.reference] = number
            valid.append((number, data))
        taken = set(
            session.scalars(
                select(Subscription.reference).where(Subscription.reference.in_(list(seen)))
            )
        )
        for number, data in valid:
            if data.reference in taken:
                result.rejects.append(Reject(number, "reference", "already exists"))
        if result.rejects:
            result.rejects.sort(key=lambda r: r.line)
            result.removed_rejects = write_rejects(rejects_path, result.rejects)
            return result
        for number, data in valid:
            try:
                with session.begin_nested():
                    service.create_subscription(session, actor=SYSTEM, data=data)
            except DomainError as exc:
                result.rejects.append(Reject(number, exc.field or "line", exc.message))
        if result.rejects:
            raise _Refused  # the unit of work rolls back: nothing half-applied
        result.created = len(valid)
    result.removed_rejects = write_rejects(rejects_path, [])
    return result


class _Refused(Exception):
    pass
