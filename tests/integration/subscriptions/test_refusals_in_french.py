"""Refusals through the API in the request's language (issue 14), on SQLite and PostgreSQL: a
status reads as a word ("en préavis", not ``notice_given``) while the problem's data keeps the
code, and numbers are written by Babel ("10 001", not "10001")."""

from __future__ import annotations

import pytest

from tests.integration.builders import customer_payload

FRENCH = {"Accept-Language": "fr"}


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_contract_under_notice_is_refused_a_suspension_in_words(client, agent):
    customer = client.post(
        "/api/v1/customers",
        json=customer_payload(first_name="Jean", last_name="Biosse"),
        headers=agent.headers,
    ).json()
    contract = client.post(
        "/api/v1/subscriptions",
        json={
            "customer_id": customer["id"],
            "reference": "FX-300400",
            "offer": "Fibre Max",
            "start_date": "2025-06-01",
            "notice_days": 10,
            "price_cents": 3999,
            "sold_channel": "shop",
            "sold_silo": "shop",
        },
        headers=agent.headers,
    )
    assert contract.status_code == 201, contract.text
    cancelled = client.post(
        "/api/v1/cancellations",
        json={"name": "Biosse", "reference": "FX300400", "channel": "phone"},
        headers=agent.headers,
    )
    assert cancelled.json()["status"] == "registered", cancelled.text
    url = f"/api/v1/subscriptions/{contract.json()['id']}/suspension"
    french = client.post(
        url, json={"resumes_on": "2027-01-02"}, headers={**agent.headers, **FRENCH}
    )
    assert french.status_code == 409
    assert french.json()["detail"] == "un contrat en préavis ne peut pas être suspendu"
    assert french.json()["status"] == 409 and french.headers["content-language"] == "fr"
    english = client.post(url, json={"resumes_on": "2027-01-02"}, headers=agent.headers)
    assert english.json()["detail"] == "a contract under notice cannot be suspended"


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_redemption_beyond_the_balance_is_refused_with_french_numbers(client, agent):
    customer = client.post(
        "/api/v1/customers",
        json=customer_payload(loyalty_number="FB99990002"),
        headers=agent.headers,
    ).json()
    member = client.post(
        "/api/v1/loyalty/members",
        json={"customer_id": customer["id"], "programme": "flying_blue", "on": "2026-06-01"},
        headers=agent.headers,
    )
    assert member.status_code == 201, member.text
    url = f"/api/v1/loyalty/members/{member.json()['id']}/redemptions"
    body = {"key": "r1", "currency": "MILES", "amount": 10_001}
    french = client.post(url, json=body, headers={**agent.headers, **FRENCH})
    assert french.status_code in (409, 422), french.text
    assert french.json()["detail"] == "10\u202f001 MILES demandés, 0 disponible"  # 0: singular
    assert french.json()["amount"] == 10_001  # the data keeps the number
    english = client.post(url, json=body, headers=agent.headers)
    assert english.json()["detail"] == "10,001 MILES requested, 0 available"
