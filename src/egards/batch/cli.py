"""`egards batch ...`: the nightly jobs on one machine or on Spark, and the Parquet export
Spark reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="The nightly batch on one machine or on Spark, and its Parquet export.",
    no_args_is_help=True,
)
console = Console()


@app.command()
def export(
    parquet: Annotated[Path, typer.Option("--parquet", help="Folder to write the export to.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Last day exported (YYYY-MM-DD); today.")
    ] = None,
    source: Annotated[str, typer.Option(help="all, loyalty or imported.")] = "all",
) -> None:
    """Export the transactions up to a day as Parquet, for `egards batch run --parquet`."""
    from datetime import UTC, datetime

    from egards.batch import service
    from egards.cli_support import database, reporting
    from egards.config import get_settings

    db = database(get_settings())
    day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    with reporting():
        manifest = service.export_parquet(db, directory=parquet, as_of=day, source=source)
    console.print(f"{manifest['transactions']:,} transactions up to {day} written to {parquet}.")


@app.command("run")
def run_job(
    job: Annotated[str, typer.Argument(help="The job: score, requalify or link.")],
    engine: Annotated[str, typer.Option(help="local (this process) or spark.")] = "local",
    master: Annotated[
        str, typer.Option(help="Spark master: local[N], spark://HOST:PORT, yarn, k8s://URL.")
    ] = "local[2]",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Scoring date (YYYY-MM-DD); today if omitted.")
    ] = None,
    source: Annotated[str, typer.Option(help="all, loyalty or imported.")] = "all",
    refit: Annotated[
        bool | None,
        typer.Option("--refit/--reuse", help="Fit the models again, or reuse the last fit."),
    ] = None,
    parquet: Annotated[
        Path | None,
        typer.Option(help="An export of `egards batch export` to read; made afresh if omitted."),
    ] = None,
    jdbc: Annotated[
        bool,
        typer.Option(
            "--jdbc",
            help="Scoring on Spark: read the transactions from PostgreSQL by JDBC instead of "
            "a Parquet export (needs the driver: apt-get install libpostgresql-jdbc-java).",
        ),
    ] = False,
) -> None:
    """Run a batch job and write its results back in one switch; the previous results stay if
    anything fails, and the run is recorded with its reason."""
    from egards.accounts.domain import SYSTEM
    from egards.batch import service
    from egards.cli_support import database, reporting
    from egards.config import get_settings

    db = database(get_settings())
    day = date.fromisoformat(as_of) if as_of else None
    with reporting():
        outcome = service.run(
            db,
            actor=SYSTEM,
            job=job,
            engine=engine,
            master=master,
            as_of=day,
            source=source,
            refit=refit,
            parquet=parquet,
            jdbc=jdbc,
        )
    table = Table("figure", "value", title=f"Batch run {outcome.run_id} ({job} on {engine})")
    for key, value in outcome.counts.items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    console.print(table)
