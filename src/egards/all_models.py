"""Every feature's tables, imported so that the metadata is complete (Alembic, tests)."""

from egards.db import Base
from egards.features import modules

MODELS = dict(modules("models"))

__all__ = ["MODELS", "Base"]
