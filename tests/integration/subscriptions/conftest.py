"""Every subscriptions test runs on the suite's fixed clock: end dates, notice periods,
tenure (which sizes the retention offer) and win-back dates never depend on today's date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def clocked(app):
    app.state.clock = lambda: NOW
    return app
