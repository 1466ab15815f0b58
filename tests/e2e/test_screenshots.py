"""Screenshots of the main console pages in both languages at 1366 px, and of a few of them
and of the customer portal's home on a 390-px phone (``*-phone-*.png``), kept in
``docs/img/`` (the README shows them), so that a layout change is seen in review as a
changed image.

``EGARDS_SCREENSHOTS`` names another folder to write them to (e.g. to compare without
touching the repository's images). Each shot also checks what a person would notice first:
the menu fits on one line and nothing scrolls sideways.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PIL import Image

from egards.portal.demo import demo_customer
from tests.e2e.test_accessibility import overflow, sign_in
from tests.e2e.test_portal_journey import Portal

pytestmark = pytest.mark.browser

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
LAPTOP, PHONE = (1366, 768), (390, 844)
ON_PHONE = ("inbox", "case", "customer-360", "no-silence")  # the pages shot on the phone too


def small(path: Path) -> None:
    """128 colours are plenty for a console of flat colours: a third of the bytes."""
    image = Image.open(path).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )


def interesting_case(page) -> tuple[str, str]:
    """A waiting case of a scored loyalty member (the richest 360 and offer): its path and
    its customer's id."""
    page.goto("/no-silence")
    rows = page.locator("#silence-table tr.silence-row")
    chosen = rows.first
    for index in range(rows.count()):
        row = rows.nth(index)
        if row.locator("td.tier .badge").count() and row.locator("td.churn-risk .badge").count():
            chosen = row
            break
    case_path = chosen.locator("a").first.get_attribute("href")
    page.goto(case_path)
    customer_path = page.locator("#customer-side a[href^='/customers/']").first.get_attribute(
        "href"
    )
    return case_path, customer_path.rstrip("/").split("/")[-1]


@pytest.mark.parametrize(
    ("size", "locale"), [(LAPTOP, "fr"), (LAPTOP, "en"), (PHONE, "fr"), (PHONE, "en")]
)
def test_main_pages_in_both_languages_at_1366_px_and_on_a_phone(browser, live_app, size, locale):
    live_server, db = live_app
    folder = Path(os.environ.get("EGARDS_SCREENSHOTS") or DOCS_IMG)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    phone = size == PHONE
    context = browser.new_context(
        base_url=live_server,
        locale="fr-FR" if locale == "fr" else "en-GB",
        viewport={"width": width, "height": height},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, locale=locale)
        case_path, customer_id = interesting_case(page)
        shots = {
            "customer-360": f"/customers/{customer_id}",
            "inbox": "/cases",
            "case": case_path,
            "no-silence": "/no-silence",
            "recovery-offer": f"/recovery/offer?customer_id={customer_id}&case_id="
            + case_path.rstrip("/").split("/")[-1],
        }
        for name, path in shots.items():
            if phone and name not in ON_PHONE:
                continue
            page.goto(path)
            page.wait_for_load_state("networkidle")
            assert page.locator("header.top").bounding_box()["height"] < 60, (name, "menu wraps")
            assert overflow(page) <= 0, (name, "scrolls sideways")
            shot = folder / (f"{name}-phone-{locale}.png" if phone else f"{name}-{locale}.png")
            page.screenshot(path=shot, animations="disabled")
            small(shot)
    finally:
        context.close()
    if phone:
        shoot_portal_home(browser, live_server, db, locale, folder)


def shoot_portal_home(browser, live_server: str, db, locale: str, folder: Path) -> None:
    """The demo customer's portal home (``/my``) on the phone, signed in by the link the
    portal sends (read from the outbox)."""
    portal = Portal(live_server, db, demo_customer(db) or "")
    context = browser.new_context(
        base_url=live_server,
        locale="fr-FR" if locale == "fr" else "en-GB",
        viewport={"width": PHONE[0], "height": PHONE[1]},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/my/sign-in")
        page.fill("#email", portal.email)
        page.click("#sign-in-form button[type=submit]")
        page.locator("#link-sent").wait_for()
        page.goto(portal.last_link())
        page.click("#use-link")
        page.wait_for_url(re.compile(r".*/my$"))
        if page.locator("html").get_attribute("lang") != locale:
            page.click("#switch-locale")
            page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == locale
        page.wait_for_load_state("networkidle")
        assert overflow(page) <= 0, ("portal-home", "scrolls sideways")
        shot = folder / f"portal-home-phone-{locale}.png"
        page.screenshot(path=shot, animations="disabled")
        small(shot)
    finally:
        context.close()
