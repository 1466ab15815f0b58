"""Alembic, driven from code so that `egards init` works from an installed package."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("egards") / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
