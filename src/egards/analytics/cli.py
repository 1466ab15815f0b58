"""`egards analytics ...`: scoring runs and transaction imports."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Customer value and risk: scoring runs, transaction imports.", no_args_is_help=True
)
console = Console()


@app.command()
def score(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Scoring date (YYYY-MM-DD); today if omitted.")
    ] = None,
    source: Annotated[
        str, typer.Option(help="all, loyalty (activities) or imported (analytics_transactions).")
    ] = "all",
    refit: Annotated[
        bool | None,
        typer.Option("--refit/--reuse", help="Fit the models again, or reuse the last fit."),
    ] = None,
) -> None:
    """Score every customer (value, CLV, P(alive), segment, churn risk and reasons) and write
    the scores back; the previous scores stay if anything fails."""
    from egards.accounts.domain import SYSTEM
    from egards.analytics import service
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.i18n import render_message

    db = database(get_settings())
    day = date.fromisoformat(as_of) if as_of else None
    with reporting():
        outcome = service.score(
            db, actor=SYSTEM, as_of=day, source=source, refit=refit, console=console
        )
    counts = outcome.counts
    table = Table(
        "figure", "value", title=f"Scoring run {outcome.run_id} ({outcome.model_version})"
    )
    for key, value in counts.items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    value_models = outcome.report.get("value_models", {})
    if shrunk := value_models.get("bg_nbd", {}).get("shrinkage"):
        because = render_message("en", shrunk["because"])
        table.add_row("BG/NBD", f"shrunk to fit a small population ({because})")
    if skipped := value_models.get("gamma_gamma", {}).get("skipped"):
        table.add_row("Gamma-Gamma", render_message("en", skipped))
    churn = outcome.report.get("churn", {})
    if churn.get("method") == "gradient_boosting":
        table.add_row("churn AUC (out of time)", f"{churn['auc']:.3f}")
    else:
        reason = churn.get("reason", "").format(**churn.get("reason_values", {}))
        table.add_row("churn model", reason)
    for step, seconds in outcome.report.get("timings", {}).items():
        table.add_row(f"time: {step}", f"{seconds:.2f} s")
    console.print(table)


@app.command("import-transactions")
def import_transactions(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or Parquet.")],
    label: Annotated[
        str | None, typer.Option(help="Import label; an import under the same label is replaced.")
    ] = None,
    rejects: Annotated[Path | None, typer.Option(help="Where to write rejected rows.")] = None,
) -> None:
    """Import purchases (customer_id or customer_external_id, date, amount) for scoring."""
    from egards.accounts.domain import SYSTEM
    from egards.analytics.imports import import_transactions as run
    from egards.cli_support import database, rejected, reporting
    from egards.config import get_settings

    db = database(get_settings())
    rejects = rejects or file.with_name(file.name + ".rejects.csv")
    with reporting():
        result = run(db, file, actor=SYSTEM, label=label, rejects_path=rejects, console=console)
    console.print(
        f"{result.imported:,} imported ({result.replaced:,} replaced), "
        + rejected(result.rejected, rejects, removed=result.removed_rejects)
    )
    if result.rejected:
        raise typer.Exit(code=1)


@app.command()
def runs() -> None:
    """The last scoring runs and how they went."""
    from egards.accounts.domain import SYSTEM
    from egards.analytics import service
    from egards.cli_support import database
    from egards.config import get_settings
    from egards.i18n import render_message

    db = database(get_settings())
    table = Table("id", "as of", "status", "customers", "model", "error")
    with db.unit_of_work() as session:
        for run in service.runs(session, actor=SYSTEM):
            table.add_row(
                str(run.id),
                str(run.as_of),
                run.status,
                f"{run.counts.get('customers_scored', 0):,}",
                run.model_version or "",
                render_message("en", run.error_message)[:80],
            )
    console.print(table)


@app.command()
def fit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or Parquet.")],
    model: Annotated[
        str, typer.Option(help="bg-nbd, mbg-nbd, pareto-nbd, bg-bb, sbg or gamma-gamma.")
    ] = "bg-nbd",
    calibration_end: Annotated[
        str | None, typer.Option(help="Last day of the calibration window (YYYY-MM-DD).")
    ] = None,
    holdout_end: Annotated[
        str | None, typer.Option(help="Last day of the holdout window (YYYY-MM-DD).")
    ] = None,
    unit: Annotated[str, typer.Option(help="Time unit of recency and T: D, W or M.")] = "W",
    scores: Annotated[
        Path | None, typer.Option(help="Where to write the scores (default FILE.scores.csv).")
    ] = None,
    save: Annotated[Path | None, typer.Option(help="Save the fitted model as JSON.")] = None,
    model_file: Annotated[
        Path | None, typer.Option(help="Score with a saved model instead of fitting.")
    ] = None,
    months: Annotated[int, typer.Option(help="Horizon of expected purchases and CLV.")] = 12,
    diagnostics: Annotated[
        Path | None,
        typer.Option(help="Directory for the diagnostics (CSV tables and SVG charts)."),
    ] = None,
) -> None:
    """Fit a customer-value model on your own transactions or summaries (no database): prints
    the parameters with their standard errors, the log-likelihood and the convergence, and
    writes each customer's scores (P(alive), expected purchases, CLV)."""
    from egards.analytics import workbench
    from egards.cli_support import reporting
    from egards.errors import N_, InvalidInput

    with reporting():
        if unit not in ("D", "W", "M"):
            raise InvalidInput(N_("use D, W or M"), field="unit")
        for name, day in (("calibration_end", calibration_end), ("holdout_end", holdout_end)):
            if day is not None:
                try:
                    date.fromisoformat(day)
                except ValueError:
                    raise InvalidInput(
                        N_("{value} is not a date (YYYY-MM-DD)"), field=name, value=repr(day)
                    ) from None
        result = workbench.run(
            file,
            model_name=model,
            unit=unit,  # checked above: D, W or M
            calibration_end=calibration_end,
            holdout_end=holdout_end,
            model_file=model_file,
            months=months,
        )
    title = f"{model} on {file.name}" + (" (loaded model)" if model_file else "")
    table = Table("parameter", "estimate", "standard error", title=title)
    errors = result.fitted.standard_errors if result.fitted else {}
    for name, value in result.model.params.items():
        se = errors.get(name)
        table.add_row(name, f"{value:.6g}", "" if se is None else f"{se:.3g}")
    console.print(table)
    if result.fitted is not None:
        d = result.fitted.diagnostics
        console.print(
            f"log-likelihood {d.log_likelihood:,.2f} on {d.n_observations:,.0f} observations; "
            + ("converged" if d.converged else f"NOT converged ({d.message})")
            + f" after {d.iterations} iterations, {d.function_evaluations} evaluations"
        )
    if result.holdout:
        h = result.holdout
        console.print(
            f"holdout ({h['duration']:g} {unit}): {h['actual']:,.0f} purchases made, "
            f"{h['predicted']:,.0f} expected by the model"
        )
    if result.spend_frequency_correlation is not None:
        console.print(
            f"correlation of spend and frequency among repeat buyers: "
            f"{result.spend_frequency_correlation:.2f} (Gamma-Gamma assumes about 0)"
        )
    target = scores or file.with_name(file.stem + ".scores.csv")
    rows = workbench.write_scores(target, result.scores)
    console.print(f"{rows:,} rows of scores written to {target}")
    if diagnostics:
        written = workbench.write_diagnostics(diagnostics, result)
        console.print(f"{len(written)} diagnostics files written to {diagnostics}")
    if save:
        workbench.save_model(save, result)
        console.print(f"model saved to {save}")
