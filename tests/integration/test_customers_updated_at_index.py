"""Migration 0033: an index on ``customers.updated_at``, so that the social feature's kept
model finds the customers edited since it last looked by a range read, not a read of every
row; the way down drops it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import BOTH, migrate, own_database

INDEX = "ix_customers_updated_at"


@pytest.fixture(params=BOTH)
def committed_db(request, tmp_path):
    yield from own_database(request.param, tmp_path, "updated_at_index")


def _indexes(db) -> dict[str, list[str | None]]:
    return {i["name"]: i["column_names"] for i in sa.inspect(db.engine).get_indexes("customers")}


def test_customers_updated_at_is_indexed_and_the_way_down_drops_it(committed_db):
    db = committed_db
    assert _indexes(db)[INDEX] == ["updated_at"]
    migrate(db, command.downgrade, "0027")
    assert INDEX not in _indexes(db)
    migrate(db, command.upgrade, "heads")
    assert _indexes(db)[INDEX] == ["updated_at"]


def test_the_model_declares_the_index_the_migration_makes():
    from egards.customers.models import Customer

    assert INDEX in {index.name for index in Customer.__table__.indexes}
