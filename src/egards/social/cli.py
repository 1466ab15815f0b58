"""`egards social ...`: import a social network export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Social profiles and mentions: imports.", no_args_is_help=True)
console = Console()


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A CSV or JSONL export of mentions.")],
) -> None:
    """Import mentions and direct messages from a social listening export (CSV or JSONL:
    network, handle, author_name, text, external_id, followers, verified, url, posted_at,
    needs_answer, and the usual aliases). Profiles are created or refreshed, linked to
    customers on deterministic evidence, and a post marked needs_answer opens a case.
    Refused lines are listed with their number; the rest is imported."""
    from egards.cases import service as cases
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.db import utcnow
    from egards.social import service

    settings = get_settings()
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]cannot read {file}: {exc}[/red]")
        raise typer.Exit(2) from None
    db = database(settings)
    with reporting():
        report = service.import_export(
            db,
            text=text,
            filename=file.name,
            config=cases.config_from_settings(settings),
            now=utcnow(),
        )
    console.print(
        f"{report.read} read, {report.imported} imported, {report.cases_opened} cases opened, "
        f"{report.linked} linked, {report.to_review} to review, {len(report.rejects)} refused"
    )
    for number, reason in report.rejects[:100]:
        console.print(f"line {number}: {reason}")
    if report.rejects:
        raise typer.Exit(1)


@app.command("link")
def link() -> None:
    """Link unlinked social profiles to customers with the probabilistic model: automatic
    above EGARDS_SOCIAL_LINK_UPPER, to the review queue above EGARDS_SOCIAL_LINK_LOWER."""
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.db import utcnow
    from egards.social import service

    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        run = service.link_with_settings(session, now=utcnow())
    console.print(
        f"{run.profiles} profiles against {run.customers} customers: {run.linked} linked, "
        f"{run.to_review} to review ({run.seconds:.1f} s)"
    )


@app.command("duplicates")
def duplicates() -> None:
    """Look for duplicate customer files with the linking model and queue them for a person
    (nothing is merged automatically)."""
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.db import utcnow
    from egards.social import service
    from egards.social.settings import SocialSettings

    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        queued = service.find_duplicates(session, now=utcnow(), lower=SocialSettings().link_upper)
    console.print(f"{queued} pairs of possible duplicates queued for review")


@app.command("retrain")
def retrain() -> None:
    """Retrain the linking model on the review outcomes (links people confirmed or
    rejected); the next `egards social link` and `duplicates` runs use it."""
    from egards.accounts.domain import SYSTEM
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.db import utcnow
    from egards.social import service

    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        model = service.retrain(session, actor=SYSTEM, now=utcnow())
        accepted, rejected = model.accepted, model.rejected
    console.print(f"Model retrained from {accepted} confirmed and {rejected} rejected links")
