"""Service recovery in a real browser: from a late case to a granted gesture in a few clicks.

The scene is seeded through the services on a server of its own, so that nothing else in the
demo (other agents' gestures, their budgets) decides what the recommender proposes: a Gold
member of six years, who spends a lot, wrote five days ago and has had no answer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Role
from egards.accounts.schemas import UserCreate
from egards.cases import service as cases
from egards.cases.domain import Channel, Priority
from egards.cases.models import Case
from egards.cases.service import CaseDetails, InboundIn
from egards.config import Settings
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.db import Database, make_engine, utcnow
from egards.demo.generate import DEMO_PASSWORD
from egards.loyalty import service as loyalty
from egards.loyalty.domain import Activity
from egards.migrate import upgrade
from egards.recovery import service as recovery
from tests.e2e.conftest import served

pytestmark = pytest.mark.browser

AGENT = "nadia.agent@demo.egards.fr"
SUPERVISOR = "paul.supervisor@demo.egards.fr"


@dataclass(frozen=True)
class Scene:
    url: str
    customer_id: int
    case_id: int


def seed(db: Database, settings: Settings) -> tuple[int, int]:
    """A Gold member who flies every month, and a case of hers left unanswered for five days."""
    with db.unit_of_work() as session:
        agent = accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email=AGENT,
                display_name="Nadia Agent",
                role=Role.AGENT,
                password=DEMO_PASSWORD,
                locale="en",
            ),
        )
        accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email=SUPERVISOR,
                display_name="Paul Supervisor",
                role=Role.SUPERVISOR,
                password=DEMO_PASSWORD,
                locale="en",
            ),
        )
        cases.set_agent_profile(
            session,
            actor=SYSTEM,
            user_id=agent.id,
            teams=["support"],
            languages=["en", "fr"],
            skills=[],
        )
        customer = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(
                first_name="Margaret",
                last_name="Hollis",
                preferred_language="en",
                emails=["margaret.hollis@example.co.uk"],
                city="London",
                country="GB",
            ),
            region="GB",
        )
        today = loyalty.today()
        member = loyalty.enrol(
            session,
            actor=SYSTEM,
            customer_id=customer.id,
            programme_code="flying_blue",
            on=today - timedelta(days=6 * 365),
        )
        flights = [
            Activity(
                key=f"recovery-e2e-{n}",
                kind="flight",
                on=today - timedelta(days=12 + 25 * n),
                amounts={"fare": 120_000, "taxes": 20_000},
                attributes={"cabin": "business", "distance_miles": 3500, "domestic": False},
            )
            for n in range(14)
        ]
        loyalty.record_history(
            session, actor=SYSTEM, member=member, activities=flights, today=lambda: today
        )
        opened_at = utcnow() - timedelta(days=5)
        opened = cases.open_case(
            session,
            actor=SYSTEM,
            details=CaseDetails(
                channel=Channel.EMAIL,
                subject="Bag lost on my flight to Delhi",
                category="baggage",
                priority=Priority.HIGH,
                team="support",
                language="en",
                customer_id=customer.id,
            ),
            message=InboundIn(
                body_text="My bag never arrived and nobody answers my e-mails.",
                subject="Bag lost on my flight to Delhi",
                from_address="margaret.hollis@example.co.uk",
                address_kind="email",
                message_id="<recovery-e2e-1@example.co.uk>",
                received_at=opened_at,
            ),
            config=cases.config_from_settings(settings),
            now=opened_at,
        )
        # No event is planned this season: invitations are withdrawn from the catalogue.
        recovery.save_gesture_type(
            session, actor=SYSTEM, code="event", kind=None, changes={"active": False}
        )
        case_id, customer_id = opened.case.id, customer.id
    cases.sweep(db, config=cases.config_from_settings(settings), now=utcnow())
    with db.unit_of_work() as session:
        assert session.get(Case, case_id).sla_state == "breached"
    return customer_id, case_id


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    data_dir: Path = tmp_path_factory.mktemp("e2e-recovery")
    settings = Settings(data_dir=data_dir, secret_key="e2e-" + "r" * 40, default_locale="en")
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    db = Database(engine)
    customer_id, case_id = seed(db, settings)
    with served(settings, db) as url:
        yield Scene(url, customer_id, case_id)


@pytest.fixture
def page(browser, scene):
    context = browser.new_context(
        base_url=scene.url, locale="en-GB", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers")


def _miles(page) -> int:
    return int(
        page.locator("#loyalty .stat .big")
        .first.inner_text()
        .replace("\u202f", "")
        .replace(" ", "")
        .replace(",", "")  # English groups thousands with commas, French with thin spaces
    )


def test_an_agent_answers_a_late_case_grants_the_recommended_miles_and_everyone_sees_them(
    page, scene
):
    sign_in(page, AGENT)
    page.goto(f"/customers/{scene.customer_id}")
    miles_before = _miles(page)

    page.goto(f"/cases/{scene.case_id}")
    expect(page.locator("#sla-state")).to_have_text(re.compile("breached", re.I))
    page.fill("#reply-body", "I am so sorry: your bag is found and will be delivered tomorrow.")
    page.click("#send-reply")
    page.wait_for_url(f"**/cases/{scene.case_id}")
    expect(page.locator("#broken-promises")).to_contain_text("First response late")

    page.click("#offer-gesture")
    page.wait_for_url("**/recovery/offer?*")
    top = page.locator("#proposal-1")
    expect(top).to_have_attribute("data-code", "miles-2000")
    expect(top.locator(".reason")).to_contain_text("Gold for 6 years")
    expect(top).not_to_contain_text("approval needed")
    expect(page.locator("#agent-remaining")).to_have_text("€150")
    if os.environ.get("EGARDS_SCREENSHOTS"):
        page.screenshot(path=os.environ["EGARDS_SCREENSHOTS"] + "/offer.png", full_page=True)
    page.click("#accept-1")
    page.wait_for_url(f"**/cases/{scene.case_id}?recovery=granted*")
    expect(page.locator("#recovery-flash")).to_contain_text("Gesture granted")
    expect(page.locator("#case-gestures")).to_contain_text("2,000 bonus miles")
    expect(page.locator("#case-gestures")).to_contain_text("granted")

    page.goto(f"/customers/{scene.customer_id}")
    assert _miles(page) == miles_before + 2000
    expect(page.locator("#timeline")).to_contain_text("Gesture granted: 2,000 bonus miles")
    expect(page.locator("#customer-gestures")).to_contain_text("€14")
    if os.environ.get("EGARDS_SCREENSHOTS"):
        page.screenshot(path=os.environ["EGARDS_SCREENSHOTS"] + "/gestures.png", full_page=True)

    sign_in(page, SUPERVISOR)
    page.click("header nav summary >> text=Recovery")  # the Recovery menu, then its first page
    page.click("header nav details[open] a >> text=Recovery")
    page.wait_for_url("**/recovery")
    page.click("text=Budgets")
    page.wait_for_url("**/recovery/budgets")
    team = page.locator("#team-budgets tr[data-team='support']")
    expect(team.locator(".spent")).to_have_text("€14")
    expect(page.locator("#grants-table")).to_contain_text("Margaret Hollis")
    expect(page.locator("#grants-table")).to_contain_text("Nadia Agent")
