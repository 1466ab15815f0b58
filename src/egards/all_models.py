"""Every feature's tables, imported so that the metadata is complete (Alembic, tests)."""

from egards.accounts import models as accounts_models
from egards.audit import models as audit_models
from egards.customers import models as customers_models
from egards.db import Base

__all__ = ["Base", "accounts_models", "audit_models", "customers_models"]
