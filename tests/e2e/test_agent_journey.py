"""An agent's day in the console, in a real browser."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from egards.demo.generate import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, email="agent.en@demo.egards.fr"):
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers")


def test_agent_finds_a_customer_by_phone_opens_the_file_adds_a_note_and_switches_to_french(
    page, live_server
):
    sign_in(page)
    # The demo's 6th customer has the phone +33612000185; the agent types it the French way.
    page.fill("#q", "06 12 00 01 85")
    row = page.locator("#results tr.row-link")
    expect(row).to_have_count(1)
    row.locator("a").click()
    page.wait_for_url("**/customers/*")
    expect(page.locator("#identities")).to_contain_text("06 12 00 01 85")
    page.fill("#note-body", "Called back about the missed installer appointment")
    page.click("#notes button[type=submit]")
    expect(page.locator("#notes-list")).to_contain_text("missed installer appointment")
    expect(page.locator("#note-body")).to_have_value("")
    page.click("#switch-locale")
    expect(page.locator("#timeline h2")).to_have_text("Historique")
    expect(page.locator("header nav")).to_contain_text("Clients")
    if os.environ.get("EGARDS_SCREENSHOTS"):
        page.screenshot(
            path=os.environ["EGARDS_SCREENSHOTS"] + "/customer-360.png", full_page=False
        )


def test_search_is_accent_insensitive_and_keyboard_driven(page):
    sign_in(page)
    page.locator("#q").blur()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("helene")
    expect(page.locator("#results tr.row-link").first).to_contain_text("Hélène")
