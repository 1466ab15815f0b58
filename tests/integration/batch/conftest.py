"""One Spark session for the whole run (starting one takes seconds): local[2], few shuffle
partitions, no UI. Without PySpark or Java the Spark tests skip, saying which is missing,
unless EGARDS_REQUIRE_ALL=1 (CI), where they fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from egards.batch import spark as spark_engine
from egards.batch.errors import SparkUnavailable
from tests.conftest import _unavailable


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    try:
        session = spark_engine.session("local[2]", shuffle_partitions=4)
    except SparkUnavailable as exc:
        _unavailable(f"Spark tests need PySpark and Java 17: {exc.message}")
    yield session
    session.stop()
