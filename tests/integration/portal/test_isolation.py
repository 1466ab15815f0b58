"""No customer ever sees another's data through the portal: every route under /my, walked
with customer A's session against customer B's ids, answers 404 or shows only A's own data,
and B's planted markers never appear; writes aimed at B's objects change nothing. Routes
added later are walked too (an unknown path parameter fails the test until it is mapped)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from egards.accounts.domain import SYSTEM
from egards.cases.models import CaseAttachment, CaseMessage
from egards.ideas import service as ideas
from egards.portal.pages import router
from egards.voice.models import Invitation
from tests.conftest import csrf_from
from tests.integration.portal.conftest import sign_in

PDF = b"%PDF-1.4\n% zqsecretfile\n%%EOF\n"
PUBLIC = {"/my/sign-in", "/my/link/{token}", "/my/link", "/my/sign-out", "/my/locale"}


def portal_routes(app) -> list[tuple[str, str]]:
    """Every route of the portal's pages (the application includes its router whole)."""
    return sorted(
        (method, route.path)
        for route in router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/my")
        for method in route.methods
        if method in ("GET", "POST")
    )


def test_customer_a_reaches_nothing_of_customer_b_on_any_portal_route(app, client, db, make_world):
    a, b = make_world(first_name="Alice"), make_world(first_name="Bérénice")
    # B writes in the portal too: a reply with a file and a privacy request, to plant more.
    other = TestClient(app)
    b_csrf = sign_in(other, db, b.customer.email)
    sent = other.post(
        f"/my/requests/{b.case_id}/reply",
        data={"message": f"{b.marker}portalreply", "csrf_token": b_csrf},
        files=[("attachments", ("secret.pdf", PDF, "application/pdf"))],
    )
    assert sent.status_code == 200, sent.text
    other.post(
        "/my/data/requests",
        data={"kind": "rectification", "details": f"{b.marker}privacy", "csrf_token": b_csrf},
    )
    with db.unit_of_work() as session:
        b_attachment = session.scalar(
            select(CaseAttachment.id)
            .join(CaseMessage, CaseMessage.id == CaseAttachment.message_id)
            .where(CaseMessage.case_id == b.case_id)
        )
    assert b_attachment

    # B's survey to answer and B's idea, hidden by moderation: neither is A's to open.
    with db.unit_of_work() as session:
        b_survey = Invitation(
            survey="nps",
            token_hash=secrets.token_hex(32),
            customer_id=b.customer.id,
            language="fr",
            status="sent",
            sent_at=datetime.now(UTC),
            expires_at=datetime.now(UTC) + timedelta(days=14),
        )
        session.add(b_survey)
        b_idea = ideas.propose(
            session,
            customer_id=b.customer.id,
            title=f"{b.marker}idea",
            body=f"{b.marker}ideabody",
            category="app",
            language="fr",
            now=datetime.now(UTC),
        )
        ideas.add_comment(
            session,
            customer_id=b.customer.id,
            idea_id=b_idea.id,
            body=f"{b.marker}ideacomment",
            now=datetime.now(UTC),
        )
        # B's comment on a public idea, hidden by moderation: never on A's pages.
        public = ideas.propose(
            session,
            customer_id=b.customer.id,
            title="A public idea everyone sees",
            body="Nothing personal in this one.",
            category="app",
            language="fr",
            now=datetime.now(UTC),
        )
        rude = ideas.add_comment(
            session,
            customer_id=b.customer.id,
            idea_id=public.id,
            body=f"{b.marker}hiddencomment",
            now=datetime.now(UTC),
        )
        ideas.hide_comment(
            session,
            actor=SYSTEM,
            idea_id=public.id,
            comment_id=rude.id,
            reason="rude",
            now=datetime.now(UTC),
        )
        ideas.hide(session, actor=SYSTEM, idea_id=b_idea.id, reason="spam", now=datetime.now(UTC))
        session.flush()
        b_survey_id, b_idea_id = b_survey.id, b_idea.id

    csrf = sign_in(client, db, a.customer.email)
    b_ids = {
        "member_id": b.member_id,
        "case_id": b.case_id,
        "attachment_id": b_attachment,
        "invitation_id": b_survey_id,
        "idea_id": b_idea_id,
    }
    walked = []
    for method, path in portal_routes(app):
        names = re.findall(r"{(\w+)}", path)
        if path in PUBLIC:
            continue
        unknown = [n for n in names if n not in b_ids]
        assert not unknown, f"map the path parameter(s) {unknown} of {path} to B's ids"
        url = path.format(**{n: b_ids[n] for n in names})
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            before = _b_state(db, b)
            response = client.post(
                url,
                data={
                    "message": "from A",
                    "subject": "x",
                    "csrf_token": csrf,
                    "kind": "erasure",
                    "title": "An idea from A",
                    "body": "Something A wants, for everyone",
                    "category": "app",
                },
                follow_redirects=False,
            )
            assert _b_state(db, b) == before, f"POST {path} changed B's data"
        walked.append((method, path, response.status_code))
        if names:
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        else:
            assert response.status_code in (200, 303), f"{method} {url}: {response.status_code}"
        body = response.content.decode("utf-8", "replace").casefold()
        assert b.marker not in body, f"{method} {url} shows B's data"
        assert "zqsecretfile" not in body
        assert "bérénice" not in body, f"{method} {url} shows B's name"
    assert len(walked) >= 12, walked
    # A's own pages still work with A's ids.
    assert client.get(f"/my/requests/{a.case_id}").status_code == 200
    assert client.get(f"/my/loyalty/{a.member_id}/statement").status_code == 200


def _b_state(db, world) -> tuple[int, int]:
    with db.unit_of_work() as session:
        messages = session.scalar(
            select(func.count(CaseMessage.id)).where(CaseMessage.case_id == world.case_id)
        )
        return messages, len(session.scalars(select(CaseAttachment.id)).all())


def test_nothing_under_my_answers_without_a_portal_session(app, client):
    routes = portal_routes(app)
    assert len(routes) >= 15
    for method, path in routes:
        if path in PUBLIC:
            continue
        url = re.sub(r"{\w+}", "1", path)
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            token = csrf_from(client.get("/my/sign-in").text)
            response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303, f"{method} {url}"
        assert response.headers["location"] == "/my/sign-in"
