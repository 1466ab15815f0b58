"""What a partner organisation sees and does, event kind by event kind (docs/partners.md),
on SQLite and PostgreSQL. The property over every route is in test_partner_isolation.py."""

from __future__ import annotations

import pytest

from egards.accounts.domain import Permission, Role
from tests.integration.builders import customer_payload


@pytest.fixture
def installer(make_organisation):
    return make_organisation("Fibre Installer")


@pytest.fixture
def partner(make_person, installer):
    return make_person(Role.PARTNER, organisation_id=installer)


def assigned_customer(client, admin, organisation: int, **fields) -> dict:
    created = client.post(
        "/api/v1/customers", json=customer_payload(**fields), headers=admin.headers
    )
    assert created.status_code == 201, created.text
    response = client.post(
        f"/api/v1/customers/{created.json()['id']}/organisations",
        json={"organisation_id": organisation, "purpose": "installation"},
        headers=admin.headers,
    )
    assert response.status_code == 204, response.text
    return created.json()


def kinds(client, person, customer_id: int) -> list[str]:
    response = client.get(f"/api/v1/customers/{customer_id}/timeline", headers=person.headers)
    assert response.status_code == 200, response.text
    return [event["kind"] for event in response.json()]


def test_a_partner_follows_its_cases_on_the_timeline_but_never_their_notes(
    client, admin, partner, installer
):
    customer = assigned_customer(client, admin, installer)
    opened = client.post(
        "/api/v1/cases",
        json={
            "channel": "phone",
            "customer_id": customer["id"],
            "subject": "Installation booked for Tuesday",
            "message": "Slot 9-12",
            "organisation_id": installer,
        },
        headers=admin.headers,
    ).json()["case"]
    client.post(
        f"/api/v1/cases/{opened['id']}/notes",
        json={"body": "INTERNAL-ONLY customer threatened to leave"},
        headers=admin.headers,
    )
    client.post(
        "/api/v1/cases",
        json={
            "channel": "phone",
            "customer_id": customer["id"],
            "subject": "Billing dispute",
            "message": "Charged twice",
        },
        headers=admin.headers,
    )
    seen = client.get(f"/api/v1/customers/{customer['id']}/timeline", headers=partner.headers)
    assert "INTERNAL-ONLY" not in seen.text and "Billing dispute" not in seen.text
    assert sorted(kinds(client, partner, customer["id"])) == [
        "case.acknowledged",
        "case.opened",
        "partner.assigned",
    ]
    assert {"case.note", "customer.created"} <= set(kinds(client, admin, customer["id"]))


def test_a_partner_reads_the_audit_records_of_what_its_organisation_did_only(
    client, admin, partner, installer
):
    customer = assigned_customer(client, admin, installer)
    client.post(
        "/api/v1/cases",
        json={
            "channel": "phone",
            "customer_id": customer["id"],
            "subject": "Escalated to retention",
            "message": "Wants to cancel",
        },
        headers=admin.headers,
    )
    added = client.post(
        f"/api/v1/customers/{customer['id']}/identities",
        json={"kind": "phone", "value": "+33 6 99 88 77 66"},
        headers=partner.headers,
    )
    assert added.status_code == 201, added.text
    trail = client.get(f"/api/v1/customers/{customer['id']}/audit", headers=partner.headers).json()
    assert {r["action"] for r in trail} == {"identity.add", "customer.assign_organisation"}
    assert all(r["shared_with_id"] == installer for r in trail)
    everything = client.get(f"/api/v1/customers/{customer['id']}/audit", headers=admin.headers)
    assert "case.open" in {r["action"] for r in everything.json()}


def test_an_identity_in_use_elsewhere_is_not_attributed_to_whom_cannot_see_its_owner(
    client, admin, agent, partner, installer
):
    victim = client.post(
        "/api/v1/customers",
        json=customer_payload(emails=["victim@example.org"]),
        headers=admin.headers,
    ).json()
    mine = assigned_customer(client, admin, installer)
    probe = {"kind": "email", "value": "victim@example.org"}
    url = f"/api/v1/customers/{mine['id']}/identities"
    refused = client.post(url, json=probe, headers=partner.headers)
    assert refused.status_code == 409
    problem = refused.json()
    assert "customer_id" not in problem and f"customer {victim['id']}" not in refused.text
    assert "already in use" in problem["detail"] and problem["errors"][0]["field"] == "value"
    told = client.post(url, json=probe, headers=agent.headers).json()
    assert told["customer_id"] == victim["id"]


