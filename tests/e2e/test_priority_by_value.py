"""Seed 004 in a real browser: a loud non-customer's mention and a silent Gold customer's
e-mail arrive together; the Gold customer is first in the queue with the shorter promise,
and the mention is flagged for public exposure."""

from __future__ import annotations

import json
import time
from email.message import EmailMessage

import httpx
import pytest
from playwright.sync_api import expect

from egards.accounts import service as accounts
from egards.accounts.domain import Actor, Permission, Role
from egards.accounts.schemas import TokenCreate
from egards.cases.intake import sign_webhook
from egards.config import Settings
from egards.db import Database, make_engine
from egards.demo.generate import DEMO_PASSWORD, generate
from egards.migrate import upgrade
from egards.social.demo import LOUD_HANDLE, SILENT_GOLD_EMAIL
from tests.e2e.conftest import served

pytestmark = pytest.mark.browser
SECRET = "e2e-social-secret"


@pytest.fixture(scope="module")
def social_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e-social")
    settings = Settings(
        data_dir=data_dir,
        secret_key="e2e-" + "s" * 40,
        default_locale="en",
        social_webhook_secret=SECRET,
    )
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    db = Database(engine)
    generate(db, customers=40, seed=5)
    with db.unit_of_work() as session:
        user = accounts.find_user(session, email="agent.en@demo.egards.fr")
        actor = Actor(label=user.display_name, role=Role(user.role), user_id=user.id)
        _token, secret = accounts.create_token(
            session, actor=actor, data=TokenCreate(name="e2e", scopes=[Permission.CASES_WRITE])
        )
    with served(settings, db) as url:
        yield url, secret


def _arrive_together(url: str, token: str) -> None:
    mention = json.dumps(
        {
            "network": "x",
            "handle": f"@{LOUD_HANDLE}",
            "author_name": "Léo Buzz",
            "text": "Service client inexistant chez Égards, je préviens mes abonnés !",
            "external_id": "e2e-loud-1",
            "followers": 50_000,
            "verified": True,
            "language": "fr",
        }
    ).encode()
    stamp = str(int(time.time()))
    posted = httpx.post(
        f"{url}/api/v1/cases/social-mentions",
        content=mention,
        headers={
            "Content-Type": "application/json",
            "X-Egards-Timestamp": stamp,
            "X-Egards-Signature": sign_webhook(SECRET, stamp, mention),
        },
    )
    assert posted.status_code == 201, posted.text
    message = EmailMessage()
    message["From"] = f"Claire Fidèle <{SILENT_GOLD_EMAIL}>"
    message["To"] = "service-client@egards.example"
    message["Subject"] = "Remboursement de mon billet"
    message["Message-ID"] = "<e2e-silent-gold@example.fr>"
    message.set_content("Bonjour, j'attends le remboursement de mon billet annulé.")
    mailed = httpx.post(
        f"{url}/api/v1/cases/inbound-email",
        content=message.as_bytes(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"},
    )
    assert mailed.status_code == 201, mailed.text


def test_the_silent_gold_customer_comes_first_and_the_loud_mention_is_flagged(
    browser, social_server
):
    url, token = social_server
    _arrive_together(url, token)
    context = browser.new_context(base_url=url, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login")
    page.fill("#email", "agent.en@demo.egards.fr")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers")

    page.goto("/no-silence")
    rows = page.locator("#silence-table tr.silence-row")
    texts = rows.all_inner_texts()
    gold = next(i for i, t in enumerate(texts) if "Remboursement de mon billet" in t)
    loud = next(i for i, t in enumerate(texts) if f"@{LOUD_HANDLE}" in t)
    assert gold < loud, texts

    gold_case = rows.nth(gold).get_attribute("data-case")
    loud_case = rows.nth(loud).get_attribute("data-case")
    page.goto(f"/cases/{gold_case}")
    expect(page.locator("[data-live-tier]")).to_contain_text("Gold")
    expect(page.locator("[data-public-exposure]")).to_have_count(0)
    gold_due = page.locator("[data-reply-due]").first.get_attribute("data-reply-due")

    page.goto(f"/cases/{loud_case}")
    expect(page.locator("[data-public-exposure]")).to_be_visible()
    expect(page.locator("[data-audience]")).to_contain_text("50,000")
    loud_due = page.locator("[data-reply-due]").first.get_attribute("data-reply-due")
    assert gold_due < loud_due
    context.close()
