"""Every console page reachable from the menu, in a real browser: axe-core finds no serious or
critical WCAG 2.1 A/AA violation at 1366 px and on a 390-px phone, and no page scrolls
sideways on the phone, at 1366 or at 1920 px (both checks in one visit of each page).

axe-core is vendored (``vendor/axe.min.js``, version in its first line, from the npm
registry's ``axe-core`` package) so that a fresh machine needs nothing else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from egards.demo.generate import DEMO_PASSWORD

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SUPERVISOR = "supervisor@demo.egards.fr"

# Pages that need no discovery; the 360, the case and the offer are found from the demo data.
FIXED_PAGES = [
    "/customers",
    "/customers?q=a",
    "/cases",
    "/no-silence",
    "/case-reports",
    "/loyalty",
    "/recovery",
    "/recovery/approvals",
    "/recovery/budgets",
    "/recovery/returns",
    "/recovery/exceptions",
    "/recovery/events",
    "/recovery/catalogue",
    "/analytics",
    "/audit",
]


def sign_in(page, email: str = SUPERVISOR, locale: str = "en") -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers**")
    if page.locator("html").get_attribute("lang") != locale:
        if not page.is_visible("#switch-locale"):  # on a phone, the menu is a button
            page.click("#menu > summary")
        page.click("#switch-locale")
        page.wait_for_load_state()


def main_pages(page) -> list[str]:
    """The fixed pages, every entry of the menu, a customer 360 with a case, that case, a
    gesture offer and an idea."""
    menu = page.eval_on_selector_all(
        "header nav a[href^='/']", "links => links.map(link => link.getAttribute('href'))"
    )
    page.goto("/ideas")
    idea = page.locator("main a[href^='/ideas/']").first
    ideas = [idea.get_attribute("href")] if idea.count() else []
    page.goto("/cases")
    row = page.locator("#inbox-table tr.case-row").first
    case_path = row.locator("a").first.get_attribute("href")
    page.goto(case_path)
    customer_path = page.locator("a[href^='/customers/']").first.get_attribute("href")
    customer_id = customer_path.rstrip("/").split("/")[-1]
    case_id = case_path.rstrip("/").split("/")[-1]
    return list(
        dict.fromkeys(
            [
                *FIXED_PAGES,
                *menu,
                *ideas,
                customer_path,
                case_path,
                f"/recovery/offer?customer_id={customer_id}&case_id={case_id}",
            ]
        )
    )


def axe_violations(page) -> list[str]:
    """Serious and critical violations on the page as it is, one line per rule and element."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    found = []
    for violation in result["violations"]:
        if violation["impact"] in ("serious", "critical"):
            for node in violation["nodes"]:
                found.append(
                    f"{violation['id']} ({violation['impact']}): {node['target']} "
                    f"{node.get('failureSummary', '')[:160]!r}"
                )
    return found


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scroll)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )


