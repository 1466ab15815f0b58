"""`egards cases ...`: the SLA file check, a sweep on demand, a raw e-mail handed in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Cases and listening.", no_args_is_help=True)
console = Console()


@app.command("check-sla")
def check_sla(
    file: Annotated[
        Path | None, typer.Argument(help="SLA file (the configured one if omitted).")
    ] = None,
) -> None:
    """Validate an SLA file and list its policies."""
    from egards.cases.errors import SlaConfigError
    from egards.cases.sla_config import load_sla_config
    from egards.config import get_settings

    try:
        settings = load_sla_config(file or get_settings().sla_file)
    except SlaConfigError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(code=2) from None
    for policy in settings.policies:
        targets = ", ".join(
            f"{name} {target.duration}"
            for name in ("first_response", "next_response", "resolution")
            if (target := getattr(policy, name))
        )
        console.print(f"[bold]{policy.name}[/]: {targets}")
    console.print(f"{len(settings.escalation)} escalation step(s). [green]OK[/]")


@app.command()
def sweep() -> None:
    """Run the SLA sweep and escalations once, now."""
    from egards.cases.service import config_from_settings
    from egards.cases.service import sweep as run_sweep
    from egards.cli_support import database
    from egards.config import get_settings

    settings = get_settings()
    report = run_sweep(database(settings), config=config_from_settings(settings))
    console.print(str(report))


@app.command("receive-email")
def receive_email(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An .eml file.")],
) -> None:
    """Hand one raw e-mail to the intake, as the SMTP receiver would."""
    from egards.cases.mail import receive_email as receive
    from egards.cases.service import config_from_settings
    from egards.cli_support import database
    from egards.config import get_settings

    settings = get_settings()
    result = receive(
        database(settings),
        raw=file.read_bytes(),
        config=config_from_settings(settings),
        source="cli",
    )
    console.print(
        f"raw {result.raw_id}: {result.status} case={result.case_id} {result.error or ''}"
    )
    if result.status == "failed":
        raise typer.Exit(code=1)


@app.command()
def recount() -> None:
    """Rebuild the "no silence" totals from the cases (after a bulk load or a restore)."""
    from egards.cases.service import recount as rebuild
    from egards.cli_support import database
    from egards.config import get_settings

    with database(get_settings()).unit_of_work() as session:
        waiting, overdue = rebuild(session)
    console.print(f"{waiting} awaiting an answer, {overdue} past the promise.")
