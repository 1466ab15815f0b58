"""What every command shares: the database, domain errors reported as messages, the summary
of an import's rejected rows. The root CLI and the feature CLIs use it alike, so that no
feature reaches into the root CLI (which loads the features' commands)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from egards.config import Settings
from egards.errors import DomainError

if TYPE_CHECKING:  # SQLAlchemy is loaded by the commands that use it, not by `egards --help`
    from egards.db import Database

console = Console()


def database(settings: Settings) -> Database:
    """The one way a command reaches the database. Every feature's tables are loaded first,
    so that the metadata is complete (foreign keys resolved) whichever module the command
    imported: an import of customers alone writes audit records that point at users."""
    import egards.all_models  # noqa: F401
    from egards.db import Database, engine_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(engine_from_settings(settings))


class reporting:
    """Domain errors end the command with their message instead of a traceback."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        # Returns None, never swallows: a domain error becomes exit code 2, any other
        # exception goes on.
        if isinstance(error, DomainError):
            where = f"{error.field}: " if error.field else ""
            console.print(f"[red]Error[/] {where}{error.message}")
            raise typer.Exit(code=2)


def rejected(count: int, report: Path, *, removed: bool) -> str:
    """How many rows an import rejected, and where they are (or that an earlier report of
    the same file, now out of date, was removed)."""
    text = f"[{'red' if count else 'green'}]{count:,} rejected[/]"
    if count:
        return f"{text} (see {report})"
    return f"{text} (earlier {report} removed)" if removed else text
