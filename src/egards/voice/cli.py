"""`egards voice ...`: train the text model, analyse a text."""

from __future__ import annotations

import json
from typing import Annotated

import typer

app = typer.Typer(
    help="Voice of the customer: the text model (language, sentiment, churn threat, topic).",
    no_args_is_help=True,
)


@app.command()
def train() -> None:
    """Train the text model on the shipped labelled set plus the agents' corrections and save
    it in the data directory (used by every process from its next start)."""
    from egards.accounts.domain import SYSTEM
    from egards.cli_support import database, reporting
    from egards.config import get_settings
    from egards.voice import service

    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        outcome = service.train_model(session, actor=SYSTEM)
    typer.echo(
        f"trained on {outcome['examples']} messages ({outcome['corrections']} corrections);"
        f" saved to {outcome['path']}"
    )


@app.command()
def analyse(text: Annotated[str, typer.Argument(help="The text to analyse.")]) -> None:
    """Print what the model says about a text (JSON), storing nothing."""
    from dataclasses import asdict

    from egards.voice import service

    typer.echo(json.dumps(asdict(service.analyse_text(text)), ensure_ascii=False))
