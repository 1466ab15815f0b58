"""The idea box through real HTTP, on SQLite and PostgreSQL: customers propose and vote from
the portal (one vote each), the staff answer and set a status through the API and the
console, the proposer and the voters are told by e-mail (with their consent), a duplicate
merged into another idea brings its votes, and hidden or scripted ideas stay out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from egards.accounts.domain import Role
from egards.audit.models import AuditRecord
from egards.customers.models import Customer, TimelineEvent
from egards.i18n import render_message
from egards.ideas.models import Idea
from egards.outbox.models import OutboxMessage
from egards.voice.settings import VoiceSettings
from tests.conftest import login
from tests.integration.portal.conftest import sign_in

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(settings, db):
    from egards.app import create_app

    settings.mail_from = "service@egards.test"
    application = create_app(settings, db)
    application.state.clock = lambda: NOW
    return application


@pytest.fixture
def supervisor(make_person):
    return make_person(Role.SUPERVISOR)


def propose(portal: TestClient, csrf: str, title: str, body: str, category: str = "app"):
    return portal.post(
        "/my/ideas",
        data={"title": title, "body": body, "category": category, "csrf_token": csrf},
        follow_redirects=False,
    )


def idea_id_of(db, title: str) -> int:
    with db.unit_of_work() as session:
        found = session.scalar(select(Idea.id).where(Idea.title == title))
    assert found is not None, title
    return found


def mails_about(db, idea_id: int) -> list[str]:
    with db.unit_of_work() as session:
        return list(
            session.scalars(
                select(OutboxMessage.recipient).where(
                    OutboxMessage.ref_type == "idea", OutboxMessage.ref_id == str(idea_id)
                )
            )
        )


def letters_about(db, idea_id: int) -> list[tuple[str, str]]:
    """The (subject, body) of the e-mails about an idea."""
    with db.unit_of_work() as session:
        payloads = session.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.ref_type == "idea", OutboxMessage.ref_id == str(idea_id)
            )
        )
        return [(p["subject"], p["body"]) for p in payloads]


def test_an_idea_from_proposal_to_answer(
    make_consenting_customer, app, client, db, agent, supervisor
):
    alice, alice_mail = make_consenting_customer()
    bob, bob_mail = make_consenting_customer()
    _carol, carol_mail = make_consenting_customer(consent=False)
    with TestClient(app) as a, TestClient(app) as b, TestClient(app) as c:
        csrf_a = sign_in(a, db, alice_mail)
        made = propose(
            a,
            csrf_a,
            "Boarding pass in the wallet",
            "Add the boarding pass to the phone's wallet, please.",
        )
        assert made.status_code == 303, made.text
        idea = idea_id_of(db, "Boarding pass in the wallet")
        page = a.get("/my/ideas")
        assert (
            "Boarding pass in the wallet" in page.text and "You voted for this idea." in page.text
        )

        csrf_b = sign_in(b, db, bob_mail)
        voted = b.post(
            f"/my/ideas/{idea}/vote", data={"csrf_token": csrf_b}, follow_redirects=False
        )
        assert voted.status_code == 303, voted.text
        twice = b.post(f"/my/ideas/{idea}/vote", data={"csrf_token": csrf_b})
        assert twice.status_code == 409 and "already voted" in twice.text
        csrf_c = sign_in(c, db, carol_mail)
        assert c.post(f"/my/ideas/{idea}/vote", data={"csrf_token": csrf_c}).status_code == 200

        scripted = propose(b, csrf_b, "Nice <script>alert(1)</script>", "A perfectly normal body.")
        assert scripted.status_code == 422 and "plain text only" in scripted.text
        assert "<script>alert" not in scripted.text

    # The GDPR export carries what she proposed and what the others voted for.
    exported = client.get(f"/api/v1/customers/{alice}/export", headers=supervisor.headers)
    assert exported.status_code == 200, exported.text
    assert exported.json()["ideas"]["proposed"][0]["title"] == "Boarding pass in the wallet"
    bobs = client.get(f"/api/v1/customers/{bob}/export", headers=supervisor.headers).json()
    assert bobs["ideas"]["voted_for"] == [idea]
    read = client.get(f"/api/v1/ideas/{idea}", headers=supervisor.headers).json()
    assert read["votes"] == 3 and read["status"] == "new" and read["customer_id"] == alice

    # Declining needs a reason; a refusal is a problem naming the field.
    refused = client.post(
        f"/api/v1/ideas/{idea}/status", json={"status": "declined"}, headers=supervisor.headers
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reason"
    planned = client.post(
        f"/api/v1/ideas/{idea}/status",
        json={"status": "planned", "answer": "Coming in the spring release."},
        headers=supervisor.headers,
    )
    assert planned.status_code == 200, planned.text
    assert planned.json()["answer"] == "Coming in the spring release."
    # The proposer and the consenting voter are told; the voter without consent is not.
    told = mails_about(db, idea)
    assert sorted(told) == sorted([alice_mail.casefold(), bob_mail.casefold()])
    # In the idea's language (English here), the status as the catalogue words it.
    subject, body = letters_about(db, idea)[0]
    assert subject == "Your idea is now planned: Boarding pass in the wallet"
    assert body.startswith("Hello,\n\nAn idea you proposed or voted for is now planned:\n")
    assert "“Coming in the spring release.”" in body
    # Same status again: nobody is told twice.
    client.post(
        f"/api/v1/ideas/{idea}/status", json={"status": "planned"}, headers=supervisor.headers
    )
    assert len(mails_about(db, idea)) == 2
    # An agent reads but does not decide.
    assert client.get("/api/v1/ideas", headers=agent.headers).status_code == 200
    denied = client.post(
        f"/api/v1/ideas/{idea}/status", json={"status": "done"}, headers=agent.headers
    )
    assert denied.status_code == 403


def test_merging_a_duplicate_moves_its_votes_once(
    make_consenting_customer, app, client, db, agent, supervisor
):
    people = [make_consenting_customer() for _ in range(3)]
    with TestClient(app) as a, TestClient(app) as b, TestClient(app) as c:
        csrfs = [sign_in(p, db, mail) for p, (_, mail) in zip((a, b, c), people, strict=True)]
        propose(a, csrfs[0], "Wi-Fi on every flight", "Free Wi-Fi on every flight for members.")
        propose(b, csrfs[1], "Free wifi onboard", "Please give members free wifi onboard.")
        first, duplicate = (
            idea_id_of(db, "Wi-Fi on every flight"),
            idea_id_of(db, "Free wifi onboard"),
        )
        a.post(f"/my/ideas/{duplicate}/vote", data={"csrf_token": csrfs[0]})  # a votes both
        c.post(f"/my/ideas/{duplicate}/vote", data={"csrf_token": csrfs[2]})
    with db.unit_of_work() as session:  # the duplicate was written in French
        session.execute(update(Idea).where(Idea.id == duplicate).values(language="fr"))
    merged = client.post(
        f"/api/v1/ideas/{duplicate}/merge", json={"into_id": first}, headers=supervisor.headers
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == first and merged.json()["votes"] == 3  # a, b, c: a once
    gone = client.get(f"/api/v1/ideas/{duplicate}", headers=supervisor.headers).json()
    assert gone["status"] == "merged" and gone["votes"] == 0 and gone["merged_into_id"] == first
    assert len(mails_about(db, duplicate)) == 3  # its voters are told where their vote went
    # Each in their own language (English for all three), not the French idea's.
    for subject, body in letters_about(db, duplicate):
        assert subject == "Your idea is now merged into another idea: Free wifi onboard"
        assert "→ Wi-Fi on every flight\n\nYou can see it in your customer space" in body
    itself = client.post(
        f"/api/v1/ideas/{first}/merge", json={"into_id": first}, headers=supervisor.headers
    )
    assert itself.status_code == 422
    # Hidden: out of the customers' list, kept for the staff with its reason.
    hidden = client.post(
        f"/api/v1/ideas/{first}/hide",
        json={"reason": "Duplicate of a known plan"},
        headers=supervisor.headers,
    )
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    with TestClient(app) as a:
        sign_in(a, db, people[0][1])
        assert "Wi-Fi on every flight" not in a.get("/my/ideas").text


def test_each_voter_is_told_of_a_status_in_their_own_language(
    make_consenting_customer, app, client, db, supervisor
):
    (_, proposer_mail), (french, french_mail), (other, other_mail) = [
        make_consenting_customer() for _ in range(3)
    ]
    with db.unit_of_work() as session:
        session.execute(
            update(Customer).where(Customer.id == french).values(preferred_language="fr")
        )
        # A language we do not write: the idea's is used.
        session.execute(
            update(Customer).where(Customer.id == other).values(preferred_language="de")
        )
    with TestClient(app) as a, TestClient(app) as b, TestClient(app) as c:
        propose(a, sign_in(a, db, proposer_mail), "Seat choice for free", "Let members choose.")
        idea = idea_id_of(db, "Seat choice for free")
        for portal, mail in ((b, french_mail), (c, other_mail)):
            portal.post(f"/my/ideas/{idea}/vote", data={"csrf_token": sign_in(portal, db, mail)})
    with db.unit_of_work() as session:  # written in French, in the author's own words
        session.execute(update(Idea).where(Idea.id == idea).values(language="fr"))
    planned = client.post(
        f"/api/v1/ideas/{idea}/status",
        json={"status": "planned", "answer": "In the spring release."},
        headers=supervisor.headers,
    )
    assert planned.status_code == 200, planned.text
    with db.unit_of_work() as session:
        letters = {
            m.recipient: (m.payload["subject"], m.payload["body"])
            for m in session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.ref_type == "idea", OutboxMessage.ref_id == str(idea)
                )
            )
        }
    english, in_french = letters[proposer_mail.casefold()], letters[french_mail.casefold()]
    assert english[0] == "Your idea is now planned: Seat choice for free"
    assert english[1].startswith("Hello,") and "“In the spring release.”" in english[1]
    assert in_french[0] == "Votre idée est désormais prévue : Seat choice for free"
    assert in_french[1].startswith("Bonjour,") and "« In the spring release. »" in in_french[1]
    assert letters[other_mail.casefold()] == in_french  # the idea's language


def test_the_console_sets_a_status_and_answers(
    make_consenting_customer, app, client, db, agent, supervisor
):
    _cid, mail = make_consenting_customer()
    with TestClient(app) as a:
        propose(
            a,
            sign_in(a, db, mail),
            "Lounge access for Silver",
            "Two lounge passes a year for Silver.",
        )
    idea = idea_id_of(db, "Lounge access for Silver")
    csrf = login(client, supervisor.email)
    listing = client.get("/ideas")
    assert listing.status_code == 200 and "Lounge access for Silver" in listing.text
    page = client.get(f"/ideas/{idea}")
    assert page.status_code == 200
    saved = client.post(
        f"/ideas/{idea}/status",
        data={"status": "under_review", "answer": "We are looking at it.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert "We are looking at it." in client.get(f"/ideas/{idea}").text
    # The root-cause dashboard lists the most voted ideas.
    dashboard = client.get("/voice/root-causes")
    assert dashboard.status_code == 200
    assert "Lounge access for Silver" in dashboard.text.split('id="top-ideas"', 1)[1]


def test_a_partner_sees_no_idea(client, db, make_person, make_organisation, agent):
    partner = make_person(Role.PARTNER, organisation_id=make_organisation())
    assert client.get("/api/v1/ideas", headers=partner.headers).status_code == 403


def test_customers_comment_and_staff_hide_a_comment(
    make_consenting_customer, app, client, db, agent, supervisor
):
    alice, alice_mail = make_consenting_customer()
    bob, bob_mail = make_consenting_customer()
    with TestClient(app) as a, TestClient(app) as b:
        csrf_a = sign_in(a, db, alice_mail)
        assert (
            propose(a, csrf_a, "Quieter lounges", "Quiet zones in every lounge.").status_code == 303
        )
        idea = idea_id_of(db, "Quieter lounges")
        csrf_b = sign_in(b, db, bob_mail)
        said = b.post(
            f"/my/ideas/{idea}/comments",
            data={"body": "Yes, and phone booths too.", "csrf_token": csrf_b},
            follow_redirects=False,
        )
        assert said.status_code == 303, said.text
        # The comment is audited as itself and shown on the timeline as its idea, in the
        # reader's language (stored as a message, not an English sentence).
        with db.unit_of_work() as session:
            entry = session.scalars(
                select(TimelineEvent).where(
                    TimelineEvent.customer_id == bob, TimelineEvent.kind == "ideas.commented"
                )
            ).one()
            audited = session.scalars(
                select(AuditRecord).where(
                    AuditRecord.customer_id == bob, AuditRecord.action == "ideas.commented"
                )
            ).one()
            assert (entry.ref_type, entry.ref_id) == ("idea", str(idea))
            assert render_message("fr", entry.message, entry.summary) == (
                "A commenté une idée : Quieter lounges"
            )
            assert audited.entity_type == "idea_comment" and audited.after == {"idea_id": idea}
        rude = b.post(
            f"/my/ideas/{idea}/comments",
            data={"body": "Rude words zqrudecomment", "csrf_token": csrf_b},
            follow_redirects=False,
        )
        assert rude.status_code == 303, rude.text
        scripted = b.post(
            f"/my/ideas/{idea}/comments",
            data={"body": "<img src=x onerror=alert(1)>", "csrf_token": csrf_b},
        )
        assert scripted.status_code == 422 and "plain text only" in scripted.text
        assert "Your comment:" in scripted.text and "<img src=x" not in scripted.text
        assert (
            b.post(
                "/my/ideas/999999/comments", data={"body": "Hello there", "csrf_token": csrf_b}
            ).status_code
            == 404
        )

        # An agent records a comment received by letter; script is refused, naming the field.
        scripted_api = client.post(
            f"/api/v1/ideas/{idea}/comments",
            json={"customer_id": alice, "body": "Hi <script>alert(1)</script>"},
            headers=agent.headers,
        )
        assert scripted_api.status_code == 422, scripted_api.text
        assert scripted_api.json()["errors"][0]["field"] == "body"
        lettered = client.post(
            f"/api/v1/ideas/{idea}/comments",
            json={"customer_id": alice, "body": "By letter: thank you all."},
            headers=agent.headers,
        )
        assert lettered.status_code == 201, lettered.text
        assert lettered.json()["customer_id"] == alice

        # The staff read the comments, and hide the rude one with a reason.
        listed = client.get(f"/api/v1/ideas/{idea}/comments", headers=agent.headers)
        assert listed.status_code == 200, listed.text
        rows = listed.json()
        assert [r["body"] for r in rows] == [
            "Yes, and phone booths too.",
            "Rude words zqrudecomment",
            "By letter: thank you all.",
        ]
        assert [r["customer_id"] for r in rows] == [bob, bob, alice]
        assert not any(r["hidden"] for r in rows)
        rude_id = rows[1]["id"]
        denied = client.post(
            f"/api/v1/ideas/{idea}/comments/{rude_id}/hide",
            json={"reason": "insults"},
            headers=agent.headers,
        )
        assert denied.status_code == 403
        no_reason = client.post(
            f"/api/v1/ideas/{idea}/comments/{rude_id}/hide",
            json={"reason": "   "},
            headers=supervisor.headers,
        )
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
        wrong_idea = client.post(
            f"/api/v1/ideas/{idea + 1000}/comments/{rude_id}/hide",
            json={"reason": "insults"},
            headers=supervisor.headers,
        )
        assert wrong_idea.status_code == 404
        hidden = client.post(
            f"/api/v1/ideas/{idea}/comments/{rude_id}/hide",
            json={"reason": "insults"},
            headers=supervisor.headers,
        )
        assert hidden.status_code == 200, hidden.text
        assert hidden.json()["hidden"] and hidden.json()["hidden_reason"] == "insults"

        # Customers see the kept comment only; the staff page shows both, the hidden flagged.
        page = a.get(f"/my/ideas/{idea}")
        assert page.status_code == 200
        assert "Yes, and phone booths too." in page.text and "zqrudecomment" not in page.text
        staff = client.get(f"/ideas/{idea}", headers=supervisor.headers)
        assert "zqrudecomment" in staff.text and "insults" in staff.text

    # The GDPR export carries Bob's comments; his erasure takes them away.
    bobs = client.get(f"/api/v1/customers/{bob}/export", headers=supervisor.headers).json()
    assert [c["body"] for c in bobs["ideas"]["comments"]] == [
        "Yes, and phone booths too.",
        "Rude words zqrudecomment",
    ]
    # Alice's export carries no comment of Bob's.
    alices = client.get(f"/api/v1/customers/{alice}/export", headers=supervisor.headers).json()
    assert [c["body"] for c in alices["ideas"]["comments"]] == ["By letter: thank you all."]


def test_the_public_list_is_off_by_default_and_never_names_a_proposer(
    make_consenting_customer, app, client, db, agent, supervisor
):
    assert client.get("/public/ideas").status_code == 404  # off unless configured
    app.state.voice_settings = VoiceSettings(public_ideas=True)
    cid, mail = make_consenting_customer()
    person = client.get(f"/api/v1/customers/{cid}", headers=agent.headers).json()
    with TestClient(app) as a:
        csrf = sign_in(a, db, mail)
        propose(a, csrf, "Seat maps in the app", "Show the seat map before check-in.")
        propose(a, csrf, "Zqhiddenmarker idea", "Zqhiddenmarker body")
        idea = idea_id_of(db, "Seat maps in the app")
        a.post(f"/my/ideas/{idea}/vote", data={"csrf_token": csrf})
        a.post(f"/my/ideas/{idea}/comments", data={"body": "Zqcommentmarker", "csrf_token": csrf})
    hidden = idea_id_of(db, "Zqhiddenmarker idea")
    client.post(
        f"/api/v1/ideas/{hidden}/hide", json={"reason": "Zqreason"}, headers=supervisor.headers
    )
    answered = client.post(
        f"/api/v1/ideas/{idea}/status",
        json={"status": "planned", "answer": "Coming in the spring release."},
        headers=supervisor.headers,
    )
    assert answered.status_code == 200, answered.text

    with TestClient(app) as anyone:  # no sign-in, no staff session
        page = anyone.get("/public/ideas")
    assert page.status_code == 200
    assert "Seat maps in the app" in page.text and "Coming in the spring release." in page.text
    assert "· 1 votes" in page.text  # the proposer's own vote (a second one is refused)
    assert 'class="badge">planned<' in page.text
    for private in (
        mail,
        person["last_name"],
        person["first_name"],
        "Zqhiddenmarker",
        "Zqreason",
        "Zqcommentmarker",
        supervisor.email,
    ):
        assert private not in page.text, private


def test_staff_tag_ideas_find_them_by_tag_and_a_merge_keeps_the_tags(
    make_consenting_customer, app, client, db, agent, supervisor, make_person, make_organisation
):
    people = [make_consenting_customer() for _ in range(2)]
    with TestClient(app) as a, TestClient(app) as b:
        propose(a, sign_in(a, db, people[0][1]), "Quieter lounges", "Quiet rooms in lounges.")
        propose(b, sign_in(b, db, people[1][1]), "Lounge naps", "Nap pods in the lounges.")
    quiet, naps = idea_id_of(db, "Quieter lounges"), idea_id_of(db, "Lounge naps")
    url = f"/api/v1/ideas/{quiet}/tags"
    tagged = client.put(
        url, json={"tags": [" Lounge ", "comfort", "lounge"]}, headers=agent.headers
    )
    assert tagged.status_code == 200, tagged.text
    assert tagged.json()["tags"] == ["comfort", "lounge"]  # lower case, once each, sorted
    # Bad tags are refused whole, the field named, nothing changed.
    for bad in (["<script>"], ["x" * 41], [f"t{n}" for n in range(11)]):
        refused = client.put(url, json={"tags": bad}, headers=agent.headers)
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"].endswith("tags")
    assert client.get(f"/api/v1/ideas/{quiet}", headers=agent.headers).json()["tags"] == [
        "comfort",
        "lounge",
    ]
    found = client.get("/api/v1/ideas", params={"tag": "Lounge"}, headers=agent.headers).json()
    assert [i["id"] for i in found] == [quiet]
    partner = make_person(Role.PARTNER, organisation_id=make_organisation())
    assert client.put(url, json={"tags": ["x"]}, headers=partner.headers).status_code == 403
    # Merging a duplicate carries its tags to the idea it joins.
    client.put(f"/api/v1/ideas/{naps}/tags", json={"tags": ["sleep"]}, headers=agent.headers)
    merged = client.post(
        f"/api/v1/ideas/{naps}/merge", json={"into_id": quiet}, headers=supervisor.headers
    )
    assert merged.json()["tags"] == ["comfort", "lounge", "sleep"]
    with db.unit_of_work() as session:
        actions = session.scalars(
            select(AuditRecord.action).where(
                AuditRecord.entity_type == "idea", AuditRecord.entity_id == str(quiet)
            )
        ).all()
    assert actions.count("ideas.tagged") == 1
    # The console: the form replaces the tags, the list filters by them.
    csrf = login(client, agent.email)
    saved = client.post(
        f"/ideas/{quiet}/tags",
        data={"tags": "comfort, Wi-Fi", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    listing = client.get("/ideas", params={"tag": "wi-fi"})
    assert "Quieter lounges" in listing.text and 'value="wi-fi" selected' in listing.text
    assert "Quieter lounges" not in client.get("/ideas", params={"tag": "sleep"}).text


def test_a_programmes_category_is_open_to_its_members_only(
    make_consenting_customer, app, client, db, supervisor
):
    member, member_mail = make_consenting_customer()
    _other, other_mail = make_consenting_customer()
    enrolled = client.post(
        "/api/v1/loyalty/members",
        json={"customer_id": member, "programme": "flying_blue", "on": "2026-11-01"},
        headers=supervisor.headers,
    )
    assert enrolled.status_code == 201, enrolled.text
    travel = '<option value="travel"'
    with TestClient(app) as a, TestClient(app) as b:
        csrf_a = sign_in(a, db, member_mail)
        assert travel in a.get("/my/ideas").text
        made = propose(a, csrf_a, "Lounge day passes", "Sell lounge day passes.", "travel")
        assert made.status_code == 303, made.text
        csrf_b = sign_in(b, db, other_mail)
        page = b.get("/my/ideas").text
        assert travel not in page and '<option value="app"' in page
        refused = propose(b, csrf_b, "Lounge for everyone", "Open lounges to all.", "travel")
        assert refused.status_code == 422
    with db.unit_of_work() as session:
        assert session.scalar(select(Idea.id).where(Idea.title == "Lounge for everyone")) is None


def test_an_erased_proposers_idea_reads_withdrawn_in_the_staff_members_language(
    make_consenting_customer, app, client, db, admin, supervisor
):
    proposer, mail = make_consenting_customer()
    _voter, voter_mail = make_consenting_customer()
    with TestClient(app) as portal:
        propose(portal, sign_in(portal, db, mail), "Quieter cabins", "Quieter cabins at night.")
    idea = idea_id_of(db, "Quieter cabins")
    with TestClient(app) as portal:
        csrf = sign_in(portal, db, voter_mail)
        assert portal.post(f"/my/ideas/{idea}/vote", data={"csrf_token": csrf}).status_code < 400
    erased = client.post(
        f"/api/v1/customers/{proposer}/erase", json={"reason": "GDPR"}, headers=admin.headers
    )
    assert erased.status_code == 200, erased.text

    csrf = login(client, supervisor.email)
    client.post("/locale", data={"locale": "fr", "csrf_token": csrf, "next": "/ideas"})
    assert '<h1 id="idea-title">Idée retirée</h1>' in client.get(f"/ideas/{idea}").text
    listing = client.get("/ideas").text
    assert f'<a href="/ideas/{idea}">Idée retirée</a>' in listing
    assert "Quieter cabins" not in listing
    client.post("/locale", data={"locale": "en", "csrf_token": csrf, "next": "/ideas"})
    assert '<h1 id="idea-title">Idea withdrawn</h1>' in client.get(f"/ideas/{idea}").text

    # The e-mail telling the voter of a new status names it in the e-mail's language.
    client.post(f"/ideas/{idea}/status", data={"status": "planned", "csrf_token": csrf})
    assert [subject for subject, _ in letters_about(db, idea)] == [
        "Your idea is now planned: Idea withdrawn"
    ]
