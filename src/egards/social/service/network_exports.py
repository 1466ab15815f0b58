"""Import of network exports (CSV or JSONL, the columns of common social listening tools),
reported line by line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from egards.cases import service as cases
from egards.cases.channels import open_social_case
from egards.cases.schemas import SocialMentionCreate
from egards.errors import N_, DomainError, InvalidInput
from egards.social.domain import (
    Outcome,
    check_audience,
)
from egards.social.service.arrival import link_on_arrival
from egards.social.service.links import link_deterministically
from egards.social.service.mentions import _record_mention, analyse_mention, is_stored

IMPORT_FIELDS = {
    "network",
    "handle",
    "author_name",
    "text",
    "url",
    "external_id",
    "language",
    "kind",
    "followers",
    "verified",
    "profile_url",
    "bio",
    "location",
    "email",
    "phone",
    "posted_at",
    "needs_answer",
}
# Common column names of social listening exports, mapped to ours.
ALIASES = {
    "platform": "network",
    "source": "network",
    "author": "handle",
    "username": "handle",
    "screen_name": "handle",
    "author_handle": "handle",
    "name": "author_name",
    "display_name": "author_name",
    "content": "text",
    "message": "text",
    "post_url": "url",
    "link": "url",
    "id": "external_id",
    "post_id": "external_id",
    "tweet_id": "external_id",
    "followers_count": "followers",
    "audience": "followers",
    "reach": "followers",
    "date": "posted_at",
    "created_at": "posted_at",
    "lang": "language",
}
_TRUE = {"1", "true", "yes", "y", "oui"}


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    cases_opened: int = 0
    linked: int = 0
    to_review: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)


def read_export(text: str, *, filename: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line number, row)`` of a CSV or JSONL export; a line that cannot be read gives
    its error instead of a row."""
    if filename.casefold().endswith((".jsonl", ".ndjson", ".json")):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON: {exc.msg}"
                continue
            yield number, row if isinstance(row, dict) else "expected a JSON object"
        return
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        yield reader.line_num, dict(row)


def _row_mention(row: Mapping[str, Any]) -> tuple[SocialMentionCreate, bool]:
    data: dict[str, Any] = {}
    for key, value in row.items():
        name = ALIASES.get(str(key).strip().casefold(), str(key).strip().casefold())
        if name in IMPORT_FIELDS and value not in (None, ""):
            data[name] = value
    data["followers"] = check_audience(data.get("followers"))
    if isinstance(data.get("verified"), str):
        data["verified"] = data["verified"].strip().casefold() in _TRUE
    needs = data.pop("needs_answer", False)
    needs = needs.strip().casefold() in _TRUE if isinstance(needs, str) else bool(needs)
    if isinstance(data.get("network"), str):
        data["network"] = data["network"].strip().casefold()
    try:
        return SocialMentionCreate.model_validate(
            {**data, "external_id": str(data.get("external_id", ""))}
        ), needs
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "row"
        raise InvalidInput(
            N_("{where}: {reason}"), field=where, where=where, reason=first["msg"]
        ) from None


def import_row(
    session: Session,
    *,
    row: Mapping[str, Any],
    config: cases.CasesConfig,
    now: datetime,
    report: ImportReport,
) -> None:
    """One row of a network export: the profile, the mention, deterministic linking, and a
    case when the row says the post needs an answer (once per post)."""
    mention, needs_answer = _row_mention(row)
    new = not is_stored(session, mention)
    profile, stored = _record_mention(session, mention=mention, now=now, source="import")
    decision = link_deterministically(session, profile=profile, now=now, text=mention.text)
    outcome = str(decision.outcome)
    if decision.outcome is Outcome.NOTHING:
        outcome = link_on_arrival(session, profile=profile, now=now)
    report.linked += outcome == Outcome.LINK
    report.to_review += outcome == Outcome.REVIEW
    received = mention.posted_at
    if received is not None and received.tzinfo is None:
        received = received.replace(tzinfo=UTC)
    if new and not needs_answer:
        analyse_mention(
            session, profile=profile, stored=stored, received_at=received or now, now=now
        )
    if needs_answer and stored.case_id is None:
        opened = open_social_case(
            session, mention=mention, config=config, now=now, received_at=received
        )
        stored.case_id = opened.case.id
        report.cases_opened += 1
    report.imported += 1


def import_export(
    db: Any,
    *,
    text: str,
    filename: str,
    config: cases.CasesConfig,
    now: datetime,
    batch: int = 500,
) -> ImportReport:
    """A network export (CSV or JSONL), one unit of work per ``batch`` rows and a savepoint
    per row: a refused row is reported with its line number and leaves nothing behind, and
    an interrupted run can simply be run again (posts already stored are recognised)."""
    report = ImportReport()
    rows = list(read_export(text, filename=filename))
    for start in range(0, len(rows), batch):
        with db.unit_of_work() as session:
            for number, row in rows[start : start + batch]:
                report.read += 1
                if isinstance(row, str):
                    report.rejects.append((number, row))
                    continue
                savepoint = session.begin_nested()
                try:
                    import_row(session, row=row, config=config, now=now, report=report)
                    savepoint.commit()
                except DomainError as exc:
                    savepoint.rollback()
                    where = f"{exc.field}: " if exc.field and exc.field not in exc.message else ""
                    report.rejects.append((number, f"{where}{exc.message}"))
    return report
