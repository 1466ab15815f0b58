"""Signing in to the customer portal by e-mailed link, on SQLite and PostgreSQL: links are
single-use and expire, answers never tell whether an address is known, requests are limited
per address and per client, erased or merged customers cannot sign in, and a portal session
never reaches the console or the staff API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from egards.outbox.models import OutboxMessage
from egards.portal.models import PortalSession, SignInLink
from egards.portal.settings import PortalSettings
from tests.conftest import csrf_from
from tests.integration.portal.conftest import ask_link, links_sent, sign_in, use_link


def test_a_customer_signs_in_through_the_link_in_their_mail_and_sees_their_name(
    client, db, make_customer
):
    helene = make_customer(first_name="Hélène")
    sign_in(client, db, helene.email)
    home = client.get("/my")
    assert "Hélène" in home.text
    assert client.cookies.get("egards_portal")
    with db.unit_of_work() as session:
        stored = session.scalars(select(SignInLink.token_hash)).all()
    token = links_sent(db, helene.email)[0].rsplit("/", 1)[1]
    assert stored and token not in stored  # only a hash of the token is kept


def test_the_sign_in_mail_is_written_in_the_customers_language(client, db, make_customer):
    french, english = make_customer(), make_customer(preferred_language="en")
    for made in (french, english):
        assert ask_link(client, made.email).status_code == 200
    with db.unit_of_work() as session:
        mails = {
            m.recipient: m.payload
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.key.like("portal-link:%"))
            )
        }
    assert mails[french.email]["subject"] == "Votre lien de connexion à votre espace client"
    assert mails[french.email]["body"].startswith("Bonjour,\n\nPour ouvrir votre espace client")
    assert "pendant 15 minutes. Si vous n'avez rien demandé" in mails[french.email]["body"]
    assert mails[english.email]["subject"] == "Your sign-in link to your customer space"
    assert "It works once, for 15 minutes." in mails[english.email]["body"]
    assert links_sent(db, english.email)[0] in mails[english.email]["body"]


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(client, db, make_customer):
    known = make_customer()
    answers = [ask_link(client, address) for address in (known.email, "nobody@nowhere.example")]
    assert [a.status_code for a in answers] == [200, 200]
    texts = [a.text.replace(a.text, a.text) for a in answers]
    assert 'id="link-sent"' in texts[0] and 'id="link-sent"' in texts[1]
    strip = [t.split('name="csrf_token"')[0] for t in texts]
    assert strip[0] == strip[1]
    assert len(links_sent(db, known.email)) == 1
    assert links_sent(db, "nobody@nowhere.example") == []


def test_a_link_works_once(client, db, make_customer):
    person = make_customer()
    ask_link(client, person.email)
    path = links_sent(db, person.email)[0]
    assert use_link(client, path).status_code == 303
    other = TestClient(client.app)
    again = use_link(other, path)
    assert again.status_code == 410 and "egards_portal" not in other.cookies


def test_the_single_use_is_kept_by_the_database_even_when_two_uses_race(client, db, make_customer):
    person = make_customer()
    ask_link(client, person.email)
    token = links_sent(db, person.email)[0].rsplit("/", 1)[1]
    page = client.get(f"/my/link/{token}")
    csrf = csrf_from(page.text)
    first = client.post(
        "/my/link", data={"token": token, "csrf_token": csrf}, follow_redirects=False
    )
    second = client.post(
        "/my/link", data={"token": token, "csrf_token": csrf}, follow_redirects=False
    )
    assert (first.status_code, second.status_code) == (303, 410)
    with db.unit_of_work() as session:
        assert len(session.scalars(select(PortalSession)).all()) == 1


def test_a_link_expires_after_fifteen_minutes(app, client, db, make_customer):
    person = make_customer()
    start = datetime.now(UTC)
    app.state.clock = lambda: start
    ask_link(client, person.email)
    path = links_sent(db, person.email)[0]
    app.state.clock = lambda: start + timedelta(minutes=15, seconds=1)
    assert use_link(client, path).status_code == 410
    app.state.clock = lambda: start + timedelta(minutes=14)
    assert use_link(client, path).status_code == 303


def test_an_altered_link_is_refused(client, db, make_customer):
    person = make_customer()
    ask_link(client, person.email)
    path = links_sent(db, person.email)[0]
    nonce, expiry, mac = path.rsplit("/", 1)[1].split(".")
    later = str(int(expiry) + 3600)
    assert use_link(client, f"/my/link/{nonce}.{later}.{mac}").status_code == 410
    assert use_link(client, "/my/link/not-a-token").status_code == 410


def test_a_loyalty_number_that_does_not_match_the_address_sends_nothing(client, db, make_customer):
    person = make_customer(loyalty_number="FB0000424242")
    ask_link(client, person.email, loyalty_number="FB0000999999")
    assert links_sent(db, person.email) == []
    ask_link(client, person.email, loyalty_number="FB0000424242")
    assert len(links_sent(db, person.email)) == 1


def test_links_to_one_address_are_limited_without_the_answer_changing(
    app, client, db, make_customer
):
    app.state.portal_settings = PortalSettings(links_per_address=2, links_per_client=100)
    person = make_customer()
    answers = [ask_link(client, person.email) for _ in range(4)]
    assert {a.status_code for a in answers} == {200}
    assert len(links_sent(db, person.email)) == 2


def test_requests_from_one_client_are_limited(app, client, make_customer):
    app.state.portal_settings = PortalSettings(links_per_client=3)
    answers = [ask_link(client, f"someone{n}@example.org").status_code for n in range(5)]
    assert answers == [200, 200, 200, 429, 429]


def test_erased_and_merged_customers_cannot_sign_in_and_lose_their_sessions(
    client, db, make_customer, agent, admin
):
    erased, merged, survivor = make_customer(), make_customer(), make_customer()
    sign_in(client, db, erased.email)
    ask_link(client, merged.email)
    pending = links_sent(db, merged.email)[0]
    response = client.post(
        f"/api/v1/customers/{erased.id}/erase", json={"reason": "asked"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert client.get("/my", follow_redirects=False).headers["location"] == "/my/sign-in"
    response = client.post(
        "/api/v1/customer-merges",
        json={"survivor_id": survivor.id, "merged_id": merged.id, "reason": "same person"},
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    fresh = TestClient(client.app)
    assert use_link(fresh, pending).status_code == 410
    ask_link(fresh, erased.email)
    assert links_sent(db, erased.email) == []


def test_a_portal_session_never_reaches_the_console_or_the_staff_api(client, db, make_customer):
    person = make_customer()
    sign_in(client, db, person.email)
    secret = client.cookies.get("egards_portal")
    # Even sent on every path (a cookie with path=/), the portal's secret signs nobody in.
    outsider = TestClient(client.app)
    outsider.cookies.set("egards_portal", secret)
    assert (
        outsider.get("/customers", follow_redirects=False).headers["location"].startswith("/login")
    )
    assert outsider.get("/api/v1/customers").status_code == 401
    assert outsider.get(f"/api/v1/customers/{person.id}").status_code == 401
    assert client.get("/api/v1/customers").status_code == 401
    assert client.get("/privacy-requests", follow_redirects=False).status_code == 303
    assert outsider.get("/my").status_code == 200  # the same secret works where it belongs


def test_a_console_session_does_not_open_the_portal(client, agent):
    from tests.conftest import login

    login(client, agent.email)
    assert client.get("/my", follow_redirects=False).headers["location"] == "/my/sign-in"


def test_every_portal_form_needs_the_csrf_token(client, db, make_customer):
    person = make_customer()
    client.get("/my/sign-in")
    refused = client.post("/my/sign-in", data={"email": person.email})
    assert refused.status_code == 403 and links_sent(db, person.email) == []
    sign_in(client, db, person.email)
    for path, data in [
        ("/my/consents", {"marketing:email": "on"}),
        ("/my/data/requests", {"kind": "erasure"}),
        ("/my/requests/new", {"subject": "x", "message": "y"}),
        ("/my/sign-out", {}),
        ("/my/locale", {"locale": "en"}),
    ]:
        assert client.post(path, data=data, follow_redirects=False).status_code == 403, path
    assert client.get("/my").status_code == 200


def test_signing_out_ends_the_session_on_the_server(client, db, make_customer):
    person = make_customer()
    csrf = sign_in(client, db, person.email)
    secret = client.cookies.get("egards_portal")
    out = client.post("/my/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    copy = TestClient(client.app)
    copy.cookies.set("egards_portal", secret, path="/my")
    assert copy.get("/my", follow_redirects=False).headers["location"] == "/my/sign-in"


def test_after_signing_in_only_portal_paths_are_followed(client, db, make_customer):
    client.get("/my/sign-in")
    for target in ("https://evil.example/", "//evil.example", "/customers", "/myevil", "/my\\x"):
        page = client.get("/my/sign-in", params={"next": target})
        assert f'name="next" value="{target}"' not in page.text
        assert 'name="next" value="/my"' in page.text
    csrf = csrf_from(client.get("/my/sign-in").text)
    moved = client.post(
        "/my/locale",
        data={"locale": "en", "next": "https://evil.example/", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert moved.headers["location"] == "/my"


def test_signing_in_again_in_the_same_browser_ends_the_previous_session(client, db, make_customer):
    person = make_customer()
    sign_in(client, db, person.email)
    first = client.cookies.get("egards_portal")
    sign_in(client, db, person.email)
    assert client.cookies.get("egards_portal") != first
    copy = TestClient(client.app)
    copy.cookies.set("egards_portal", first, path="/my")
    assert copy.get("/my", follow_redirects=False).headers["location"] == "/my/sign-in"
