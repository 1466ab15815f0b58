"""The loyalty member view on the customer 360 page, in a real browser."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.e2e.test_agent_journey import sign_in

pytestmark = pytest.mark.browser


def test_a_supervisor_sees_tier_progress_balances_and_the_explanation_then_grants_an_exception(
    page,
):
    sign_in(page, "supervisor@demo.egards.fr")
    page.goto("/customers/1")
    panel = page.locator("#loyalty")
    expect(panel).to_contain_text("Flying Blue")
    expect(panel.locator(".explanation").first).to_contain_text("XP")
    expect(panel.locator(".progress").first).to_be_visible()
    expect(panel).to_contain_text("Miles")
    if os.environ.get("EGARDS_SCREENSHOTS"):
        panel.screenshot(path=os.environ["EGARDS_SCREENSHOTS"] + "/loyalty-panel.png")
    panel.locator("details:has(select[name=tier]) > summary").first.click()
    page.select_option("#loyalty select[name=tier]", "gold")
    page.locator("#loyalty textarea[name=justification]").first.fill(
        "Downgraded after a charter flight in a 15-year-old business cabin"
    )
    page.locator("#loyalty details:has(select[name=tier]) button[type=submit]").first.click()
    expect(page.locator("#loyalty .badge.tier-gold").first).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("par dérogation")  # the supervisor's French
