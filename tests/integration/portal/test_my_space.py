"""What a signed-in customer sees and does in their own space, on SQLite and PostgreSQL:
loyalty with the explanation in their words, requests against their promise, replies and new
requests through the cases' intake, consents, their data and their privacy requests."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

from sqlalchemy import select

from egards.cases.models import Case, CaseAttachment, CaseMessage
from egards.customers.models import ConsentEvent
from egards.outbox.models import OutboxMessage
from egards.portal.models import PrivacyRequest
from tests.conftest import login
from tests.integration.portal.conftest import sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def text_of(page) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


def test_the_loyalty_page_shows_tier_progress_balances_and_the_explanation_in_their_words(
    client, db, agent, make_world
):
    world = make_world(language="en")
    sign_in(client, db, world.customer.email)
    page = client.get("/my/loyalty")
    assert page.status_code == 200
    explained = client.get(
        f"/api/v1/loyalty/members/{world.member_id}/explanation",
        params={"lang": "en"},
        headers=agent.headers,
    ).json()
    words = text_of(page)
    first_line = explained["text"].split("\n")[0]
    assert html.escape(first_line, quote=False) in page.text or first_line in words
    assert 'role="progressbar"' in page.text
    assert world.number in words and "Miles" in words
    assert "See the statement" in words


def test_the_statement_filters_by_currency(client, db, make_world):
    world = make_world(language="en")
    sign_in(client, db, world.customer.email)
    every = client.get(f"/my/loyalty/{world.member_id}/statement")
    only_xp = client.get(f"/my/loyalty/{world.member_id}/statement", params={"currency": "XP"})
    assert every.status_code == only_xp.status_code == 200
    rows = lambda page: re.findall(r"<tr><td>", page.text)  # noqa: E731
    assert 0 < len(rows(only_xp)) < len(rows(every))
    table = only_xp.text[only_xp.text.index('id="statement"') :]
    assert "Miles" not in table.split("</table>")[0].split("</thead>")[1]


def test_requests_show_the_promise_and_the_conversation_without_internal_notes(
    client, db, make_world
):
    world = make_world(language="en")
    sign_in(client, db, world.customer.email)
    listing = client.get("/my/requests")
    assert f"{world.marker}subject" in listing.text
    page = client.get(f"/my/requests/{world.case_id}")
    assert page.status_code == 200
    assert f"{world.marker}inbound" in page.text and f"{world.marker}reply" in page.text
    assert f"{world.marker}note" not in page.text


def test_a_reply_goes_to_the_case_as_an_inbound_message_of_the_portal(client, db, make_world):
    world = make_world(language="en")
    csrf = sign_in(client, db, world.customer.email)
    sent = client.post(
        f"/my/requests/{world.case_id}/reply",
        data={"message": "Still waiting for the bag", "csrf_token": csrf},
        files=[
            ("attachments", ("receipt.pdf", PDF, "application/pdf")),
            ("attachments", ("run.exe", b"MZ\x90\x00", "application/octet-stream")),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    with db.unit_of_work() as session:
        message = session.scalars(
            select(CaseMessage)
            .where(CaseMessage.case_id == world.case_id, CaseMessage.kind == "inbound")
            .order_by(CaseMessage.id.desc())
        ).first()
        case = session.get(Case, world.case_id)
        files = session.scalars(
            select(CaseAttachment).where(CaseAttachment.message_id == message.id)
        ).all()
        assert message.body_text == "Still waiting for the bag" and message.channel == "portal"
        assert case.awaiting_since is not None and case.reply_due_at is not None
        assert {(f.filename, f.accepted) for f in files} == {
            ("receipt.pdf", True),
            ("run.exe", False),
        }
        accepted = next(f.id for f in files if f.accepted)
    page = client.get(f"/my/requests/{world.case_id}")
    assert "Still waiting for the bag" in page.text and "We will answer by" in page.text
    download = client.get(f"/my/requests/{world.case_id}/attachments/{accepted}")
    assert download.status_code == 200 and download.content == PDF


def test_a_new_request_goes_through_intake_acknowledgement_and_the_portal_promise(
    client, db, make_world
):
    world = make_world(language="fr")
    csrf = sign_in(client, db, world.customer.email)
    sent = client.post(
        "/my/requests/new",
        data={
            "subject": "Facture en double",
            "message": "J'ai été prélevé deux fois.",
            "category": "billing",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    case_id = int(sent.headers["location"].split("/")[3].split("?")[0])
    with db.unit_of_work() as session:
        case = session.get(Case, case_id)
        # The world's member is Silver, whose benefit (the programme file's service level) is
        # the priority promise on every channel, the portal's included.
        assert (case.channel, case.customer_id, case.sla_policy) == (
            "portal",
            world.customer.id,
            "priority_service",
        )
        ack = session.scalar(
            select(OutboxMessage).where(OutboxMessage.key == f"case-ack:{case_id}")
        )
        assert ack is not None and ack.recipient == world.customer.email
    page = client.get(f"/my/requests/{case_id}")
    assert "heure de Paris" in page.text
    assert "Facture en double" in page.text


def test_consent_changes_are_recorded_with_the_portal_as_source(client, db, make_world):
    world = make_world(language="en")
    csrf = sign_in(client, db, world.customer.email)
    changed = client.post(
        "/my/consents",
        data={"marketing:email": "on", "surveys:sms": "on", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    page = client.get("/my/consents")
    assert 'name="marketing:email" checked' in page.text
    client.post("/my/consents", data={"surveys:sms": "on", "csrf_token": csrf})
    with db.unit_of_work() as session:
        events = session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == world.customer.id)
            .order_by(ConsentEvent.id)
        ).all()
    assert [(e.purpose, e.channel, e.granted, e.source) for e in events] == [
        ("marketing", "email", True, "portal"),
        ("surveys", "sms", True, "portal"),
        ("marketing", "email", False, "portal"),
    ]


def test_my_data_downloads_the_export_bundle_as_json(client, db, make_world):
    world = make_world(language="en")
    sign_in(client, db, world.customer.email)
    download = client.get("/my/data/export.json")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    bundle = json.loads(download.content)
    assert bundle["format"] == "egards.customer-export/1"
    assert bundle["customer"]["id"] == world.customer.id
    assert {i["value"] for i in bundle["identities"]} >= {world.customer.email}
    assert bundle["cases"]["cases"] and "portal" in bundle


def test_an_erasure_request_runs_on_a_one_month_clock_that_staff_can_extend_with_a_reason(
    app, client, db, make_world, make_person
):
    from egards.accounts.domain import Role

    world = make_world(language="en")
    app.state.clock = lambda: datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    csrf = sign_in(client, db, world.customer.email)
    asked = client.post(
        "/my/data/requests",
        data={"kind": "erasure", "details": "Please forget me", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    page = client.get("/my/data")
    assert "3 January 2027" in page.text and "Received" in page.text
    supervisor = make_person(Role.SUPERVISOR)
    staff = type(client)(app)
    staff_csrf = login(staff, supervisor.email)
    queue = staff.get("/privacy-requests")
    assert queue.status_code == 200 and "Please forget me" in queue.text
    with db.unit_of_work() as session:
        request_id = session.scalar(
            select(PrivacyRequest.id).where(PrivacyRequest.customer_id == world.customer.id)
        )
    extended = staff.post(
        f"/privacy-requests/{request_id}/extend",
        data={
            "reason": "Your data is held by three partners we must ask",
            "csrf_token": staff_csrf,
        },
        follow_redirects=False,
    )
    assert extended.status_code == 303, extended.text
    page = client.get("/my/data")
    assert "3 March 2027" in page.text and "three partners" in page.text
    with db.unit_of_work() as session:
        told = session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.key == f"portal-privacy:{request_id}:extended"
            )
        )
    assert told is not None and "three partners" in told.payload["body"]
    again = staff.post(
        f"/privacy-requests/{request_id}/extend",
        data={"reason": "Another two months please", "csrf_token": staff_csrf},
    )
    assert again.status_code == 422


def test_the_portal_speaks_french_and_english(client, db, make_world):
    world = make_world(language="fr")
    csrf = sign_in(client, db, world.customer.email)
    assert "Mes demandes" in client.get("/my").text
    client.post("/my/locale", data={"locale": "en", "next": "/my", "csrf_token": csrf})
    english = client.get("/my/loyalty")
    assert "My requests" in english.text and 'lang="en"' in english.text
    assert "since" in english.text


def test_panels_contributed_through_the_portal_seam_are_shown_to_their_customer_only(
    client, db, make_world, monkeypatch
):
    """A feature's ``portal.panels`` (here a stand-in for subscriptions) appear on the
    overview, with the signed-in customer's id and language; ``None`` shows nothing."""
    from types import SimpleNamespace

    from jinja2 import ChoiceLoader, DictLoader

    from egards.portal import pages
    from egards.web.panels import PortalPanel
    from egards.web.templating import templates

    seen = []

    def contracts(session, customer_id, locale):
        seen.append((customer_id, locale))
        if customer_id != world.customer.id:
            return None
        return PortalPanel(
            key="subscriptions",
            title="My contracts" if locale == "en" else "Mes contrats",
            template="stand_in/portal.html",
            context={"rows": ["Fibre 1 Gb/s"]},
            order=30,
        )

    world, other = make_world(language="en"), make_world(language="en")
    stand_in = SimpleNamespace(panels=[contracts])
    monkeypatch.setattr(pages, "modules", lambda name: iter([("subscriptions", stand_in)]))
    loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "stand_in/portal.html": "<ul>{% for r in p.rows %}<li>{{ r }}</li>{% endfor %}"
                    "</ul>"
                }
            ),
            templates.env.loader,
        ]
    )
    monkeypatch.setattr(templates.env, "loader", loader)
    sign_in(client, db, world.customer.email)
    page = client.get("/my")
    assert 'id="subscriptions"' in page.text and "My contracts" in page.text
    assert "<li>Fibre 1 Gb/s</li>" in page.text
    other_client = type(client)(client.app)
    sign_in(other_client, db, other.customer.email)
    assert "My contracts" not in other_client.get("/my").text
    assert (world.customer.id, "en") in seen and (other.customer.id, "en") in seen