@pytest.fixture
def context_at(browser, live_server):
    contexts = []

    def make(width: int, height: int = 900):
        context = browser.new_context(
            base_url=live_server, locale="en-GB", viewport={"width": width, "height": height}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


def test_the_vendored_axe_core_is_the_pinned_version():
    assert AXE.read_text(encoding="utf-8")[:40].startswith(f"/*! axe v{AXE_VERSION}")


@pytest.mark.parametrize(
    # French at the phone's and the laptop's width (its text is the longer, so the likelier to
    # overflow; axe-core's rules do not depend on the language), English at 1920 px.
    ("width", "locale"),
    [(390, "fr"), (1366, "fr"), (1920, "en")],
)
def test_no_main_page_has_a_serious_axe_violation_or_scrolls_sideways(context_at, width, locale):
    """One visit of each page checks both; axe-core at the phone's and the laptop's width,
    and at 1366 px that / brings the focus to the customer search."""
    page = context_at(width)
    sign_in(page, locale=locale)
    problems: dict[str, list[str]] = {}

    def check(path: str) -> None:
        found = axe_violations(page) if width < 1900 else []
        if (extra := overflow(page)) > 0:
            found.append(f"scrolls sideways by {extra}px")
        if found:
            problems[path] = found

    pages = main_pages(page)
    assert {"/ideas", "/voice/nps", "/privacy-requests"} <= set(pages), pages
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        check(path)
        if width == 1366:  # the README's promise: / searches from any page
            page.keyboard.press("/")
            focused = page.evaluate("() => document.activeElement.id")
            if focused not in ("q", "nav-q"):
                problems.setdefault(path, []).append(f"/ focuses {focused!r}, not the search")
    page.context.clear_cookies()
    page.goto("/contact")
    check("/contact")
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def tabs_until(page, selector: str, limit: int = 40) -> int:
    """How many presses of Tab bring the focus to ``selector`` (fails beyond ``limit``)."""
    for count in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return count
    raise AssertionError(f"{selector} not reached in {limit} Tabs")


def test_the_recommended_gesture_is_a_few_keys_away_from_the_case(context_at):
    page = context_at(1366)
    sign_in(page)
    case_path = main_pages(page)[-2]
    page.goto(case_path)
    assert tabs_until(page, ".skip-link") == 1
    page.keyboard.press("Enter")
    to_offer = tabs_until(page, "#offer-gesture")
    page.keyboard.press("Enter")
    page.wait_for_url("**/recovery/offer**")
    assert tabs_until(page, "#skip-to-recommended") == 2  # after "Skip to content"
    page.keyboard.press("Enter")
    to_accept = tabs_until(page, "#accept-1")
    # The whole way: Tab, Enter, to_offer Tabs, Enter, 2 Tabs, Enter, to_accept Tabs.
    assert to_offer <= 6 and to_accept <= 3, (to_offer, to_accept)


def test_slash_focuses_the_search_box_from_any_page(context_at):
    page = context_at(1366)
    sign_in(page)
    for path in ("/cases", "/loyalty", "/customers"):
        page.goto(path)
        page.keyboard.press("/")
        focused = page.evaluate("() => document.activeElement.id")
        assert focused in ("q", "nav-q"), (path, focused)
    page.goto("/loyalty")
    page.keyboard.press("/")
    page.keyboard.type("a")
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers?q=a")


def test_search_results_are_announced_in_a_live_region(context_at):
    page = context_at(1366)
    sign_in(page)
    page.goto("/customers")
    status = page.locator("#search-status")
    assert status.get_attribute("role") == "status"
    page.fill("#q", "a")
    expect(status).to_contain_text("customers found")
    page.fill("#q", "zzzzqqqq")
    expect(status).to_have_text("No customer matches.")


@pytest.mark.parametrize("width", [390, 1366])
def test_a_long_e_mail_address_stays_inside_its_card_on_the_360_page(context_at, width):
    page = context_at(width)
    sign_in(page)
    page.goto("/customers/new")
    page.fill("#first_name", "Anne-Charlotte")
    page.fill("#last_name", "de La Rochefoucauld-Montmorency")
    address = f"anne-charlotte.delarochefoucauld-montmorency.service-clients.{width}@exemple.fr"
    page.fill("#email", address)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    assert overflow(page) <= 0
    cut = page.evaluate(
        """() => [...document.querySelectorAll('main .card')]
              .filter(card => card.scrollWidth > card.clientWidth + 1)
              .map(card => card.id || card.className)"""
    )
    assert cut == []
    shown = page.get_by_text(address).first
    box, card = shown.bounding_box(), page.locator("#identities").bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"]


def test_the_letters_delivery_choices_line_up_with_its_template(context_at):
    """The offer's letter: the "Delivery" radio buttons' legend on the line of the
    "Template" label beside it, at 1366 px and on a phone."""
    page = context_at(1366)
    sign_in(page)
    offer = main_pages(page)[-1]
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(offer)
        letter = page.locator("#gesture-code option[data-kind='letter']").first
        page.select_option("#gesture-code", letter.get_attribute("value"))
        label = page.locator("#letter-choices label[for='template-code']").bounding_box()
        legend = page.locator("#letter-choices legend").bounding_box()
        assert abs(label["y"] - legend["y"]) <= 2, (width, label, legend)
        assert overflow(page) <= 0


def cut_cells(page, table: str, rows: int = 12) -> list[str]:
    """The cells of a table's first rows that do not fit in the window (or that the table
    scrolls sideways to show): each as "row index: its text"."""
    return page.evaluate(
        """([table, rows]) => {
            const box = document.querySelector(table);
            const found = box.scrollWidth > box.clientWidth + 1 ? ['the table scrolls'] : [];
            [...box.querySelectorAll('tbody tr')].slice(0, rows).forEach((row, i) =>
              [...row.cells].forEach(cell => {
                const r = cell.getBoundingClientRect();
                if (r.width && (r.left < 0 || r.right > window.innerWidth))
                  found.push(i + ': ' + cell.innerText.trim().slice(0, 40));
              }));
            return found;
        }""",
        [table, rows],
    )


def test_on_a_phone_the_menu_is_one_button_and_the_queues_are_cards(context_at):
    """On a 390-px phone the inbox, the team queue and "no silence" show each case as a card:
    time left, customer and subject first, every cell inside the window, no sideways scroll;
    a case's thread comes before its customer's panels."""
    page = context_at(390, 844)
    sign_in(page)
    page.goto("/cases")
    header = page.locator("header.top").bounding_box()
    assert header["height"] < 70  # the brand and the menu button, one line
    assert not page.is_visible("header nav")
    page.click("#menu > summary")
    page.click("header nav summary >> text=Requests")
    page.click("header nav details[open] a >> text=No silence")
    page.wait_for_url("**/no-silence")
    assert cut_cells(page, "#silence-table") == []
    first = page.locator("#silence-table tr.silence-row").first
    timer = first.locator(".sla-timer").bounding_box()
    subject = first.locator("td.lead").last.bounding_box()
    assert timer["x"] + timer["width"] <= 390 and timer["y"] < subject["y"]
    for path in ("/cases?view=all", "/cases?view=team"):
        page.goto(path)
        assert cut_cells(page, "#inbox-table") == [], path
        row = page.locator("#inbox-table tr.case-row").first
        timer, customer, subject, channel = (
            row.locator(cell).bounding_box()
            for cell in (
                ".sla-timer",
                "td.lead.strong",
                "td.lead >> nth=1",
                "td[data-label] >> nth=-1",
            )
        )
        assert timer["x"] + timer["width"] <= 390  # the point of the inbox, without scrolling
        # A card, key cells first: time left, then customer, then subject, the rest after.
        assert timer["y"] < customer["y"] < subject["y"] < channel["y"], path
    team = page.locator(".team-filter select").bounding_box()
    assert team["width"] >= 200
    # A case opened on the phone shows its thread before the customer's panels.
    page.goto(f"/cases/{page.locator('#inbox-table tr.case-row').first.get_attribute('data-case')}")
    thread = page.locator("#thread-card").bounding_box()
    assert thread["y"] < page.locator("#customer-side").bounding_box()["y"]
