"""`egards import activities FILE`: CSV, JSON Lines or Parquet, one activity per row.

Flat files name amount components ``amount.<component>`` (integer cents) and rule attributes
``attr.<name>``; JSON Lines rows have the API's shape. Each row is applied whole or not at all
and idempotently by key, so a file can be imported again after an interruption; rows go in by
batches of many members at once (:mod:`egards.loyalty.intake`). Rejected rows go to a report
with line number, field and reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress

from egards.accounts.domain import Actor
from egards.bulk import chunks
from egards.customers.imports import Reject, read_csv, write_rejects
from egards.db import Database
from egards.errors import DomainError
from egards.loyalty import intake, service
from egards.loyalty.schemas import ActivityCreate
from egards.web.problems import field_path


def _from_flat(row: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"amounts": {}, "attributes": {}}
    for name, value in row.items():
        if value in ("", None):
            continue
        if name.startswith("amount."):
            data["amounts"][name[7:]] = value
        elif name.startswith("attr."):
            data["attributes"][name[5:]] = _scalar(value)
        else:
            data[name] = value
    return data


def _scalar(value: Any) -> Any:
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        if value.lstrip("-").isdigit():
            return int(value)
    return value


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        for index, row in enumerate(table.to_pylist(), start=1):
            yield index, _from_flat(row)
        return
    with path.open("rb") as handle:
        if suffix in (".jsonl", ".ndjson"):
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    yield number, Reject(number, "line", f"not valid JSON: {exc}")
                    continue
                yield (
                    number,
                    row if isinstance(row, dict) else Reject(number, "line", "not an object"),
                )
            return
        for number, row in read_csv(handle, required=("key", "kind", "on")):
            yield number, row if isinstance(row, Reject) else _from_flat(row)


def import_activities(
    db: Database,
    path: Path,
    *,
    programme: str,
    actor: Actor,
    rejects_path: Path | None = None,
    batch_size: int = 5000,
    console: Console | None = None,
) -> dict[str, Any]:
    """Each batch of rows is one unit of work, applied by :func:`intake.record_many`: rows
    count as if imported one by one in file order (fastest when each member's rows come in
    date order)."""
    service.get_programme(programme)
    counts: dict[str, Any] = {"applied": 0, "parked": 0, "rejected": 0}
    rejects: list[Reject] = []
    rows = list(read_rows(path))
    with Progress(console=console, disable=console is None) as progress:
        task = progress.add_task(f"Importing {path.name}", total=len(rows))
        for batch in chunks(rows, batch_size):
            lines, items = [], []
            for number, raw in batch:
                if isinstance(raw, Reject):
                    rejects.append(raw)
                    continue
                try:
                    items.append(ActivityCreate.model_validate(raw))
                    lines.append(number)
                except ValidationError as exc:
                    error = exc.errors()[0]
                    rejects.append(
                        Reject(number, field_path(("body", *error["loc"])), error["msg"])
                    )
            with db.unit_of_work() as session:
                outcomes = intake.record_many(
                    session, actor=actor, programme_code=programme, items=items
                )
            for number, outcome in zip(lines, outcomes, strict=True):
                if isinstance(outcome, DomainError):
                    rejects.append(Reject(number, outcome.field or "line", outcome.message))
                else:
                    counts[outcome.status] += 1
            progress.advance(task, len(batch))
    rejects.sort(key=lambda reject: reject.line)
    counts["rejected"] = len(rejects)
    counts["removed_rejects"] = write_rejects(rejects_path, rejects)
    counts["rejects"] = rejects
    return counts