def test_memberships_need_loyalty_read_not_only_the_customer(client, admin, agent, make_person):
    customer = client.post(
        "/api/v1/customers", json=customer_payload(), headers=admin.headers
    ).json()
    client.post(
        "/api/v1/loyalty/members",
        json={"customer_id": customer["id"], "programme": "flying_blue"},
        headers=admin.headers,
    )
    url = f"/api/v1/loyalty/customers/{customer['id']}/members"
    reader = make_person(Role.AGENT, scopes=[Permission.CUSTOMERS_READ])
    refused = client.get(url, headers=reader.headers)
    assert refused.status_code == 403 and refused.json()["permission"] == "loyalty:read"
    assert len(client.get(url, headers=agent.headers).json()) == 1


def test_a_partners_scanned_letter_belongs_to_its_organisation(client, admin, partner, installer):
    customer = assigned_customer(client, admin, installer)
    sent = client.post(
        "/api/v1/cases/letters",
        data={
            "subject": "Delivery note",
            "transcription": "Signed on site",
            "customer_id": str(customer["id"]),
        },
        files={"scan": ("note.pdf", b"%PDF-1.4 delivery note", "application/pdf")},
        headers=partner.headers,
    )
    assert sent.status_code == 201, sent.text
    case = sent.json()["case"]
    assert case["organisation_id"] == installer
    assert client.get(f"/api/v1/cases/{case['id']}", headers=partner.headers).status_code == 200
    assert "case.opened" in kinds(client, partner, customer["id"])


def test_a_note_is_shared_only_with_an_organisation_assigned_to_the_customer(
    client, admin, partner, installer, make_organisation, make_person
):
    other = make_organisation("Other Installer")
    other_partner = make_person(Role.PARTNER, organisation_id=other)
    customer = assigned_customer(client, admin, installer)
    notes = f"/api/v1/customers/{customer['id']}/notes"
    not_assigned = client.post(
        notes, json={"body": "x", "shared_with_id": other}, headers=admin.headers
    )
    assert not_assigned.status_code == 422
    assert not_assigned.json()["errors"][0]["field"] == "shared_with_id"
    elsewhere = client.post(
        notes, json={"body": "x", "shared_with_id": other}, headers=partner.headers
    )
    assert elsewhere.status_code == 403
    assert elsewhere.json()["errors"][0]["field"] == "shared_with_id"

    client.post(notes, json={"body": "Internal: VIP"}, headers=admin.headers)
    client.post(
        notes, json={"body": "Gate code 1234", "shared_with_id": installer}, headers=admin.headers
    )
    own = client.post(notes, json={"body": "Fibre socket in the garage"}, headers=partner.headers)
    assert own.json()["shared_with_id"] == installer
    read = client.get(notes, headers=partner.headers).json()
    assert sorted(n["body"] for n in read) == ["Fibre socket in the garage", "Gate code 1234"]
    assert len(client.get(notes, headers=admin.headers).json()) == 3
    assert client.get(notes, headers=other_partner.headers).status_code == 404


def test_an_event_shared_with_the_installer_reaches_it(client, admin, partner, installer):
    customer = assigned_customer(client, admin, installer)
    event = {
        "kind": "installation.booked",
        "channel": "phone",
        "silo": "partner",
        "summary": "Installation booked for Tuesday 9-12",
    }
    timeline = f"/api/v1/customers/{customer['id']}/timeline"
    client.post(timeline, json={**event, "shared_with_id": installer}, headers=admin.headers)
    client.post(timeline, json={**event, "summary": "Retention offer made"}, headers=admin.headers)
    summaries = [e["summary"] for e in client.get(timeline, headers=partner.headers).json()]
    assert "Installation booked for Tuesday 9-12" in summaries
    assert "Retention offer made" not in summaries


def test_the_merge_history_is_internal(client, admin, partner, installer):
    customer = assigned_customer(client, admin, installer)
    refused = client.get(f"/api/v1/customers/{customer['id']}/merges", headers=partner.headers)
    assert refused.status_code == 403
