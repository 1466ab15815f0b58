"""A customer's own space in a real browser, in English and in French, on a laptop and on a
320-px phone: sign in through the link read from the outbox, read the tier explanation, reply
to a request, download my data; axe-core finds no serious or critical WCAG 2.1 A/AA
violation on any portal page, no page scrolls sideways, and no French page shows a string of
the English catalogue.

axe-core is vendored (``vendor/axe.min.js``, 4.14.1 from the npm registry's ``axe-core``)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from egards.config import Settings
from egards.db import Database, make_engine
from egards.demo.generate import DEMO_PASSWORD, generate
from egards.migrate import upgrade
from egards.outbox.models import OutboxMessage
from egards.portal.demo import demo_customer
from tests.e2e.conftest import served
from tests.e2e.test_french_console import english_on, english_strings

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LINK = re.compile(r"https?://[^/\s]+(/my/link/[A-Za-z0-9_\-.]+)")


class Portal:
    def __init__(self, url: str, db: Database, email: str) -> None:
        self.url, self.db, self.email = url, db, email

    def last_link(self) -> str:
        with self.db.unit_of_work() as session:
            body = session.scalars(
                select(OutboxMessage.payload)
                .where(
                    OutboxMessage.recipient == self.email,
                    OutboxMessage.key.like("portal-link:%"),
                )
                .order_by(OutboxMessage.id.desc())
            ).first()
        assert body is not None, "no sign-in link in the outbox"
        return LINK.search(body["body"]).group(1)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("portal-e2e")
    settings = Settings(data_dir=data_dir, secret_key="e2e-" + "p" * 40, default_locale="en")
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    db = Database(engine)
    generate(db, customers=60, seed=3)
    email = demo_customer(db)
    assert email, "the demo has no customer to sign in as"
    with served(settings, db) as url:
        yield Portal(url, db, email)
    engine.dispose()


@pytest.fixture
def open_page(browser, portal):
    contexts = []

    def make(width: int = 1366):
        context = browser.new_context(
            base_url=portal.url,
            locale="en-GB",
            viewport={"width": width, "height": 800},
            accept_downloads=True,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


def axe_violations(page) -> list[str]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {node['target']} {node.get('failureSummary', '')[:160]!r}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]


def overflow(page) -> int:
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )


class Checks:
    """axe-core and sideways scrolling on every page visited, and on a French page no string
    of the English catalogue that French translates."""

    def __init__(self, page) -> None:
        self.page = page
        self.problems: dict[str, list[str]] = {}
        self.english = english_strings()

    def __call__(self) -> None:
        path = self.page.url.split("://", 1)[1].split("/", 1)[1]
        if folder := os.environ.get("EGARDS_SCREENSHOTS"):
            width = self.page.viewport_size["width"]
            name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0])[:40] or "home"
            self.page.screenshot(path=f"{folder}/portal-{width}-{name}.png", full_page=True)
        found = axe_violations(self.page)
        if (extra := overflow(self.page)) > 0:
            found.append(f"scrolls sideways by {extra}px")
        if self.page.locator("html").get_attribute("lang") == "fr":
            found.extend(f"English: {text!r}" for text in english_on(self.page, *self.english))
        if found:
            self.problems["/" + path] = found


def sign_in(page, portal: Portal, check: Checks) -> None:
    page.goto("/my/sign-in")
    check()
    page.fill("#email", portal.email)
    page.click("#sign-in-form button[type=submit]")
    expect(page.locator("#link-sent")).to_be_visible()
    check()
    page.goto(portal.last_link())
    check()
    page.click("#use-link")
    page.wait_for_url(re.compile(r".*/my$"))


WORDS = {
    "en": {"reply": "Any news about this, please?", "since": "since", "sent": "received"},
    "fr": {"reply": "Avez-vous du nouveau, s'il vous plaît ?", "since": "depuis", "sent": "reçu"},
}


def test_the_vendored_axe_core_is_the_pinned_version():
    assert AXE.read_text(encoding="utf-8")[:40].startswith(f"/*! axe v{AXE_VERSION}")


@pytest.mark.parametrize(("locale", "width"), [("en", 1366), ("fr", 320)])
def test_a_customer_signs_in_reads_their_tier_replies_and_downloads_their_data(
    open_page, portal, locale, width
):
    page = open_page(width)
    check = Checks(page)
    words = WORDS[locale]
    sign_in(page, portal, check)
    if page.locator("html").get_attribute("lang") != locale:
        page.click("#switch-locale")
        page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == locale
    check()

    page.goto("/my/loyalty")
    explanation = page.locator(".explanation").first
    expect(explanation).to_contain_text("XP")
    expect(explanation).to_contain_text(words["since"])
    expect(page.locator("[role=progressbar]").first).to_be_visible()
    check()
    page.locator("a[href$='/statement']").first.click()
    expect(page.locator("#statement")).to_be_visible()
    check()

    page.goto("/my/requests")
    check()
    page.locator("section.card h2 a").first.click()
    expect(page.locator("#conversation")).to_be_visible()
    check()
    page.fill("#reply-message", words["reply"])
    page.click("#reply-form button[type=submit]")
    expect(page.locator("#message-sent")).to_contain_text(words["sent"])
    expect(page.locator("article.message").last).to_contain_text(words["reply"])
    check()

    for path in ("/my/requests/new", "/my/consents", "/my/ideas", "/my/data", "/my"):
        page.goto(path)
        check()
    page.goto("/my/data")
    with page.expect_download() as download:
        page.click("#download-data")
    bundle = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert bundle["format"] == "egards.customer-export/1"
    assert portal.email in {i["value"] for i in bundle["identities"]}
    assert words["reply"] in json.dumps(bundle["cases"], ensure_ascii=False)

    page.click("#sign-out")
    page.wait_for_url("**/my/sign-in")
    page.goto("/my/loyalty")
    page.wait_for_url("**/my/sign-in")
    assert check.problems == {}, json.dumps(check.problems, indent=1, ensure_ascii=False)


def sign_in_supervisor(page) -> None:
    """The demo's supervisor signs in to the console."""
    page.goto("/login")
    page.fill("#email", "supervisor@demo.egards.fr")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers**")


