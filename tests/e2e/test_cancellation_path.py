"""Cancelling a contract in a real browser, without an account: from the « Résilier votre
contrat » link to the notification in three pages and two submits, in French and in English,
with a retention offer shown beside the path (the holder came through the portal's signed
link) and without; the acknowledgement e-mail and its PDF are checked in the outbox."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from egards.accounts.domain import SYSTEM
from egards.config import Settings
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.db import Database, make_engine, utcnow
from egards.migrate import upgrade
from egards.outbox.models import OutboxMessage
from egards.subscriptions import service
from egards.subscriptions.models import CancellationRequest
from egards.subscriptions.schemas import SubscriptionCreate
from tests.e2e.conftest import served

pytestmark = pytest.mark.browser

CASES = [("fr", False), ("fr", True), ("en", False), ("en", True)]


@dataclass(frozen=True)
class Scene:
    url: str
    db: Database
    settings: Settings


def _reference(lang: str, offer: bool) -> str:
    return f"FX-E2E-{lang.upper()}{'-O' if offer else ''}"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    data_dir: Path = tmp_path_factory.mktemp("e2e-cancel")
    settings = Settings(data_dir=data_dir, secret_key="e2e-" + "c" * 40, default_locale="en")
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    db = Database(engine)
    today = utcnow().date()
    with db.unit_of_work() as session:
        for n, (lang, offer) in enumerate(CASES):
            customer = customers.create_customer(
                session,
                actor=SYSTEM,
                data=CustomerCreate(
                    first_name="Camille",
                    last_name=f"Lenoir{n}",
                    preferred_language=lang,
                    emails=[f"camille.lenoir{n}@example.fr"],
                ),
            )
            service.create_subscription(
                session,
                actor=SYSTEM,
                data=SubscriptionCreate(
                    customer_id=customer.id,
                    reference=_reference(lang, offer),
                    offer="Fibre Max",
                    line_numbers=["0143552003"],
                    start_date=today - timedelta(days=800),
                    notice_days=10,
                    price_cents=5999,
                    equipment="Box fibre",
                    sold_channel="shop",
                ),
            )
    with served(settings, db) as url:
        yield Scene(url, db, settings)


@pytest.fixture
def page(browser, scene):
    context = browser.new_context(
        base_url=scene.url, locale="en-GB", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


WORDS = {
    "fr": {
        "link": "Résilier votre contrat",
        "next": "Continuer",
        "confirm": "Confirmer ma demande de résiliation",
        "done": "Demande de résiliation reçue",
        "subject": "Accusé de réception de votre demande de résiliation",
        "ends": "Votre contrat prendra fin le",
        "offer": "Une offre pour vous",
    },
    "en": {
        "link": "Cancel your contract",
        "next": "Continue",
        "confirm": "Confirm my cancellation request",
        "done": "Cancellation request received",
        "subject": "Acknowledgement of your cancellation request",
        "ends": "Your contract will end on",
        "offer": "An offer for you",
    },
}


@pytest.mark.parametrize(
    ("lang", "offer"), CASES, ids=[f"{a}-{'offer' if b else 'plain'}" for a, b in CASES]
)
def test_link_to_notification_is_three_pages_and_two_submits(page, scene, lang, offer):
    words = WORDS[lang]
    n = CASES.index((lang, offer))
    reference = _reference(lang, offer)
    page.goto(f"/cancel?lang={lang}")  # the visitor's language, kept in their session
    if not offer:
        page.goto("/contact")
    pages: list[str] = []
    posts: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: pages.append(frame.url) if frame == page.main_frame else None,
    )
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and r.is_navigation_request() else None,
    )

    if offer:
        # The portal's link for this contract, signed: the offer may appear beside the path.
        token = service.portal_token(scene.settings, reference)
        page.goto(f"/cancel?ref={reference}&t={token}")
    else:
        page.get_by_role("link", name=words["link"]).click()  # the public site's link
    page.wait_for_selector("#cancel-form")
    assert page.get_by_role("heading", name=words["link"]).is_visible()
    aside = page.locator("#retention-offer")
    if offer:
        assert aside.is_visible() and words["offer"] in aside.inner_text()
    else:
        assert aside.count() == 0
    page.fill("#x-name", f"Camille Lenoir{n}")
    if not offer:
        page.fill("#x-reference", reference)
    page.fill("#x-email", f"camille.lenoir{n}@example.fr")
    page.select_option("#x-reason", "price")
    page.get_by_role("button", name=words["next"]).click()  # submit 1
    page.wait_for_selector("#cancel-recap")
    assert words["ends"] in page.locator("#recap-end").inner_text()
    page.get_by_role("button", name=words["confirm"]).click()  # submit 2
    page.wait_for_selector("#cancel-done")
    assert page.get_by_role("heading", name=words["done"]).is_visible()
    shown = page.locator("#ack-text").inner_text()
    assert words["ends"] in shown

    assert len(pages) == 3, pages  # the form, the recap, the confirmation
    assert [p.rsplit("/", 1)[-1] for p in posts] == ["review", "confirm"]

    with scene.db.unit_of_work() as session:
        request = session.scalar(
            select(CancellationRequest).where(CancellationRequest.reference_given == reference)
        )
        assert request.status == "registered" and request.language == lang
        assert request.acknowledged_at - request.received_at < timedelta(seconds=5)
        message = session.scalar(
            select(OutboxMessage).where(OutboxMessage.key == f"subscriptions:ack:{request.id}")
        )
        assert message.recipient == f"camille.lenoir{n}@example.fr"
        assert message.payload["subject"].startswith(words["subject"])
        assert message.payload["body"] == request.acknowledgement_text
        assert " ".join(shown.split()) == " ".join(request.acknowledgement_text.split())
        [attachment] = message.payload["attachments"]
        pdf = base64.b64decode(attachment["data"])
        assert pdf == request.acknowledgement_pdf
        text = " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)
        assert request.number in text and words["ends"] in " ".join(text.split())
