"""`python -m egards` is the `egards` command."""

from egards.cli import app

app()
