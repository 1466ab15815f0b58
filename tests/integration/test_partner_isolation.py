"""Partner isolation as a property of the whole API, on SQLite and PostgreSQL.

Two partner organisations, A and B, with customers. A secret (a unique marker) is planted in
every internal field the API can reach: notes, case subjects of other silos, status reasons,
gesture reasons, redemption memos, exception justifications, merge and erasure reasons, and the
names of customers that are not A's. Then partner A's token walks every GET operation of the
OpenAPI document, path parameters filled with A's objects and with everyone else's: no answer
ever carries a secret, and every object that is not A's answers 403 or 404 with a problem
document. The walk is read from ``app.openapi()``: a route added later is walked without
editing this test, and a path parameter nobody knows how to fill fails it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from egards.accounts.domain import SYSTEM, Permission, Role
from egards.analytics import service as analytics
from egards.ideas import service as ideas
from egards.social import service as social
from tests.integration.builders import customer_payload

MARK = "ZQXSECRET"


def secret(label: str) -> str:
    return f"{MARK}-{label}-{uuid4().hex[:8]}"


@dataclass
class World:
    """What partner A may reach (``own``) and what it must not (``foreign``), per path
    parameter name; and every secret planted."""

    own: dict[str, list[Any]] = field(default_factory=dict)
    foreign: dict[str, list[Any]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    def plant(self, label: str) -> str:
        value = secret(label)
        self.secrets.append(value)
        return value


def _ok(response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def world(client, db, admin, make_person, make_organisation) -> tuple[World, Any]:
    """Organisations A and B, their customers and cases, and secrets everywhere."""
    w = World()
    h = admin.headers
    org_a, org_b = make_organisation("Installer A"), make_organisation("Installer B")
    partner_a = make_person(Role.PARTNER, organisation_id=org_a)
    partner_b = make_person(Role.PARTNER, organisation_id=org_b)

    def customer(org: int | None, **fields: Any) -> dict[str, Any]:
        created = _ok(client.post("/api/v1/customers", json=customer_payload(**fields), headers=h))
        if org:
            assigned = client.post(
                f"/api/v1/customers/{created['id']}/organisations",
                json={"organisation_id": org, "purpose": "fibre installation"},
                headers=h,
            )
            assert assigned.status_code == 204, assigned.text
        return created

    a = customer(org_a, first_name="Alice")
    b = customer(org_b, first_name=w.plant("name-of-b"), last_name=w.plant("surname-of-b"))
    u = customer(None, first_name=w.plant("name-of-unassigned"))
    duplicate = customer(None, first_name=w.plant("name-of-duplicate"))
    _ok(
        client.post(
            "/api/v1/customer-merges",
            json={
                "survivor_id": a["id"],
                "merged_id": duplicate["id"],
                "reason": w.plant("merge-reason"),
            },
            headers=h,
        )
    )
    erased = customer(org_a)
    _ok(
        client.post(
            f"/api/v1/customers/{erased['id']}/erase",
            json={"reason": w.plant("erasure-reason")},
            headers=h,
        ),
        200,
    )
    for who in (a, b):
        _ok(
            client.post(
                f"/api/v1/customers/{who['id']}/notes",
                json={"body": w.plant("customer-note")},
                headers=h,
            )
        )
    _ok(  # shared with A on purpose: A reads it, B never does
        client.post(
            f"/api/v1/customers/{a['id']}/notes",
            json={"body": "Gate code 1234", "shared_with_id": org_a},
            headers=h,
        )
    )
    _ok(
        client.post(
            f"/api/v1/customers/{a['id']}/timeline",
            json={
                "kind": "support.call",
                "channel": "phone",
                "silo": "support",
                "summary": w.plant("support-call"),
            },
            headers=h,
        )
    )

    def case(customer_id: int, subject: str, org: int | None = None) -> dict[str, Any]:
        body = {
            "channel": "phone",
            "customer_id": customer_id,
            "subject": subject,
            "message": "Please call me back",
            "organisation_id": org,
        }
        return _ok(client.post("/api/v1/cases", json=body, headers=h))["case"]

    silo_case = case(a["id"], w.plant("other-silo-subject"))  # A's customer, not A's case
    a_case = case(a["id"], "Installation on Tuesday", org_a)
    b_case = case(b["id"], w.plant("subject-of-b"), org_b)
    for each in (silo_case, a_case, b_case):
        _ok(
            client.post(
                f"/api/v1/cases/{each['id']}/notes",
                json={"body": w.plant("case-note")},
                headers=h,
            )
        )
    _ok(
        client.post(
            f"/api/v1/cases/{silo_case['id']}/status",
            json={"status": "closed", "reason": w.plant("closure-reason")},
            headers=h,
        ),
        200,
    )

    def letter(partner, customer_id: int, subject: str) -> tuple[int, int]:
        opened = _ok(
            client.post(
                "/api/v1/cases/letters",
                data={
                    "subject": subject,
                    "transcription": "Dear installer",
                    "customer_id": str(customer_id),
                },
                files={"scan": ("scan.pdf", b"%PDF-1.4 scanned letter", "application/pdf")},
                headers=partner.headers,
            )
        )["case"]
        messages = client.get(f"/api/v1/cases/{opened['id']}/messages", headers=h).json()
        return opened["id"], messages[0]["attachments"][0]["id"]

    a_letter, a_scan = letter(partner_a, a["id"], "Scanned delivery note")
    b_letter, b_scan = letter(partner_b, b["id"], w.plant("letter-of-b"))

    members = {}
    for who in (a, b):
        members[who["id"]] = _ok(
            client.post(
                "/api/v1/loyalty/members",
                json={"customer_id": who["id"], "programme": "flying_blue"},
                headers=h,
            )
        )["id"]
    grants, letters = {}, {}
    for who, each_case in ((a, silo_case), (b, b_case)):
        grants[who["id"]] = _ok(
            client.post(
                "/api/v1/recovery/grants",
                json={
                    "customer_id": who["id"],
                    "case_id": each_case["id"],
                    "gesture_code": "miles-2000",
                    "reason_code": "broken_promise",
                    "reason_text": w.plant("gesture-reason"),
                },
                headers=h,
            )
        )["id"]
        letters[who["id"]] = _ok(
            client.post(
                "/api/v1/recovery/grants",
                json={
                    "customer_id": who["id"],
                    "case_id": each_case["id"],
                    "gesture_code": "letter",
                    "reason_code": "broken_promise",
                    "reason_text": w.plant("letter-reason"),
                    "letter": {
                        "template_code": "apology-delay",
                        "subject": w.plant("letter-subject"),
                        "body": w.plant("letter-body"),
                        "delivery": "post",
                    },
                },
                headers=h,
            )
        )["details"]["letter_id"]
    member_a = members[a["id"]]
    _ok(
        client.post(
            f"/api/v1/loyalty/members/{member_a}/redemptions",
            json={"key": "r-1", "currency": "MILES", "amount": 1000, "memo": w.plant("memo")},
            headers=h,
        )
    )
    _ok(
        client.post(
            f"/api/v1/loyalty/members/{member_a}/tier-exception",
            json={"tier": "gold", "justification": w.plant("tier-justification")},
            headers=h,
        ),
        200,
    )
    _ok(
        client.post(
            "/api/v1/recovery/exceptions",
            json={
                "case_id": silo_case["id"],
                "rule": "tier requalification",
                "why": w.plant("exception-why"),
                "remedy": w.plant("exception-remedy"),
            },
            headers=h,
        )
    )
    event = _ok(
        client.post(
            "/api/v1/recovery/events",
            json={
                "name": w.plant("event"),
                "place": "Hangar 3",
                "starts_at": (datetime.now(UTC) + timedelta(days=20)).isoformat(),
                "capacity": 10,
            },
            headers=h,
        )
    )
    with db.unit_of_work() as session:
        run = analytics.queue_run(session, actor=SYSTEM).id
    contracts, cancellations = {}, []
    for n, who in enumerate((a, b)):
        contracts[who["id"]] = _ok(
            client.post(
                "/api/v1/subscriptions",
                json={
                    "customer_id": who["id"],
                    "reference": f"ISO-{n}",
                    "offer": "Fibre",
                    "start_date": "2025-01-01",
                    "price_cents": 2999,
                    "plan": w.plant("plan") if who is b else None,
                },
                headers=h,
            )
        )["id"]
        cancellations.append(
            _ok(
                client.post(
                    "/api/v1/cancellations",
                    json={
                        "name": who["last_name"],
                        "reference": f"ISO-{n}",
                        "channel": "phone",
                        "reason_text": w.plant("cancellation-reason"),
                    },
                    headers=h,
                )
            )["id"]
        )

    with db.unit_of_work() as session:
        profiles = {}
        for owner, handle in ((a, "alice_a"), (b, "b_secret"), (u, "u_secret"), (None, "nobody")):
            profile = social.upsert_profile(
                session,
                network="x",
                handle=handle,
                display_name=w.plant(f"profile-{handle.replace('_', '')}"),
                bio=w.plant(f"bio-{handle.replace('_', '')}"),
                followers=100,
                now=datetime.now(UTC),
            )
            if owner is not None:
                social.link_profile(
                    session,
                    actor=SYSTEM,
                    profile_id=profile.id,
                    customer_id=owner["id"],
                    now=datetime.now(UTC),
                )
            profiles[handle] = profile.id
        # The idea box is internal: a partner reads no idea, not even one of A's customer.
        idea_ids = [
            ideas.propose(
                session,
                customer_id=owner["id"],
                title=w.plant(f"idea-{label}"),
                body=w.plant(f"ideabody-{label}"),
                category="app",
                language="en",
                now=datetime.now(UTC),
            ).id
            for owner, label in ((a, "a"), (b, "b"))
        ]
        comment_ids = [
            ideas.add_comment(
                session,
                customer_id=owner["id"],
                idea_id=idea_id,
                body=w.plant(f"ideacomment-{label}"),
                now=datetime.now(UTC),
            ).id
            for owner, label, idea_id in ((a, "a", idea_ids[0]), (b, "b", idea_ids[1]))
        ]

    w.own = {
        "customer_id": [a["id"]],
        "case_id": [a_case["id"], a_letter],
        "attachment_id": [a_scan],
        "member_id": [member_a],
        "grant_id": [grants[a["id"]]],
        "letter_id": [letters[a["id"]]],
        "subscription_id": [contracts[a["id"]]],
        "profile_id": [profiles["alice_a"]],
    }
    w.foreign = {
        "customer_id": [b["id"], u["id"], duplicate["id"]],
        "case_id": [silo_case["id"], b_case["id"], b_letter],
        "attachment_id": [b_scan],
        "member_id": [members[b["id"]]],
        "grant_id": [grants[b["id"]]],
        "letter_id": [letters[b["id"]]],
        "run_id": [run],
        "event_id": [event["id"]],
        "subscription_id": [contracts[b["id"]]],
        "request_id": cancellations,  # a partner reads no cancellation request
        "profile_id": [profiles["b_secret"], profiles["u_secret"], profiles["nobody"]],
        "idea_id": idea_ids,
        "comment_id": comment_ids,
    }
    return w, partner_a


QUERY_VALUES = {"month": date.today().strftime("%Y-%m"), "network": "x", "handle": "b_secret"}


def get_operations(app) -> list[tuple[str, list[str], list[str]]]:
    """Every GET of the OpenAPI document: its path, its path parameters and the query
    parameters it requires."""
    operations = []
    for path, methods in app.openapi()["paths"].items():
        if "get" not in methods:
            continue
        parameters = methods["get"].get("parameters", [])
        operations.append(
            (
                path,
                [p["name"] for p in parameters if p["in"] == "path"],
                [p["name"] for p in parameters if p["in"] == "query" and p.get("required")],
            )
        )
    return operations


def walk(client, app, world: World, headers: dict[str, str], only: str | None = None):
    """(url, response, foreign) for every GET operation (or ``only`` one) and every filling
    of its path parameters."""
    for path, names, required in get_operations(app):
        if only is not None and path != only:
            continue
        unknown = [n for n in names if n not in world.own and n not in world.foreign]
        assert not unknown, f"{path}: no value for {unknown}; add this object to the world"
        missing = [n for n in required if n not in QUERY_VALUES]
        assert not missing, f"{path}: no value for the query parameter {missing}"
        query = {n: QUERY_VALUES[n] for n in required}
        choices = [
            [(v, False) for v in world.own.get(n, [])] + [(v, True) for v in world.foreign[n]]
            if n in world.foreign
            else [(v, False) for v in world.own[n]]
            for n in names
        ]
        for filling in itertools.product(*choices):
            url = path
            for name, (value, _) in zip(names, filling, strict=True):
                url = url.replace("{" + name + "}", str(value))
            response = client.get(url, params=query, headers=headers)
            yield url, response, any(foreign for _, foreign in filling)


def test_a_partner_never_reads_internal_data_nor_another_organisations(client, app, world, admin):
    w, partner = world
    found = re.compile(re.escape(MARK) + r"-[a-z-]+-[0-9a-f]{8}")
    leaks, open_doors, answered = [], [], set()
    for url, response, foreign in walk(client, app, w, partner.headers):
        body = response.content.decode("utf-8", errors="replace")
        leaks += [(url, m) for m in found.findall(body)]
        assert response.status_code < 500, (url, response.text)
        # A refusal carries no data: a problem document (or the console's error page).
        kind = response.headers["content-type"].split(";")[0]
        if foreign and (
            response.status_code not in (403, 404)
            or kind not in ("application/problem+json", "text/html")
        ):
            open_doors.append((url, response.status_code))
        if response.status_code == 200:
            answered.add(url)
    assert not leaks, leaks
    assert not open_doors, open_doors
    # The walk reached A's own things: the test looks where the secrets could leak.
    for url in (
        f"/api/v1/customers/{w.own['customer_id'][0]}/timeline",
        f"/api/v1/customers/{w.own['customer_id'][0]}/audit",
        f"/api/v1/customers/{w.own['customer_id'][0]}/notes",
        f"/api/v1/cases/{w.own['case_id'][0]}/messages",
        f"/api/v1/cases/{w.own['case_id'][1]}/attachments/{w.own['attachment_id'][0]}",
    ):
        assert url in answered, url
    # And the secrets are there to be found: the company reads every one of them.
    reached: set[str] = set()
    for _, response, _ in walk(client, app, w, admin.headers):
        reached.update(found.findall(response.content.decode("utf-8", errors="replace")))
    assert set(w.secrets) - reached == set()


# A customer's own trail goes with the file (customers:read); the global trail needs audit:read.
READ_WITH_THE_FILE = {"/api/v1/customers/{customer_id}/audit"}


def test_a_token_reads_a_feature_only_with_that_features_permission(
    client, app, world, make_person
):
    """Seeing a customer is not reading its loyalty, cases, scores or gestures: a token
    scoped to customers:read is refused every operation of a feature whose permissions it
    lacks (the feature is the operation's tag; its permissions are named after it)."""
    w, _ = world
    reader = make_person(Role.ADMIN, scopes=[Permission.CUSTOMERS_READ])
    tags = {
        path: set(methods["get"].get("tags", []))
        for path, methods in app.openapi()["paths"].items()
        if "get" in methods
    }
    features = {p.value.split(":")[0] for p in Permission}
    wrongly_answered = []
    for path, *_ in get_operations(app):
        guarded = (tags[path] & features) - {"customers"}
        if not guarded or path in READ_WITH_THE_FILE:
            continue
        for url, response, _ in walk(client, app, w, reader.headers, only=path):
            if response.status_code != 403:
                wrongly_answered.append((url, response.status_code))
    assert not wrongly_answered, wrongly_answered
