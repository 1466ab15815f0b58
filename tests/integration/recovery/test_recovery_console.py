"""Service recovery in the console through real HTTP: an agent offers the recommended gesture
from a case with one form, a double submission grants once, a refused form names the field,
and the supervisor's pages render in both languages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from egards.accounts.domain import Role
from egards.db import utcnow
from tests.conftest import csrf_from, login
from tests.integration.builders import customer_payload


@pytest.fixture
def scene(client, agent):
    customer = client.post(
        "/api/v1/customers", json=customer_payload(), headers=agent.headers
    ).json()
    member = client.post(
        "/api/v1/loyalty/members",
        json={
            "customer_id": customer["id"],
            "programme": "flying_blue",
            "on": (date.today() - timedelta(days=900)).isoformat(),
        },
        headers=agent.headers,
    ).json()
    case = client.post(
        "/api/v1/cases",
        json={
            "channel": "phone",
            "customer_id": customer["id"],
            "subject": "Bagage perdu",
            "message": "Toujours rien.",
            "category": "baggage",
            "priority": "high",
        },
        headers=agent.headers,
    ).json()["case"]
    return customer, member, case


def offer_form(page: str, code: str) -> dict[str, str]:
    """The hidden fields of the Accept form of one proposal, as the browser would send them."""
    form = page[page.index(f'data-code="{code}"') :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    fields["reason_code"] = "broken_promise"
    return fields


def test_an_agent_accepts_a_proposal_once_and_the_case_shows_it(client, agent, scene):
    customer, _, case = scene
    login(client, agent.email)
    page = client.get(f"/recovery/offer?customer_id={customer['id']}&case_id={case['id']}")
    assert page.status_code == 200
    codes = re.findall(r'data-code="([^"]+)"', page.text)
    assert 1 <= len(codes) <= 3
    code = (
        next(c for c in codes if c.startswith("miles"))
        if any(c.startswith("miles") for c in codes)
        else codes[0]
    )
    form = offer_form(page.text, code)
    for _ in range(2):  # a double click
        done = client.post("/recovery/offer", data=form, follow_redirects=False)
        assert done.status_code == 303
        assert done.headers["location"].startswith(f"/cases/{case['id']}?recovery=")
    gestures = client.get(
        f"/api/v1/recovery/grants?case_id={case['id']}", headers=agent.headers
    ).json()
    assert len(gestures) == 1 and gestures[0]["gesture_code"] == code
    assert gestures[0]["recommended_rank"] == codes.index(code) + 1
    shown = client.get(done.headers["location"]).text
    panel = shown[shown.index('id="case-gestures"') :]
    panel = panel[: panel.index("</ul>")]
    assert 'id="recovery-flash"' in shown
    assert panel.count("<li>") == 1 and "None yet" not in panel


def test_a_refused_form_says_which_field_and_grants_nothing(client, agent, scene):
    customer, _, case = scene
    login(client, agent.email)
    page = client.get(f"/recovery/offer?customer_id={customer['id']}&case_id={case['id']}")
    form = {
        "csrf_token": csrf_from(page.text),
        "key": "console-bad",
        "customer_id": str(customer["id"]),
        "case_id": str(case["id"]),
        "gesture_code": "voucher-30",
        "amount_euros": "9999",  # the voucher goes up to €200
        "reason_code": "broken_promise",
        "reason_text": "Sorry",
    }
    refused = client.post("/recovery/offer", data=form)
    assert refused.status_code == 422
    assert "amount" in refused.text.lower() or "montant" in refused.text.lower()
    assert (
        client.get(f"/api/v1/recovery/grants?case_id={case['id']}", headers=agent.headers).json()
        == []
    )


def test_a_decision_refused_after_writing_commits_none_of_it(client, agent, make_person, scene):
    """Approving an invitation to an event filled meanwhile: the decision is written, the
    budget charged, then the seat is refused; the page says so beside the request and the
    request is still pending, the budget untouched."""
    customer, _, _ = scene
    supervisor = make_person(Role.SUPERVISOR)
    month = client.get("/api/v1/recovery/budgets/mine", headers=agent.headers).json()["month"]
    client.put(  # nothing in the agent's budget: every invitation waits for a supervisor
        "/api/v1/recovery/budgets",
        json={"scope": "agent", "owner": str(agent.user_id), "month": month, "limit_cents": 0},
        headers=supervisor.headers,
    ).raise_for_status()
    event = client.post(
        "/api/v1/recovery/events",
        json={
            "name": "Members' evening",
            "place": "Hangar 3",
            "starts_at": (utcnow() + timedelta(days=20)).isoformat(),
            "capacity": 1,
        },
        headers=supervisor.headers,
    ).json()
    other = client.post(
        "/api/v1/customers", json=customer_payload(emails=["b@example.org"]), headers=agent.headers
    ).json()
    requests = [
        client.post(
            "/api/v1/recovery/grants",
            json={
                "customer_id": someone["id"],
                "gesture_code": "event",
                "event_id": event["id"],
                "reason_code": "loyalty_thanks",
                "reason_text": "Thanks",
            },
            headers=agent.headers,
        ).json()
        for someone in (customer, other)
    ]
    assert [r["status"] for r in requests] == ["pending", "pending"]
    first, second = (r["approval"]["id"] for r in requests)
    client.post(  # the last seat goes to the other customer
        f"/api/v1/recovery/approvals/{second}/decision",
        json={"approve": True, "reason": "Loyal"},
        headers=supervisor.headers,
    ).raise_for_status()
    spent = client.get(f"/api/v1/recovery/budgets?month={month}", headers=supervisor.headers)
    login(client, supervisor.email)
    token = csrf_from(client.get("/recovery/approvals").text)

    refused = client.post(
        f"/recovery/approvals/{first}",
        data={"decision": "approve", "reason": "Loyal too", "csrf_token": token},
        follow_redirects=False,
    )

    assert refused.status_code == 409
    assert "est complet" in refused.text  # the console speaks French
    still = client.get(f"/api/v1/recovery/grants/{requests[0]['id']}", headers=agent.headers)
    assert still.json()["status"] == "pending"
    assert still.json()["approval"]["status"] == "pending"
    after = client.get(f"/api/v1/recovery/budgets?month={month}", headers=supervisor.headers)
    assert after.json()["agents"] == spent.json()["agents"]


def test_every_refused_console_form_comes_back_with_the_reason_and_a_done_one_redirects(
    client, make_person, scene
):
    _, _, case = scene
    admin = make_person(Role.ADMIN)
    login(client, admin.email)
    token = csrf_from(client.get("/recovery").text)
    month = utcnow().strftime("%Y-%m")
    later = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    budget = {"scope": "team", "owner": "support", "month": month}
    event = {"name": "Evening", "place": "Hangar 3", "starts_at": later}
    refused = [
        ("/recovery/letters/999999/posted", {}, 404, "courrier 999999 introuvable"),
        ("/recovery/budgets", {**budget, "month": "2026-13", "limit_euros": "5"}, 422, "AAAA-MM"),
        ("/recovery/budgets", budget, 422, "indiquez la limite mensuelle en euros"),
        (
            "/recovery/events",
            {**event, "starts_at": "soon"},
            422,
            "doit être une date et une heure",
        ),
        ("/recovery/invitations/999999", {"status": "accepted"}, 404, "invitation 999999"),
        ("/recovery/catalogue/voucher-30", {"name_fr": "Bon"}, 422, "un nom en français et"),
        ("/recovery/letter-templates/apology-delay/fr", {"subject": "S"}, 422, "doit avoir un nom"),
        (
            "/recovery/exceptions/999999/decision",
            {"decision": "approve"},
            422,
            "indiquez la raison",
        ),
        ("/recovery/exceptions/999999/outcome", {"outcome": "moved"}, 422, "resté, parti ou"),
        (f"/recovery/cases/{case['id']}/exceptions", {"why": "w", "remedy": "r"}, 422, "vide"),
        ("/recovery/approvals/999999", {"decision": "approve"}, 422, "indiquez la raison"),
    ]
    for path, form, status, reason in refused:
        page = client.post(path, data={**form, "csrf_token": token}, follow_redirects=False)
        assert page.status_code == status, (path, page.text[:500])
        alert = page.text[page.text.index('id="recovery-error"') :]
        assert reason in alert[: alert.index("</div>")], path
    done = [
        ("/recovery/signature", {"title": "Head of care"}, "/recovery?saved=signature"),
        ("/recovery/budgets", {**budget, "limit_euros": "5"}, f"/recovery/budgets?month={month}"),
        ("/recovery/events", {**event, "capacity": "3"}, "/recovery/events"),
    ]
    for path, form, location in done:
        page = client.post(path, data={**form, "csrf_token": token}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith(location), path


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_supervisor_pages_render(client, make_person, scene, locale):
    supervisor = make_person(Role.SUPERVISOR)
    token = login(client, supervisor.email)
    client.post("/locale", data={"locale": locale, "csrf_token": token, "next": "/recovery"})
    for path in (
        "/recovery",
        "/recovery/approvals",
        "/recovery/budgets",
        "/recovery/returns",
        "/recovery/exceptions",
        "/recovery/events",
        "/recovery/catalogue",
    ):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert 'lang="' + locale in page.text


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        *[("12,50", 1250), ("1 234.5", 123_450), ("80", 8000)],
        *[("inf", None), ("0.285", None), ("1e3", None), ("-5", None), ("nan", None)],
        ("12345678901", None),
    ],
)
def test_money_typed_in_the_console_is_exact_cents_or_refused_by_field(
    client, make_person, agent, typed, cents
):
    supervisor = make_person(Role.SUPERVISOR)
    token = login(client, supervisor.email)
    month = date.today().strftime("%Y-%m")
    form = {"csrf_token": token, "scope": "agent", "owner": str(agent.user_id), "month": month}

    def limit() -> int | None:
        budgets = client.get(
            f"/api/v1/recovery/budgets?month={month}", headers=supervisor.headers
        ).json()["agents"]
        return next((b["limit_cents"] for b in budgets if b["owner"] == form["owner"]), None)

    before = limit()
    response = client.post(
        "/recovery/budgets", data={**form, "limit_euros": typed}, follow_redirects=False
    )
    if cents is None:
        assert response.status_code == 422, response.text[:300]
        error = response.text[response.text.index('id="recovery-error"') :]
        assert error.startswith('id="recovery-error"><strong>Plafond mensuel (€)</strong>')
        assert "au plus deux décimales" in error
        assert limit() == before
    else:
        assert response.status_code == 303, response.text[:300]
        assert limit() == cents


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_an_overspent_budget_shows_spent_nothing_left_and_the_overspend(
    client, agent, make_person, scene, locale
):
    """A gesture above the budget, approved by a supervisor, spends more than the limit: the
    console says nothing is left and by how much it went over, never a negative remainder."""
    customer, _, case = scene
    supervisor = make_person(Role.SUPERVISOR)
    limit = 500
    budget = {"scope": "agent", "owner": str(agent.user_id), "month": utcnow().strftime("%Y-%m")}
    assert (
        client.put(
            "/api/v1/recovery/budgets",
            json={**budget, "limit_cents": limit},
            headers=supervisor.headers,
        ).status_code
        == 200
    )
    token = login(client, agent.email)
    client.post("/locale", data={"locale": locale, "csrf_token": token, "next": "/recovery"})
    page = client.get(f"/recovery/offer?customer_id={customer['id']}&case_id={case['id']}")
    code = next(c for c in re.findall(r'data-code="([^"]+)"', page.text) if c.startswith("miles"))
    client.post("/recovery/offer", data=offer_form(page.text, code))
    (grant,) = client.get("/api/v1/recovery/approvals", headers=supervisor.headers).json()
    assert grant["cost_cents"] > limit
    decided = client.post(
        f"/api/v1/recovery/approvals/{grant['approval']['id']}/decision",
        json={"approve": True, "reason": "A loyal customer let down twice"},
        headers=supervisor.headers,
    )
    assert decided.status_code == 200, decided.text
    over = grant["cost_cents"] - limit

    for path, shown in (
        (f"/recovery/offer?customer_id={customer['id']}", "agent-remaining"),
        ("/recovery", "my-remaining"),
    ):
        text = client.get(path).text
        left = re.search(rf'id="{shown}">([^<]+)<', text).group(1)
        assert re.sub(r"\D", "", left) == "0" and "−" not in left and "-" not in left
        said = re.search(rf'id="{shown}-over">([^<]+)<', text).group(1)
        assert re.sub(r"\D", "", said.split(",")[0].split(".")[0]) == str(over // 100)
        assert ("over budget" if locale == "en" else "de dépassement") in said
