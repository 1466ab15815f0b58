"""The loyalty engine through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from egards.accounts.domain import Role
from egards.i18n import render_message
from egards.loyalty.models import TierChange
from egards.privacy import ERASED
from tests.integration.builders import customer_payload

TODAY = date.today()


def flight(key, *, miles=5800, cabin="business", fare=250_000, taxes=40_000, on=None, **extra):
    return {
        "key": key,
        "kind": "flight",
        "on": (on or TODAY).isoformat(),
        "amounts": {"fare": fare, "taxes": taxes},
        "attributes": {"cabin": cabin, "distance_miles": miles, "domestic": False},
        **extra,
    }


@pytest.fixture
def member(client, agent):
    customer = client.post(
        "/api/v1/customers",
        json=customer_payload(loyalty_number="FB99990001"),
        headers=agent.headers,
    ).json()
    response = client.post(
        "/api/v1/loyalty/members",
        json={
            "customer_id": customer["id"],
            "programme": "flying_blue",
            "on": (TODAY - timedelta(days=200)).isoformat(),
        },
        headers=agent.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def post_activity(client, person, body, programme="flying_blue"):
    return client.post(
        f"/api/v1/loyalty/programmes/{programme}/activities", json=body, headers=person.headers
    )


def status(client, person, member):
    return client.get(f"/api/v1/loyalty/members/{member['id']}", headers=person.headers).json()


def balance(client, person, member, currency):
    return next(b for b in status(client, person, member)["balances"] if b["currency"] == currency)


def test_a_flight_earns_xp_and_miles_by_the_published_rules(client, agent, member):
    response = post_activity(client, agent, flight("AF276-1", member_number="FB99990001"))
    assert response.status_code == 200, response.text
    earned = {e["currency"]: e["amount"] for e in response.json()["earnings"]}
    # Long-haul over 5,000 miles in business: 36 XP; 4 Miles per euro of fare as Explorer.
    assert earned == {"XP": 36, "MILES": 4 * 2_500}
    assert balance(client, agent, member, "MILES")["available"] == 10_000


def test_an_activitys_reasons_are_written_in_the_language_the_reader_asks_for(
    client, agent, member
):
    french = {**agent.headers, "Accept-Language": "fr"}
    url = "/api/v1/loyalty/programmes/flying_blue/activities"
    body = flight("AF276-FR", member_number="FB99990001")
    sent = {
        lang: client.post(url, json=body, headers=headers).json()
        for lang, headers in (
            ("fr", french),
            ("en", agent.headers),  # the second is a replay: read back, in English
        )
    }
    assert [e["reason"] for e in sent["fr"]["earnings"]] == [
        "XP par vol : long-courrier 3, Business = 36 XP",
        "Miles par euro dépensé : 2\u202f500\u00a0€ × 4 (arrondi à l’inférieur)"
        " = 10\u202f000 Miles",
    ]
    assert [e["reason"] for e in sent["en"]["earnings"]] == [
        "XP per flight: long haul 3, Business = 36 XP",
        "Miles per euro spent: €2,500 × 4 (rounded down) = 10,000 Miles",
    ]
    bulk = client.post(f"{url}/bulk", json={"activities": [body]}, headers=french).json()
    assert bulk[0]["result"]["earnings"] == sent["fr"]["earnings"]


def test_the_same_activity_twice_changes_nothing_and_other_content_is_refused(
    client, agent, member
):
    body = flight("AF276-2", member_number="FB99990001")
    assert post_activity(client, agent, body).status_code == 200
    assert post_activity(client, agent, body).status_code == 200
    assert balance(client, agent, member, "MILES")["balance"] == 10_000
    other = post_activity(client, agent, {**body, "amounts": {"fare": 1, "taxes": 0}})
    assert (
        other.status_code in (409, 422) and other.json()["code"] == "loyalty_idempotency_conflict"
    )


def test_refund_reverses_exact_xp_and_miles_even_after_the_tier_was_granted(client, agent, member):
    for i in range(2):
        assert (
            post_activity(
                client, agent, flight(f"F{i}", member_number="FB99990001", cabin="first")
            ).status_code
            == 200
        )
    # 2 x 60 XP: Silver reached at 100 XP, which Flying Blue deducts from the counter.
    assert (status(client, agent, member)["tier"], status(client, agent, member)["counter"]) == (
        "silver",
        20,
    )
    refund = post_activity(
        client,
        agent,
        {
            "key": "R2",
            "kind": "flight",
            "on": TODAY.isoformat(),
            "member_number": "FB99990001",
            "reverses": "F1",
            "amounts": {"fare": 250_000, "taxes": 40_000},
            "attributes": {"cabin": "first", "distance_miles": 5800, "domestic": False},
        },
    )
    assert refund.status_code == 200, refund.text
    after = status(client, agent, member)
    assert after["tier"] == "explorer" and after["counter"] == 60
    assert balance(client, agent, member, "MILES")["balance"] == 10_000
    assert balance(client, agent, member, "XP")["balance"] == 60
    again = post_activity(
        client,
        agent,
        {
            "key": "R2b",
            "kind": "flight",
            "on": TODAY.isoformat(),
            "member_number": "FB99990001",
            "reverses": "F1",
            "amounts": {"fare": 250_000, "taxes": 40_000},
            "attributes": {"cabin": "first", "distance_miles": 5800, "domestic": False},
        },
    )
    assert again.status_code == 409


def test_redemptions_never_exceed_the_balance_and_holds_can_be_voided(client, agent, member):
    post_activity(client, agent, flight("F-red", member_number="FB99990001"))
    url = f"/api/v1/loyalty/members/{member['id']}/redemptions"
    too_much = client.post(
        url, json={"key": "r1", "currency": "MILES", "amount": 10_001}, headers=agent.headers
    )
    assert too_much.status_code in (409, 422), too_much.text
    hold = client.post(
        url,
        json={"key": "h1", "currency": "MILES", "amount": 6_000, "hold": True},
        headers=agent.headers,
    )
    assert hold.status_code == 201, hold.text
    assert balance(client, agent, member, "MILES")["available"] == 4_000
    blocked = client.post(
        url, json={"key": "r2", "currency": "MILES", "amount": 5_000}, headers=agent.headers
    )
    assert blocked.status_code in (409, 422)
    void = client.post(
        f"/api/v1/loyalty/members/{member['id']}/holds/{hold.json()['seq']}/void",
        json={"key": "v1"},
        headers=agent.headers,
    )
    assert void.status_code == 200
    spent = client.post(
        url, json={"key": "r3", "currency": "MILES", "amount": 5_000}, headers=agent.headers
    )
    assert spent.status_code == 201 and balance(client, agent, member, "MILES")["balance"] == 5_000
    cancel = client.post(
        f"/api/v1/loyalty/members/{member['id']}/redemptions/{spent.json()['seq']}/cancel",
        json={"key": "c1"},
        headers=agent.headers,
    )
    assert (
        cancel.status_code == 200 and balance(client, agent, member, "MILES")["balance"] == 10_000
    )


def test_unknown_members_are_parked_then_applied_on_enrolment(client, agent):
    parked = post_activity(client, agent, flight("P-1", member_number="FB77770001"))
    assert parked.status_code == 200 and parked.json()["status"] == "parked"
    customer = client.post(
        "/api/v1/customers",
        json=customer_payload(loyalty_number="FB77770001"),
        headers=agent.headers,
    ).json()
    enrolled = client.post(
        "/api/v1/loyalty/members",
        json={
            "customer_id": customer["id"],
            "programme": "flying_blue",
            "on": (TODAY - timedelta(days=30)).isoformat(),
        },
        headers=agent.headers,
    ).json()
    assert enrolled["counter"] == 36
    assert {b["currency"]: b["balance"] for b in enrolled["balances"]} == {
        "MILES": 10_000,
        "XP": 36,
    }


def test_bad_activities_are_refused_with_the_field(client, agent, member):
    cases = [
        (flight("B1", member_number="FB99990001", on=TODAY + timedelta(days=30)), "on"),
        (flight("B2", member_number="FB99990001", fare=-5), "amounts"),
        ({**flight("B3"), "member_number": "FB99990001", "customer_id": 1}, "body"),
        (flight("B4", member_number="FB99990001", kind="teleportation"), "kind"),
    ]
    for body, _field in cases:
        response = post_activity(client, agent, body)
        assert response.status_code in (400, 404, 409, 422), (body, response.text)
    assert balance(client, agent, member, "MILES")["balance"] == 0


def test_bulk_ingest_applies_each_item_whole_or_not_at_all(client, agent, member):
    items = [
        flight("BK1", member_number="FB99990001"),
        flight("BK2", member_number="FB99990001", fare=-1),
        flight("BK3", member_number="FB99990001"),
    ]
    response = client.post(
        "/api/v1/loyalty/programmes/flying_blue/activities/bulk",
        json={"activities": items},
        headers=agent.headers,
    )
    assert response.status_code == 200
    assert [r["ok"] for r in response.json()] == [True, False, True]
    assert balance(client, agent, member, "MILES")["balance"] == 20_000


def test_bulk_ingest_reports_replays_conflicts_refunds_and_parked_items_by_index(
    client, agent, member
):
    refund = {"key": "BQ4", "kind": "refund", "on": TODAY.isoformat(), "reverses": "BQ1"}
    items = [
        flight("BQ1", member_number="FB99990001"),
        flight("BQ1", member_number="fb-9999-0001"),
        flight("BQ1", member_number="FB99990001", fare=1),
        flight("BQ2", member_number="FB00000000"),
        {**refund, "member_number": "FB99990001"},
        {**refund, "key": "BQ5", "member_number": "FB99990001"},
    ]
    response = client.post(
        "/api/v1/loyalty/programmes/flying_blue/activities/bulk",
        json={"activities": items},
        headers=agent.headers,
    )
    assert response.status_code == 200, response.text
    outcomes = [
        (r["index"], r["key"], (r["result"] or {}).get("status"), (r["error"] or {}).get("field"))
        for r in response.json()
    ]
    assert outcomes == [
        (0, "BQ1", "applied", None),
        (1, "BQ1", "applied", None),
        (2, "BQ1", None, "key"),
        (3, "BQ2", "parked", None),
        (4, "BQ4", "applied", None),
        (5, "BQ5", None, "reverses"),
    ]
    assert response.json()[1]["result"]["earnings"] == response.json()[0]["result"]["earnings"]
    assert balance(client, agent, member, "MILES")["balance"] == 0


def test_statement_and_explanation_in_both_languages(client, agent, member):
    post_activity(client, agent, flight("S1", member_number="FB99990001", cabin="first"))
    lines = client.get(
        f"/api/v1/loyalty/members/{member['id']}/statement", headers=agent.headers
    ).json()
    assert {
        (line["currency"], line["signed_amount"], line["rule_id"] is not None) for line in lines
    } >= {("XP", 60, True)}
    english = client.get(
        f"/api/v1/loyalty/members/{member['id']}/explanation", headers=agent.headers
    ).json()
    french = client.get(
        f"/api/v1/loyalty/members/{member['id']}/explanation",
        params={"lang": "fr"},
        headers=agent.headers,
    ).json()
    assert "60" in english["text"] and "XP" in english["text"]
    assert french["text"] != english["text"]


def test_a_tier_exception_needs_a_supervisor_and_a_justification(
    client, agent, admin, member, make_person, db
):
    url = f"/api/v1/loyalty/members/{member['id']}/tier-exception"
    body = {
        "tier": "gold",
        "justification": "Downgraded after a charter flight in a 15-year-old cabin",
    }
    assert client.post(url, json=body, headers=agent.headers).status_code == 403
    supervisor = make_person(Role.SUPERVISOR)
    assert (
        client.post(
            url, json={**body, "justification": "short"}, headers=supervisor.headers
        ).status_code
        == 422
    )
    granted = client.post(url, json=body, headers=supervisor.headers)
    assert granted.status_code == 200 and granted.json()["tier"] == "gold"
    timeline = client.get(
        f"/api/v1/customers/{member['customer_id']}/timeline", headers=agent.headers
    ).json()
    assert any(e["kind"] == "tier.upgraded" and "exception" in e["summary"] for e in timeline)

    def stored_reason() -> tuple[str, str]:  # the stored message, read in both languages
        with db.unit_of_work() as session:
            change = session.scalars(
                select(TierChange).where(
                    TierChange.member_id == member["id"], TierChange.source == "exception"
                )
            ).one()
            return render_message("en", change.message), render_message("fr", change.message)

    assert stored_reason() == (
        "Explorer → Gold by exception: " + body["justification"],
        "Explorer → Gold par dérogation : " + body["justification"],
    )
    erased = client.post(
        f"/api/v1/customers/{member['customer_id']}/erase",
        json={"reason": "art. 17 request"},
        headers=admin.headers,
    )
    assert erased.status_code == 200
    assert stored_reason() == (ERASED, ERASED)  # the justification may name a person


def test_erasure_reaches_the_membership_and_the_export_shows_it(client, agent, admin, member):
    post_activity(client, agent, flight("GDPR-1", member_number="FB99990001"))
    bundle = client.get(
        f"/api/v1/customers/{member['customer_id']}/export", headers=admin.headers
    ).json()
    assert bundle["loyalty"]["memberships"][0]["number"] == "FB99990001"
    erased = client.post(
        f"/api/v1/customers/{member['customer_id']}/erase",
        json={"reason": "art. 17 request"},
        headers=admin.headers,
    )
    assert erased.status_code == 200
    after = client.get(
        f"/api/v1/customers/{member['customer_id']}/export", headers=admin.headers
    ).json()
    assert "FB99990001" not in str(after)
    assert status(client, agent, member)["balances"]  # the books still add up


def test_a_cap_per_month_holds_across_activities_and_a_refund_frees_it(client, agent):
    """Carte Maison's organic bonus earns at most 2,000 points a calendar month."""
    customer = client.post(
        "/api/v1/customers", json=customer_payload(), headers=agent.headers
    ).json()
    first_of_month = TODAY.replace(day=1)
    month_before = (first_of_month - timedelta(days=1)).replace(day=1)
    client.post(
        "/api/v1/loyalty/members",
        json={
            "customer_id": customer["id"],
            "programme": "carte_maison",
            "on": (month_before - timedelta(days=30)).isoformat(),
        },
        headers=agent.headers,
    )

    def organic(key, on, **extra):
        response = client.post(
            "/api/v1/loyalty/programmes/carte_maison/activities",
            json={
                "key": key,
                "customer_id": customer["id"],
                "kind": "purchase",
                "on": on.isoformat(),
                "amounts": {"goods": 120_000},
                "attributes": {"category": "organic"},
                **extra,
            },
            headers=agent.headers,
        )
        assert response.status_code in (200, 201), response.text
        lines = response.json()["earnings"]
        return sum(e["amount"] for e in lines if e["rule_id"] == "points-organic")

    assert organic("o1", month_before) == 1200
    assert organic("o2", month_before + timedelta(days=1)) == 800  # 2,000 reached
    assert organic("o3", month_before + timedelta(days=2)) == 0
    assert organic("o4", first_of_month) == 1200  # a new month, a new cap
    client.post(
        "/api/v1/loyalty/programmes/carte_maison/activities",
        json={
            "key": "r1",
            "customer_id": customer["id"],
            "kind": "refund",
            "on": first_of_month.isoformat(),
            "reverses": "o1",
        },
        headers=agent.headers,
    )
    assert organic("o5", month_before + timedelta(days=3)) == 1200  # o1's bonus no longer counts
