"""docs/analytics.md is a doctest: its worked example runs, and prints what the page says."""

import doctest
from pathlib import Path

DOCS = Path(__file__).resolve().parents[3] / "docs" / "analytics.md"


def test_the_worked_example_on_cdnow_runs_and_prints_what_the_page_shows():
    result = doctest.testfile(
        str(DOCS),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        report=True,
        verbose=False,
    )
    assert result.attempted >= 15
    assert result.failed == 0
