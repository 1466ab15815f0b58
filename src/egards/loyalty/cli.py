"""`egards loyalty ...`: period-end requalification and activity imports."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="The loyalty engine: requalification, activity imports, ledger verification, "
    "merging recent rows.",
    no_args_is_help=True,
)
console = Console()


@app.command()
def requalify(
    as_of: Annotated[
        str, typer.Option("--as-of", help="Close periods that ended before this day (YYYY-MM-DD).")
    ],
) -> None:
    """Close every qualification period that ended before AS_OF: tiers kept, lowered or
    raised by the programme's rules, each change on the customer's timeline."""
    from egards.accounts.domain import SYSTEM
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.loyalty import service

    day = date.fromisoformat(as_of)
    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        from sqlalchemy import func, select

        from egards.loyalty.models import Member

        total = (
            session.scalar(select(func.count()).select_from(Member).where(Member.period_end < day))
            or 0
        )
        with console.status(f"Requalifying {total:,} members"):
            counts = service.requalify(session, actor=SYSTEM, as_of=day)
    console.print(f"{counts['members']:,} members evaluated, {counts['changed']:,} changed tier.")


@app.command()
def expire(
    as_of: Annotated[
        str, typer.Option("--as-of", help="Lapse what is due on this day (YYYY-MM-DD).")
    ],
) -> None:
    """Lapse points whose validity ended before AS_OF, by each programme's expiry rule."""
    from egards.accounts.domain import SYSTEM
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.loyalty import service

    db = database(get_settings())
    with reporting(), db.unit_of_work() as session, console.status("Expiring points"):
        counts = service.expire_points(session, actor=SYSTEM, as_of=date.fromisoformat(as_of))
    console.print(f"{counts['expired_points']:,} points expired for {counts['members']:,} members.")


@app.command("import-activities")
def import_activities(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV, JSON Lines or Parquet.")
    ],
    programme: Annotated[str, typer.Option(help="Programme code, e.g. flying_blue.")],
    rejects: Annotated[Path | None, typer.Option(help="Where to write rejected rows.")] = None,
) -> None:
    """Count activities from a file; unknown members are parked; rejects get a report."""
    from egards.accounts.domain import SYSTEM
    from egards.cli_support import database, rejected, reporting
    from egards.config import get_settings
    from egards.loyalty.imports import import_activities as run

    db = database(get_settings())
    rejects = rejects or file.with_name(file.name + ".rejects.csv")
    with reporting():
        counts = run(
            db, file, programme=programme, actor=SYSTEM, rejects_path=rejects, console=console
        )
    console.print(
        f"{counts['applied']:,} applied, {counts['parked']:,} parked, "
        + rejected(counts["rejected"], rejects, removed=counts["removed_rejects"])
    )
    if counts["rejected"]:
        raise typer.Exit(code=1)


@app.command()
def verify(
    member: Annotated[
        int | None, typer.Option("--member", help="Verify this member only (their id).")
    ] = None,
) -> None:
    """Replay ledgers (every member's, or one) and compare with the stored state operations
    start from: entries, balances, buckets, allocations, cap usage. Exits 1 on a difference."""
    from egards.accounts.domain import SYSTEM
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.loyalty import service

    db = database(get_settings())
    differences = 0
    with reporting(), db.unit_of_work() as session, console.status("Replaying ledgers"):
        for difference in service.verify(session, actor=SYSTEM, member_id=member):
            differences += 1
            console.print(
                f"member {difference.member_id}: {difference.what}: stored "
                f"{difference.stored!r}, replayed {difference.replayed!r}"
            )
    if differences:
        console.print(f"[red]{differences:,} difference{'s' if differences != 1 else ''}[/]")
        raise typer.Exit(code=1)
    console.print("[green]The stored state is the ledger's.[/]")


@app.command()
def merge() -> None:
    """Move the recent activities, entries and buckets into the members' history now
    (PostgreSQL; the worker does it once the oldest is EGARDS_LOYALTY_MERGE_DAYS old)."""
    from rich.progress import Progress

    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.loyalty.jobs import merge_recent_rows

    db = database(get_settings())
    members = 0
    with reporting(), Progress(console=console) as progress:
        task = progress.add_task("Merging recent rows", total=None)

        def advance(done: int, total: int) -> None:
            nonlocal members
            members = total
            progress.update(task, completed=done, total=total)

        moved = merge_recent_rows(db, advance)
    console.print(f"{moved:,} rows of {members:,} members moved into the history.")