def test_a_supervisor_extends_a_privacy_request_from_the_queue(open_page, portal):
    page = open_page(1366)
    sign_in_supervisor(page)
    page.goto("/privacy-requests")
    rows = page.locator("#privacy-queue tbody tr")
    expect(rows.first).to_be_visible()
    assert axe_violations(page) == []
    reason = page.locator("#privacy-queue input[name=reason]").first
    reason.fill("Your file is held by our partner too; we are asking them.")
    reason.locator("xpath=..").locator("button[type=submit]").click()
    expect(page.locator("#privacy-queue")).to_contain_text("we are asking them")


def test_a_customer_votes_and_proposes_an_idea_and_a_supervisor_answers_it(open_page, portal):
    """The idea box end to end: a vote and a proposal from the portal, a status and a public
    answer from the console, the answer read back in the portal."""
    page = open_page(1366)
    check = Checks(page)
    sign_in(page, portal, check)
    page.goto("/my/ideas")
    check()
    votable = page.locator("section.card:has(form[action$='/vote'])").first
    section_id = votable.get_attribute("id")
    votable.locator("form[action$='/vote'] button").click()
    page.wait_for_load_state()
    expect(page.locator(f"#{section_id} form[action$='/vote']")).to_have_count(0)

    title = "Quiet carriages on every train"
    page.click("#idea-form >> xpath=ancestor::details/summary")
    page.fill("#i-title", title)
    page.select_option("#i-category", "app")
    page.fill("#i-body", "A quiet carriage on every train, booked from the app.")
    page.click("#idea-form button[type=submit]")
    mine = page.locator("section.card").filter(has_text=title)
    expect(mine).to_be_visible()
    expect(mine.locator("form[action$='/vote']")).to_have_count(0)  # the author's vote counts
    check()

    staff = open_page(1366)
    sign_in_supervisor(staff)
    staff.goto("/ideas")
    staff.locator("#ideas a", has_text=title).click()
    answer = "Planned with our rail partner for the spring timetable."
    staff.select_option("#status-form select[name=status]", "planned")
    staff.fill("#status-form textarea[name=answer]", answer)
    staff.click("#status-form button[type=submit]")
    expect(staff.locator("#idea-answer")).to_contain_text(answer)
    assert axe_violations(staff) == []

    page.goto("/my/ideas")
    expect(mine).to_contain_text(answer)
    check()
    assert check.problems == {}, json.dumps(check.problems, indent=1, ensure_ascii=False)
