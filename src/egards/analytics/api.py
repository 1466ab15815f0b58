"""JSON routes of customer value and risk (thin: parse, call the service, shape)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field

from egards.accounts.domain import Actor, Permission
from egards.analytics import service
from egards.analytics.models import ScoreRun
from egards.i18n import render_message
from egards.schemas import Input
from egards.web.deps import CurrentActor, DbSession, Id, SmallId
from egards.web.problems import reader_locale

router = APIRouter(prefix="/analytics", tags=["analytics"])
log = logging.getLogger("egards.analytics")


class RunCreate(Input):
    as_of: date | None = Field(default=None, description="Scoring date; today when omitted.")
    source: Literal["all", "loyalty", "imported"] = "all"
    refit: bool | None = Field(
        default=None, description="True: fit again; false: reuse the last fit; null: auto."
    )


def _run_read(run: ScoreRun, locale: str) -> dict[str, Any]:
    """A run as the API gives it; a failed run's ``error`` in ``locale`` (the request's
    language) beside its stable ``error_code``."""
    return {
        "id": run.id,
        "status": run.status,
        "as_of": run.as_of,
        "source": run.source,
        "model_version": run.model_version,
        "parameters": run.parameters,
        "counts": run.counts,
        "report": run.report,
        "error_code": run.error_code,
        "error": render_message(locale, run.error_message) or None,
        "requested_by": run.requested_by,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


# The language of the words in an answer: ``lang`` when given, else the request's
# ``Accept-Language`` (English when it asks for neither of ours).
Lang = Annotated[
    Literal["en", "fr"] | None,
    Query(description="Language of the words; the request's Accept-Language when omitted."),
]


@router.get("/customers/{customer_id}/score")
def customer_score(
    request: Request, session: DbSession, actor: CurrentActor, customer_id: Id, lang: Lang = None
) -> dict[str, Any]:
    """The customer's value (spend, CLV, expected purchases), probability of being alive,
    RFM segment, churn risk with its reasons in words, and the trend over the last runs."""
    return service.customer_score(
        session, actor=actor, customer_id=customer_id, lang=lang or reader_locale(request)
    )


@router.get("/segments")
def segments(
    request: Request, session: DbSession, actor: CurrentActor, lang: Lang = None
) -> list[dict[str, Any]]:
    """Customers, total and mean CLV, churn risk and P(alive) per RFM segment, with the
    segment's label in words."""
    return service.segments(session, actor=actor, lang=lang or reader_locale(request))


def _csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer: csv.DictWriter[str] = csv.DictWriter(buffer, fieldnames=service.EXPORT_COLUMNS)
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % 5000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/scores.csv",
    responses={200: {"content": {"text/csv": {}}}},
    response_class=StreamingResponse,
)
def scores_csv(
    request: Request, session: DbSession, actor: CurrentActor, lang: Lang = None
) -> Response:
    """Every current score, one row per customer, segment label and reasons in words."""
    actor.require(Permission.ANALYTICS_READ)
    # Read fully inside the request's unit of work, then stream the text.
    rows = service.iter_scores(session, actor=actor, lang=lang or reader_locale(request))
    lines = list(_csv_lines(rows))
    return StreamingResponse(
        iter(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="scores.csv"'},
    )


@router.get(
    "/scores.parquet",
    responses={200: {"content": {"application/vnd.apache.parquet": {}}}},
)
def scores_parquet(session: DbSession, actor: CurrentActor) -> Response:
    """Every current score as Parquet (reason codes rather than words)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    actor.require(Permission.ANALYTICS_READ)
    rows = list(service.iter_scores(session, actor=actor))
    table = (
        pa.Table.from_pylist(rows) if rows else pa.table({c: [] for c in service.EXPORT_COLUMNS})
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": 'attachment; filename="scores.parquet"'},
    )


def _run_in_background(db, actor: Actor, run_id: int) -> None:
    from egards.errors import DomainError

    try:
        service.score(db, actor=actor, run_id=run_id)
    except DomainError as exc:  # recorded on the run; the client reads it there
        log.info("scoring run %s refused: %s", run_id, exc.message)
    except Exception:
        log.exception("scoring run %s failed", run_id)


@router.post("/runs", status_code=202)
def start_run(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    data: RunCreate,
    background: BackgroundTasks,
) -> JSONResponse:
    """Queue a scoring run (supervisors and admins); it runs after this answer, and
    ``GET /analytics/runs/{id}`` tells how it went (or why it failed)."""
    run = service.queue_run(
        session, actor=actor, as_of=data.as_of, source=data.source, refit=data.refit
    )
    background.add_task(_run_in_background, request.app.state.db, actor, run.id)
    return JSONResponse(
        {"id": run.id, "status": run.status, "href": f"/api/v1/analytics/runs/{run.id}"},
        status_code=202,
        headers={"Location": f"/api/v1/analytics/runs/{run.id}"},
    )


@router.get("/runs")
def list_runs(request: Request, session: DbSession, actor: CurrentActor) -> list[dict[str, Any]]:
    """The last scoring runs, newest first, with counts and status."""
    locale = reader_locale(request)
    return [
        {k: v for k, v in _run_read(r, locale).items() if k != "report"}
        for r in service.runs(session, actor=actor)
    ]


@router.get("/runs/{run_id}")
def get_run(
    request: Request, session: DbSession, actor: CurrentActor, run_id: SmallId
) -> dict[str, Any]:
    """A run: parameters, counts, the fit and churn reports (AUC, calibration), or its error
    (``error_code``, and ``error`` in the request's language)."""
    run = service.get_run(session, actor=actor, run_id=run_id)
    return _run_read(run, reader_locale(request))
