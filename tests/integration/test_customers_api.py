"""The customer file through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from egards.accounts.domain import Permission, Role
from tests.integration.builders import customer_payload


def create(client, person, **overrides):
    response = client.post(
        "/api/v1/customers", json=customer_payload(**overrides), headers=person.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_created_customer_has_normalised_identities(client, agent):
    body = create(
        client,
        agent,
        phones=["06 12 34 56 78"],
        emails=["Helene.X@Example.FR"],
        loyalty_number="fb-1234-5678",
    )
    identities = {i["kind"]: i["value"] for i in body["identities"]}
    assert identities == {
        "email": "helene.x@example.fr",
        "phone": "+33612345678",
        "loyalty_number": "FB12345678",
    }
    fetched = client.get(f"/api/v1/customers/{body['id']}", headers=agent.headers).json()
    assert fetched["first_name"] == "Hélène"


def test_search_finds_by_phone_typed_differently(client, agent):
    body = create(client, agent, phones=["+33 6 98 76 54 32"])
    for typed in ("0698765432", "06.98.76.54.32", "+33 (0)6 98 76 54 32", "+33698765432"):
        found = client.get("/api/v1/customers", params={"q": typed}, headers=agent.headers).json()
        assert [c["id"] for c in found["items"]] == [body["id"]], typed


def test_search_ignores_accents_and_case_on_either_name(client, agent):
    body = create(client, agent, first_name="Hélène", last_name="Lefèvre-Zébulon")
    for typed in ("helene lef", "HÉLÈNE", "lefevre-z", "Lefèvre-Zébulon Hél"):
        found = client.get(
            "/api/v1/customers", params={"q": typed, "limit": 200}, headers=agent.headers
        ).json()
        assert body["id"] in [c["id"] for c in found["items"]], typed


def test_search_by_email_loyalty_number_and_handle(client, agent):
    body = create(
        client,
        agent,
        emails=["zoe.marchand@example.fr"],
        loyalty_number="FB00001234",
        social=[{"network": "x", "handle": "@ZoeM"}],
    )
    for typed in ("Zoe.Marchand@example.fr", "fb00001234", "@zoem"):
        found = client.get("/api/v1/customers", params={"q": typed}, headers=agent.headers).json()
        assert [c["id"] for c in found["items"]] == [body["id"]], typed


def test_search_pages_say_whether_more_follow(client, agent):
    for _ in range(3):
        create(client, agent, last_name="Pagination")
    first = client.get(
        "/api/v1/customers", params={"q": "paginat", "limit": 2}, headers=agent.headers
    ).json()
    second = client.get(
        "/api/v1/customers", params={"q": "paginat", "limit": 2, "offset": 2}, headers=agent.headers
    ).json()
    assert (len(first["items"]), first["has_more"]) == (2, True)
    assert (len(second["items"]), second["has_more"]) == (1, False)


def test_an_identity_belongs_to_one_customer_and_nothing_is_half_written(client, agent):
    first = create(client, agent, emails=["shared@example.fr"])
    response = client.post(
        "/api/v1/customers",
        json=customer_payload(last_name="Nobody", emails=["other@example.fr", "SHARED@example.fr"]),
        headers=agent.headers,
    )
    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["customer_id"] == first["id"]
    assert "shared@example.fr" in problem["detail"]
    assert (
        client.get(
            "/api/v1/customers", params={"q": "other@example.fr"}, headers=agent.headers
        ).json()["items"]
        == []
    )
    assert (
        client.get("/api/v1/customers", params={"q": "nobody"}, headers=agent.headers).json()[
            "items"
        ]
        == []
    )


def test_bad_input_is_named_field_by_field(client, agent):
    cases = [
        ({"first_name": "A"}, "last_name"),
        (customer_payload(unknown="x"), "unknown"),
        (customer_payload(phones=["12"]), "phones[0]"),
        (customer_payload(emails=["not-an-email"]), "emails[0]"),
        (customer_payload(birth_date="2999-01-01"), "birth_date"),
        (customer_payload(first_name=42), "first_name"),
        (customer_payload(country="France"), "country"),
    ]
    for payload, field in cases:
        response = client.post("/api/v1/customers", json=payload, headers=agent.headers)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.json())


def test_malformed_json_and_oversize_bodies_get_problem_details(client, agent):
    headers = {**agent.headers, "content-type": "application/json"}
    malformed = client.post("/api/v1/customers", content=b'{"first_name": ', headers=headers)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "body"
    huge = client.post("/api/v1/customers", content=b"[" + b"1," * 600_000 + b"1]", headers=headers)
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"


def test_update_is_audited_with_before_and_after(client, agent):
    body = create(client, agent, city="Lyon")
    response = client.patch(
        f"/api/v1/customers/{body['id']}", json={"city": "Nantes"}, headers=agent.headers
    )
    assert response.status_code == 200 and response.json()["city"] == "Nantes"
    trail = client.get(f"/api/v1/customers/{body['id']}/audit", headers=agent.headers).json()
    update = next(r for r in trail if r["action"] == "customer.update")
    assert update["before"] == {"city": "Lyon"} and update["after"] == {"city": "Nantes"}
    assert update["actor_label"] == "Agent Tester"


def test_consent_withdrawal_is_recorded_not_deleted(client, agent):
    body = create(client, agent)
    url = f"/api/v1/customers/{body['id']}/consents"
    grant = {
        "purpose": "marketing",
        "channel": "email",
        "granted": True,
        "source": "web form",
        "proof": "ip 1.2.3.4",
    }
    assert client.post(url, json=grant, headers=agent.headers).status_code == 201
    assert (
        client.post(
            url,
            json={**grant, "granted": False, "source": "unsubscribe link"},
            headers=agent.headers,
        ).status_code
        == 201
    )
    history = client.get(url, headers=agent.headers).json()
    assert [c["granted"] for c in history] == [False, True]


def test_timeline_gathers_every_silo_and_partner_writes(
    client, agent, make_person, make_organisation, admin
):
    body = create(client, agent)
    org = make_organisation()
    partner = make_person(Role.PARTNER, organisation_id=org)
    assigned = client.post(
        f"/api/v1/customers/{body['id']}/organisations",
        json={"organisation_id": org, "purpose": "fibre installation"},
        headers=admin.headers,
    )
    assert assigned.status_code == 204
    event = {
        "kind": "installation.done",
        "channel": "partner",
        "silo": "partner",
        "summary": "Fibre socket installed",
        "occurred_at": "2026-03-01T10:00:00+01:00",
    }
    assert (
        client.post(
            f"/api/v1/customers/{body['id']}/timeline", json=event, headers=partner.headers
        ).status_code
        == 201
    )
    note = client.post(
        f"/api/v1/customers/{body['id']}/notes", json={"body": "Called back"}, headers=agent.headers
    )
    assert note.status_code == 201
    timeline = client.get(f"/api/v1/customers/{body['id']}/timeline", headers=agent.headers).json()
    silos = {e["silo"] for e in timeline}
    assert {"partner", "support"} <= silos
    assert any(
        e["summary"] == "Fibre socket installed" and e["actor_label"] == "Partner Tester"
        for e in timeline
    )
    naive = {**event, "occurred_at": "2026-03-01T10:00:00"}
    assert (
        client.post(
            f"/api/v1/customers/{body['id']}/timeline", json=naive, headers=agent.headers
        ).status_code
        == 422
    )


def test_a_partner_sees_only_customers_of_its_organisation(
    client, agent, admin, make_person, make_organisation
):
    mine, theirs = (
        create(client, agent, last_name="Assigned"),
        create(client, agent, last_name="Assigned"),
    )
    org, other = make_organisation("Ours"), make_organisation("Theirs")
    client.post(
        f"/api/v1/customers/{mine['id']}/organisations",
        json={"organisation_id": org},
        headers=admin.headers,
    )
    client.post(
        f"/api/v1/customers/{theirs['id']}/organisations",
        json={"organisation_id": other},
        headers=admin.headers,
    )
    partner = make_person(Role.PARTNER, organisation_id=org)
    found = client.get(
        "/api/v1/customers", params={"q": "assigned"}, headers=partner.headers
    ).json()
    assert [c["id"] for c in found["items"]] == [mine["id"]]
    assert (
        client.get(f"/api/v1/customers/{theirs['id']}", headers=partner.headers).status_code == 404
    )
    assert (
        client.get(
            f"/api/v1/customers/{theirs['id']}/timeline", headers=partner.headers
        ).status_code
        == 404
    )
    assert client.post(
        "/api/v1/customers", json=customer_payload(), headers=partner.headers
    ).status_code in (403, 422)
    assert client.get("/api/v1/audit", headers=partner.headers).status_code == 403


def test_roles_and_token_scopes_are_enforced(client, agent, make_person):
    reader = make_person(Role.AGENT, scopes=[Permission.CUSTOMERS_READ])
    analyst = make_person(Role.ANALYST)
    assert client.get("/api/v1/customers", headers=reader.headers).status_code == 200
    assert (
        client.post(
            "/api/v1/customers", json=customer_payload(), headers=reader.headers
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/customers", json=customer_payload(), headers=analyst.headers
        ).status_code
        == 403
    )
    assert client.get("/api/v1/audit", headers=agent.headers).status_code == 403
    assert client.get("/api/v1/customers").status_code == 401
    assert (
        client.get("/api/v1/customers", headers={"Authorization": "Bearer egd_wrong"}).status_code
        == 401
    )
    escalate = client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["users:manage"]}, headers=agent.headers
    )
    assert escalate.status_code == 403


def test_a_revoked_token_stops_working(client, agent):
    created = client.post(
        "/api/v1/tokens",
        json={"name": "script", "scopes": ["customers:read"]},
        headers=agent.headers,
    ).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    assert (
        client.post(f"/api/v1/tokens/{created['id']}/revoke", headers=agent.headers).status_code
        == 200
    )
    assert client.get("/api/v1/customers", headers=headers).status_code == 401


def test_merge_moves_everything_and_unmerge_restores_it(client, agent):
    survivor = create(client, agent, last_name="Survivor")
    duplicate = create(client, agent, last_name="Duplicate")
    client.post(
        f"/api/v1/customers/{duplicate['id']}/notes",
        json={"body": "on the duplicate"},
        headers=agent.headers,
    )
    merge = client.post(
        "/api/v1/customer-merges",
        json={"survivor_id": survivor["id"], "merged_id": duplicate["id"], "reason": "same person"},
        headers=agent.headers,
    )
    assert merge.status_code == 201, merge.text
    merged_survivor = client.get(
        f"/api/v1/customers/{survivor['id']}", headers=agent.headers
    ).json()
    assert len(merged_survivor["identities"]) == 4
    assert (
        client.get(f"/api/v1/customers/{duplicate['id']}", headers=agent.headers).json()["status"]
        == "merged"
    )
    notes = client.get(f"/api/v1/customers/{survivor['id']}/notes", headers=agent.headers).json()
    assert [n["body"] for n in notes] == ["on the duplicate"]
    undone = client.post(
        f"/api/v1/customer-merges/{merge.json()['id']}/unmerge", headers=agent.headers
    )
    assert undone.status_code == 200
    restored = client.get(f"/api/v1/customers/{duplicate['id']}", headers=agent.headers).json()
    assert restored["status"] == "active"
    assert {i["value"] for i in restored["identities"]} == {
        i["value"] for i in duplicate["identities"]
    }
    again = client.post(
        f"/api/v1/customer-merges/{merge.json()['id']}/unmerge", headers=agent.headers
    )
    assert again.status_code == 409


def test_a_customer_cannot_be_merged_into_itself(client, agent):
    body = create(client, agent)
    response = client.post(
        "/api/v1/customer-merges",
        json={"survivor_id": body["id"], "merged_id": body["id"]},
        headers=agent.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "merged_id"


def test_gdpr_export_then_erasure(client, agent, admin):
    body = create(client, agent, emails=["erase.me@example.fr"])
    client.post(
        f"/api/v1/customers/{body['id']}/notes",
        json={"body": "Prefers calls after 6pm"},
        headers=agent.headers,
    )
    assert (
        client.get(f"/api/v1/customers/{body['id']}/export", headers=agent.headers).status_code
        == 403
    )
    bundle = client.get(f"/api/v1/customers/{body['id']}/export", headers=admin.headers).json()
    assert bundle["customer"]["first_name"] == "Hélène"
    assert {i["value"] for i in bundle["identities"]} >= {"erase.me@example.fr"}
    assert [n["body"] for n in bundle["notes"]] == ["Prefers calls after 6pm"]
    assert bundle["timeline"] and bundle["audit"]
    erased = client.post(
        f"/api/v1/customers/{body['id']}/erase",
        json={"reason": "customer request by letter"},
        headers=admin.headers,
    )
    assert erased.status_code == 200
    assert erased.json()["first_name"] == "[erased]" and erased.json()["identities"] == []
    assert (
        client.get(
            "/api/v1/customers", params={"q": "erase.me@example.fr"}, headers=agent.headers
        ).json()["items"]
        == []
    )
    after = client.get(f"/api/v1/customers/{body['id']}/export", headers=admin.headers).json()
    dump = str(after)
    assert "Hélène" not in dump and "erase.me" not in dump and "6pm" not in dump
    assert any(r["action"] == "customer.erase" and r["reason"] for r in after["audit"])
    again = client.post(
        f"/api/v1/customers/{body['id']}/erase", json={"reason": "twice"}, headers=admin.headers
    )
    assert again.status_code == 409


def test_the_global_audit_trail_is_for_admins(client, admin, agent):
    create(client, agent)
    trail = client.get("/api/v1/audit", params={"action": "customer.create"}, headers=admin.headers)
    assert trail.status_code == 200 and trail.json()[0]["action"] == "customer.create"


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_openapi_declares_problem_details(client):
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/api/v1/customers"]["post"]["responses"]
    assert "application/problem+json" in responses["409"]["content"]


def test_healthz_answers_503_when_the_database_is_unreachable(settings):
    from fastapi.testclient import TestClient

    from egards.app import create_app
    from egards.db import Database, make_engine

    unreachable = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    with TestClient(create_app(settings, unreachable)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
