"""The satisfaction survey in a real browser: an agent resolves a case, the survey e-mail
goes out through the outbox, the customer answers from the link without signing in, and the
score shows on the supervisor's satisfaction report and on the case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Role
from egards.accounts.schemas import UserCreate
from egards.cases import service as cases
from egards.cases.domain import Channel, Priority
from egards.cases.service import CaseDetails, InboundIn
from egards.config import Settings
from egards.customers import service as customers
from egards.customers.schemas import ConsentCreate, CustomerCreate
from egards.db import Database, make_engine, utcnow
from egards.demo.generate import DEMO_PASSWORD
from egards.migrate import upgrade
from egards.outbox.models import OutboxMessage
from tests.e2e.conftest import served

pytestmark = pytest.mark.browser

AGENT = "lea.agent@demo.egards.fr"
SUPERVISOR = "marc.supervisor@demo.egards.fr"


@dataclass(frozen=True)
class Scene:
    url: str
    db: Database
    case_id: int


def seed(db: Database, settings: Settings) -> int:
    """A customer who agreed to surveys and her open case, assigned to Léa."""
    with db.unit_of_work() as session:
        agent = accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email=AGENT, display_name="Léa Agent", role=Role.AGENT, password=DEMO_PASSWORD
            ),
        )
        accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email=SUPERVISOR,
                display_name="Marc Supervisor",
                role=Role.SUPERVISOR,
                password=DEMO_PASSWORD,
            ),
        )
        customer = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(
                first_name="Inès",
                last_name="Garnier",
                preferred_language="en",
                emails=["ines.garnier@example.org"],
                country="FR",
            ),
        )
        customers.record_consent(
            session,
            actor=SYSTEM,
            customer_id=customer.id,
            data=ConsentCreate(purpose="surveys", channel="email", granted=True, source="web"),
        )
        opened = cases.open_case(
            session,
            actor=SYSTEM,
            details=CaseDetails(
                channel=Channel.EMAIL,
                subject="Charged twice for my seat",
                category="billing",
                priority=Priority.NORMAL,
                team="support",
                language="en",
                customer_id=customer.id,
            ),
            message=InboundIn(
                body_text="You charged my card twice for the same seat, please refund one.",
                subject="Charged twice for my seat",
                from_address="ines.garnier@example.org",
                address_kind="email",
                received_at=utcnow(),
            ),
            config=cases.config_from_settings(settings),
        )
        cases.assign(session, actor=SYSTEM, case_id=opened.case.id, assignee_id=agent.id)
        return opened.case.id


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    data_dir: Path = tmp_path_factory.mktemp("e2e-voice")
    settings = Settings(data_dir=data_dir, secret_key="e2e-" + "v" * 40, default_locale="en")
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    db = Database(engine)
    case_id = seed(db, settings)
    with served(settings, db) as url:
        yield Scene(url, db, case_id)


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


def survey_link(db: Database) -> str:
    with db.unit_of_work() as session:
        mail = session.scalar(
            select(OutboxMessage).where(OutboxMessage.ref_type == "voice_invitation")
        )
        assert mail is not None, "no survey e-mail in the outbox"
        body = mail.payload["body"]
    found = re.search(r"https?://\S+/survey/[A-Za-z0-9_\-]+\?rating=4", body)
    assert found, body
    return found.group(0)


def test_a_resolved_case_sends_a_survey_answered_by_link_and_scored_on_the_report(page, scene):
    sign_in(page, AGENT)
    page.goto(f"/cases/{scene.case_id}")
    page.select_option("#then-status", "resolved")
    page.fill("#reply-body", "We have refunded the second charge. Sorry for the trouble.")
    page.click("#send-reply")
    page.wait_for_url(f"**/cases/{scene.case_id}*")

    link = survey_link(scene.db)
    page.context.clear_cookies()  # the customer is nobody's session
    page.goto(link[link.index("/survey/") :])
    expect(page.locator("#rating-4")).to_be_checked()
    page.fill("#comment", "Quick refund, thank you.")
    page.click("#send-survey")
    expect(page.locator("#survey-thanks")).to_contain_text("4/5")

    sign_in(page, SUPERVISOR)
    page.goto("/voice/surveys")
    expect(page.locator("#csat-overall")).to_contain_text("100.0")
    expect(page.locator("#by-agent")).to_contain_text("Léa Agent")
    page.goto(f"/cases/{scene.case_id}")
    expect(page.locator("#case-csat")).to_contain_text("4/5")
