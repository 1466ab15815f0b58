"""The console menu: one group per feature, only the pages the actor may open, the current
page marked by its longest matching path; and the zone after every promised time."""

from __future__ import annotations

from datetime import UTC, datetime

from egards.accounts.domain import Actor, Role
from egards.web.i18n import format_datetime
from egards.web.templating import collect_nav, menu


def groups(role: Role, path: str) -> dict[str, list[tuple[str, str, bool]]]:
    collect_nav()
    return {g.label: g.entries for g in menu(Actor(label="x", role=role, user_id=1), path)}


def test_the_menu_has_five_groups_for_a_supervisor_with_their_sub_pages():
    shown = groups(Role.SUPERVISOR, "/customers")
    assert list(shown)[:1] == ["Customers"]
    # Features that name the same group join it: five groups, however many features.
    assert set(shown) == {"Customers", "Loyalty", "Requests", "Analytics", "Recovery"}
    assert [label for _, label, _ in shown["Requests"]] == [
        "Cases",
        "No silence",
        "Case reports",
        "Cancellations",
        "Cancellation reports",
    ]


def test_the_current_page_is_the_longest_matching_entry_only():
    shown = groups(Role.SUPERVISOR, "/recovery/approvals")
    current = [(p, label) for entries in shown.values() for p, label, on in entries if on]
    assert current == [("/recovery/approvals", "Approvals")]
    assert not any(
        on for entries in groups(Role.SUPERVISOR, "/casesx").values() for *_, on in entries
    )


def test_an_agent_sees_no_group_whose_pages_they_may_not_open():
    shown = groups(Role.AGENT, "/cases")
    assert "Approvals" not in [label for entries in shown.values() for _, label, _ in entries]
    assert "/audit" not in [p for p, _, _ in shown["Customers"]]
    assert "Analytics" not in shown and "Cancellation reports" not in str(shown["Requests"])


def test_a_promised_time_carries_the_business_zone_in_the_readers_language():
    due = datetime(2026, 12, 4, 14, 1, tzinfo=UTC)
    assert format_datetime(due, "fr", with_zone=True) == "4 décembre 2026 à 15:01 (heure de Paris)"
    assert format_datetime(due, "en", with_zone=True) == "4 December 2026 at 15:01 (Paris time)"