def test_attachments_as_large_as_an_e_mail_allows_are_accepted_beyond_the_form_limit(
    app, client, db, make_world
):
    world = make_world(language="en")
    csrf = sign_in(client, db, world.customer.email)
    big = PDF + b"0" * 3_000_000  # over the 1 MB body limit of other forms, under 5 MB
    sent = client.post(
        f"/my/requests/{world.case_id}/reply",
        data={"message": "The scan of my receipt", "csrf_token": csrf},
        files=[("attachments", ("scan.pdf", big, "application/pdf"))],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.status_code
    with db.unit_of_work() as session:
        kept = session.scalar(select(CaseAttachment).where(CaseAttachment.filename == "scan.pdf"))
        assert kept.accepted and kept.size == len(big)
    too_big = client.post(
        "/my/consents",
        data={"csrf_token": csrf, "padding": "x" * 1_100_000},
        follow_redirects=False,
    )
    assert too_big.status_code == 413


def test_staff_close_a_privacy_request_and_the_customer_reads_the_outcome(
    app, client, db, make_world, make_person
):
    from egards.accounts.domain import Role

    world = make_world(language="fr")
    csrf = sign_in(client, db, world.customer.email)
    client.post(
        "/my/data/requests",
        data={"kind": "rectification", "details": "Mon nom s'écrit Hélène", "csrf_token": csrf},
    )
    with db.unit_of_work() as session:
        request_id = session.scalar(
            select(PrivacyRequest.id).where(PrivacyRequest.customer_id == world.customer.id)
        )
    agent = make_person(Role.AGENT)
    staff = type(client)(app)
    staff_csrf = login(staff, agent.email)
    assert staff.get("/privacy-requests").status_code == 403  # agents do not handle them
    supervisor = make_person(Role.SUPERVISOR)
    staff_csrf = login(staff, supervisor.email)
    refused = staff.post(
        f"/privacy-requests/{request_id}/decide",
        data={"decision": "refused", "outcome": "no", "csrf_token": staff_csrf},
    )
    assert refused.status_code == 422  # a refusal says why
    done = staff.post(
        f"/privacy-requests/{request_id}/decide",
        data={"decision": "done", "outcome": "Votre nom est corrigé.", "csrf_token": staff_csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get("/my/data")
    assert "Traitée" in page.text and "Votre nom est corrigé." in page.text
    assert "Mon nom" not in staff.get("/privacy-requests").text  # closed: out of the queue
    assert "Mon nom" in staff.get("/privacy-requests", params={"all": 1}).text


def test_an_error_in_the_portal_keeps_the_customer_in_their_space(client, db, make_world):
    world = make_world(language="en")
    sign_in(client, db, world.customer.email)
    missing = client.get("/my/requests/999999999")
    assert missing.status_code == 404
    assert 'href="/my"' in missing.text and 'href="/customers"' not in missing.text
