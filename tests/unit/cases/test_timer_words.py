"""The SLA timer of the queues and the case page: hours and minutes within two days, days and
hours beyond (a case overdue for months reads "410 j 2 h", not "−9840 h 55"), the day's unit
in the reader's language."""

from datetime import UTC, datetime, timedelta

import pytest

from egards.i18n import translate_context
from egards.web.templating import templates

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def timer_html(locale: str, left: timedelta, state: str = "running") -> str:
    module = templates.env.get_template("cases/_timer.html").make_module(
        {
            "pgettext": lambda context, text: translate_context(locale, context, text),
            "dt": lambda value, zone=False: value.isoformat(),
        }
    )
    return str(module.timer(NOW + left, state, NOW))


def timer(locale: str, left: timedelta) -> str:
    return timer_html(locale, left).split(">", 1)[1].rsplit("<", 1)[0].strip()


@pytest.mark.parametrize(
    ("locale", "left", "shown"),
    [
        ("en", timedelta(hours=47, minutes=59), "47 h 59"),
        ("fr", timedelta(minutes=5), "0 h 05"),
        ("en", timedelta(days=2), "2 d 0 h"),
        ("fr", timedelta(days=3, hours=4, minutes=30), "3 j 4 h"),
        ("fr", -timedelta(days=410, hours=2, minutes=55), "−410 j 2 h"),
        ("en", -timedelta(hours=3, minutes=7), "−3 h 07"),
    ],
)
def test_time_left_is_in_hours_within_two_days_and_in_days_beyond(locale, left, shown):
    assert timer(locale, left) == shown


def test_the_page_script_gets_the_day_unit_of_the_reader():
    assert 'data-day="j"' in timer_html("fr", timedelta(days=5))
    assert 'data-day="d"' in timer_html("en", timedelta(days=5))
