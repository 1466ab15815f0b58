"""The listening promise in a real browser: an agent answers the oldest waiting case."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from egards.demo.generate import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_an_agent_answers_the_oldest_case_and_it_leaves_the_no_silence_view(page):
    page.goto("/login")
    page.fill("#email", "agent.en@demo.egards.fr")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers")
    page.click("header nav summary >> text=Requests")  # the Requests menu holds the inbox
    page.click("header nav details[open] a >> text=Cases")
    page.wait_for_url("**/cases")
    expect(page.locator("#inbox-table tr.case-row").first).to_be_visible()
    expect(page.locator("#inbox-table .sla-timer").first).to_be_visible()

    page.click("header nav summary >> text=Requests")
    page.click("header nav details[open] a >> text=No silence")
    page.wait_for_url("**/no-silence")
    waiting_before = int(page.locator("#waiting-count").inner_text())
    oldest = page.locator("#silence-table tr.silence-row").first
    case_id = oldest.get_attribute("data-case")
    assert waiting_before >= 1 and case_id
    oldest.locator("a").click()
    page.wait_for_url(f"**/cases/{case_id}")
    expect(page.locator("#awaiting")).to_be_visible()

    page.select_option("#macro", index=1)
    expect(page.locator("#reply-body")).not_to_have_value("")
    page.fill("#reply-body", "We have rebooked your bag; it will be delivered tomorrow.")
    page.click("#send-reply")
    page.wait_for_url(f"**/cases/{case_id}")
    expect(page.locator("#thread li.reply").last).to_contain_text("rebooked your bag")
    expect(page.locator("#awaiting")).to_have_count(0)
    if os.environ.get("EGARDS_SCREENSHOTS"):
        page.screenshot(path=os.environ["EGARDS_SCREENSHOTS"] + "/case.png", full_page=True)

    page.goto("/no-silence")
    expect(page.locator("#waiting-count")).to_have_text(str(waiting_before - 1))
    expect(page.locator(f"#silence-table tr[data-case='{case_id}']")).to_have_count(0)
