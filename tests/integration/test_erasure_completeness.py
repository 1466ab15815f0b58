"""GDPR erasure is complete: after ``POST /customers/{id}/erase``, no column of any table, in
any encoding (JSON, base64, MIME, compressed PDF streams), holds a value the person gave us
or we wrote about them, including on the duplicate files merged into theirs; the loyalty
books still balance; and the erasure itself is on record.

Markers are planted through the real entry points (API, SMTP receiver, public web form,
recovery and loyalty APIs), then every column of every table reflected from the database is
read back, so a table added later is covered without editing this test.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email
import json
import re
import secrets
import smtplib
import socket
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import MetaData, func, select

from egards.accounts.domain import Role
from egards.cases.mail import start_smtp_receiver
from egards.cases.service import config_from_settings
from egards.loyalty import service as loyalty
from egards.loyalty.models import Balance, Entry, Member
from egards.outbox.service import MemoryMailer, deliver_due
from tests.conftest import csrf_from
from tests.integration.builders import customer_payload

TODAY = date.today()
MAIL_FROM = "service@egards.test"


class Markers:
    """Unique, lower-case values, one per personal field; ``hits`` finds any of them."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(4)
        self.texts: dict[str, str] = {}
        self.dates: dict[str, date] = {}

    def __call__(self, field: str) -> str:
        value = f"zq{field.replace('_', '')}{self.token}"
        self.texts[field] = value
        return value

    def phone(self, field: str) -> str:
        digits = f"612{secrets.randbelow(10**6):06d}"  # a valid French mobile range
        self.texts[field] = f"33{digits}"
        return f"+33{digits}"

    def day(self, field: str) -> str:
        value = date(1901 + secrets.randbelow(90), 1 + secrets.randbelow(12), 13)
        self.dates[field] = value
        self.texts[field] = value.isoformat()
        return value.isoformat()

    def hits(self, value: Any) -> list[str]:
        if isinstance(value, date) and value in self.dates.values():
            return [k for k, v in self.dates.items() if v == value]
        text = "\n".join(_readable(value)).casefold()
        return [field for field, marker in self.texts.items() if marker in text]


def _readable(value: Any) -> Iterator[str]:
    """The value as text, and every layer a marker could hide under: JSON leaves, base64,
    MIME parts and headers, compressed PDF streams."""
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, dict | list):
        yield json.dumps(value, ensure_ascii=False, default=str)
        for leaf in value.values() if isinstance(value, dict) else value:
            yield from _readable(leaf)
    elif isinstance(value, str):
        yield value
        if len(value) >= 40 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", value):
            with contextlib.suppress(binascii.Error, ValueError):
                yield from _readable(base64.b64decode(value, validate=False))
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
        for stream in re.findall(rb"stream\r?\n(.*?)endstream", value, re.S):
            yield from _inflated(stream)
        if b"\n" in value and b":" in value.split(b"\n", 1)[0]:
            yield from _mime(value)
    else:
        yield str(value)


def _inflated(stream: bytes) -> Iterator[str]:
    for decode in (
        lambda s: zlib.decompress(base64.a85decode(s.strip().removesuffix(b"~>"), adobe=False)),
        zlib.decompress,
    ):
        try:
            yield decode(stream).decode("latin-1")
            return
        except (ValueError, zlib.error):
            continue


def _mime(raw: bytes) -> Iterator[str]:
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        for name, header in message.items():
            yield f"{name}: {header}"
        for part in message.walk():
            if part.get_filename():
                yield part.get_filename()
            payload = part.get_payload(decode=True)
            if payload:
                yield payload.decode("utf-8", "replace")
    except Exception:  # not a message after all: the plain reading above stands
        return


def scan(db, markers: Markers) -> list[str]:
    """Every (table.column, marker) where a marker survives, over the reflected schema."""
    found: set[str] = set()
    with db.unit_of_work() as session:
        schema = MetaData()
        schema.reflect(bind=session.connection())
        for table in schema.sorted_tables:
            for row in session.execute(select(table)):
                for column, value in row._mapping.items():
                    for field in markers.hits(value):
                        found.add(f"{table.name}.{column}: {field}")
    return sorted(found)


# --- real entry points -------------------------------------------------------------------


@pytest.fixture
def app(settings, db):
    from egards.app import create_app

    settings.mail_from = MAIL_FROM
    return create_app(settings, db)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port(db, settings):
    port = _free_port()
    controller = start_smtp_receiver(db, config_from_settings(settings), port=port)
    yield port
    controller.stop()


def send_mail(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def plant_customer(client, agent, admin, m: Markers, prefix: str, org_id: int) -> dict[str, Any]:
    customer = ok(
        client.post(
            "/api/v1/customers",
            json={
                "first_name": m(f"{prefix}first"),
                "last_name": m(f"{prefix}last"),
                "birth_date": m.day(f"{prefix}birth"),
                "address_line1": m(f"{prefix}street"),
                "address_line2": m(f"{prefix}building"),
                "postal_code": m(f"{prefix}zip")[:20],
                "city": m(f"{prefix}city"),
                "country": "FR",
                "external_id": m(f"{prefix}extid"),
                "emails": [f"{m(prefix + 'mail')}@example.org"],
                "phones": [m.phone(f"{prefix}phone")],
                "social": [{"network": "instagram", "handle": m(f"{prefix}handle")}],
            },
            headers=agent.headers,
        ),
        201,
    )
    cid = customer["id"]
    ok(
        client.post(
            f"/api/v1/customers/{cid}/notes",
            json={"body": f"Prefers calls after 6pm {m(prefix + 'note')}"},
            headers=agent.headers,
        ),
        201,
    )
    ok(
        client.post(
            f"/api/v1/customers/{cid}/consents",
            json={
                "purpose": "marketing",
                "channel": "email",
                "granted": True,
                "source": "shop",
                "proof": f"signed form {m(prefix + 'proof')}",
            },
            headers=agent.headers,
        ),
        201,
    )
    ok(
        client.post(
            f"/api/v1/customers/{cid}/timeline",
            json={
                "kind": "shop.visit",
                "channel": "shop",
                "silo": "shop",
                "summary": f"Came in with {m(prefix + 'visit')}",
            },
            headers=agent.headers,
        ),
        201,
    )
    ok(
        client.post(
            f"/api/v1/customers/{cid}/organisations",
            json={"organisation_id": org_id, "purpose": f"fibre at {m(prefix + 'purpose')}"},
            headers=admin.headers,
        ),
        204,
    )
    ok(
        client.post(
            "/api/v1/cases",
            json={
                "channel": "phone",
                "customer_id": cid,
                "contact_name": m(f"{prefix}caller"),
                "subject": f"Call about {m(prefix + 'callsubject')}",
                "message": f"Said {m(prefix + 'callbody')}",
            },
            headers=agent.headers,
        ),
        201,
    )
    member = ok(
        client.post(
            "/api/v1/loyalty/members",
            json={
                "customer_id": cid,
                "programme": "flying_blue",
                "on": (TODAY - timedelta(days=400)).isoformat(),
            },
            headers=agent.headers,
        ),
        201,
    )
    earned = ok(
        client.post(
            "/api/v1/loyalty/programmes/flying_blue/activities",
            json={
                "key": f"{prefix}-flight-{m.token}",
                "customer_id": cid,
                "kind": "flight",
                "on": TODAY.isoformat(),
                "amounts": {"fare": 250_000, "taxes": 40_000},
                "attributes": {
                    "cabin": "business",
                    "distance_miles": 5800,
                    "domestic": False,
                    "passenger": m(f"{prefix}passenger"),
                },
            },
            headers=agent.headers,
        )
    )
    assert earned["status"] == "applied"
    ok(
        client.post(
            f"/api/v1/loyalty/members/{member['id']}/redemptions",
            json={
                "key": f"{prefix}-redeem-{m.token}",
                "currency": "MILES",
                "amount": 1000,
                "memo": f"Upgrade for {m(prefix + 'memo')}",
            },
            headers=agent.headers,
        ),
        201,
    )
    return customer


def mail_from(address: str, name: str, subject: str, text: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{name} <{address}>"
    message["To"] = MAIL_FROM
    message["Subject"] = subject
    for header, value in headers.items():
        message[header.replace("_", "-")] = value
    message.set_content(text)
    return message


def plant_cases(client, agent, supervisor, m: Markers, z: dict[str, Any], port: int) -> None:
    address = next(i["value"] for i in z["identities"] if i["kind"] == "email")
    inbound = mail_from(
        address,
        m("mailname"),
        f"Box down {m('mailsubject')}",
        f"Hello, my line is dead {m('mailbody')}",
        Message_ID=f"<first-{m.token}@example.org>",
    )
    inbound.add_attachment(
        f"bill {m('attachtext')}".encode(),
        maintype="text",
        subtype="plain",
        filename=f"{m('attachname')}.txt",
    )
    inbound.add_attachment(
        b"PK\x03\x04 refused", maintype="application", subtype="zip", filename=f"{m('refused')}.zip"
    )
    send_mail(port, inbound)
    listed = client.get("/api/v1/cases", params={"customer_id": z["id"]}, headers=agent.headers)
    [case] = [c for c in ok(listed)["items"] if c["channel"] == "email"]
    ok(
        client.post(
            f"/api/v1/cases/{case['id']}/replies",
            json={"body": f"We are on it {m('replybody')}"},
            headers=agent.headers,
        ),
        201,
    )
    ok(
        client.post(
            f"/api/v1/cases/{case['id']}/notes",
            json={"body": f"Internal {m('casenote')}"},
            headers=agent.headers,
        ),
        201,
    )
    send_mail(  # machine mail, not threaded: kept raw, opens nothing
        port,
        mail_from(
            address,
            m("autoname"),
            f"Out of office {m('autosubject')}",
            f"I am away {m('autobody')}",
            Auto_Submitted="auto-replied",
        ),
    )
    web = client.post(
        "/api/v1/cases/web-form",
        json={
            "name": m("formname"),
            "email": address,
            "phone": m.phone("formphone"),
            "subject": f"Form {m('formsubject')}",
            "message": f"Please call me {m('formbody')}",
        },
    )
    assert web.status_code == 202, web.text
    exception = ok(
        client.post(
            "/api/v1/recovery/exceptions",
            json={
                "case_id": case["id"],
                "rule": "tier requalification",
                "why": f"Because {m('exwhy')}",
                "remedy": f"Keep {m('exremedy')}",
            },
            headers=agent.headers,
        ),
        201,
    )
    ok(
        client.post(
            f"/api/v1/recovery/exceptions/{exception['id']}/decision",
            json={"approve": True, "reason": f"Fair {m('exdecision')}"},
            headers=supervisor.headers,
        )
    )
    ok(
        client.post(
            f"/api/v1/recovery/exceptions/{exception['id']}/outcome",
            json={"outcome": "stayed", "note": f"Stayed {m('exoutcome')}"},
            headers=supervisor.headers,
        )
    )
    plant_gestures(client, agent, supervisor, m, z, case["id"])
    ok(
        client.post(
            f"/api/v1/cases/{case['id']}/status",
            json={"status": "closed", "reason": f"Settled {m('closereason')}"},
            headers=supervisor.headers,
        )
    )


def plant_portal(client, db, m: Markers, z: dict[str, Any]) -> None:
    """What she wrote in her own space: a new request with a file, a privacy request, an
    idea (which she votes for) and a comment on it."""
    from tests.integration.portal.conftest import sign_in

    email = next(i["value"] for i in z["identities"] if i["kind"] == "email")
    csrf = sign_in(client, db, email)
    opened = client.post(
        "/my/requests/new",
        data={"subject": m("portalsubject"), "message": m("portalmessage"), "csrf_token": csrf},
        files=[
            ("attachments", (m("portalfile") + ".txt", m("portalcontent").encode(), "text/plain"))
        ],
        follow_redirects=False,
    )
    assert opened.status_code == 303, opened.text
    asked = client.post(
        "/my/data/requests",
        data={"kind": "rectification", "details": m("portalprivacy"), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text
    idea = client.post(
        "/my/ideas",
        data={
            "title": m("ideatitle"),
            "body": f"My idea: {m('ideabody')}",
            "category": "app",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert idea.status_code == 303, idea.text
    idea_id = idea.headers["location"].rsplit("#idea-", 1)[1]
    said = client.post(
        f"/my/ideas/{idea_id}/comments",
        data={"body": f"My comment: {m('ideacomment')}", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert said.status_code == 303, said.text


def plant_gestures(client, agent, supervisor, m: Markers, z, case_id: int) -> None:
    base = {"customer_id": z["id"], "case_id": case_id, "reason_code": "broken_promise"}
    for code in ("miles-2000", "voucher-30"):
        ok(
            client.post(
                "/api/v1/recovery/grants",
                json={**base, "gesture_code": code, "reason_text": f"Sorry {m(code + 'why')}"},
                headers=agent.headers,
            ),
            201,
        )
    ok(
        client.post(
            "/api/v1/recovery/grants",
            json={
                **base,
                "gesture_code": "letter",
                "reason_text": f"Apology {m('letterwhy')}",
                "letter": {
                    "template_code": "apology-delay",
                    "subject": f"Our apologies {m('lettersubject')}",
                    "body": f"Dear customer,\n\n{m('letterbody')} we are sorry.",
                    "delivery": "email",
                },
            },
            headers=agent.headers,
        ),
        201,
    )
    pending = ok(
        client.post(
            "/api/v1/recovery/grants",
            json={
                **base,
                "gesture_code": "status-exception",
                "tier_action": "keep",
                "reason_text": f"Keep the tier {m('tierwhy')}",
            },
            headers=agent.headers,
        ),
        201,
    )
    ok(
        client.post(
            f"/api/v1/recovery/approvals/{pending['approval']['id']}/decision",
            json={"approve": True, "reason": f"Agreed {m('approval')}"},
            headers=supervisor.headers,
        )
    )


def plant_subscriptions(client, agent, m: Markers, z: dict[str, Any]) -> None:
    """A contract with her line, her cancellation through the public page (a postal address,
    a reason in her words, the acknowledgement and its PDF) and one whose reference she
    mistyped (nothing matched; it names her address only)."""
    ok(
        client.post(
            "/api/v1/subscriptions",
            json={
                "customer_id": z["id"],
                "reference": "ERASE-1",
                "offer": "Fibre",
                "line_numbers": [m.phone("subline")],
                "start_date": "2025-01-01",
                "price_cents": 2999,
            },
            headers=agent.headers,
        ),
        201,
    )
    email = next(i["value"] for i in z["identities"] if i["kind"] == "email")
    for reference in ("ERASE-1", "ERASE-404"):
        page = client.get("/cancel")
        form = {
            "csrf_token": csrf_from(page.text),
            "name": f"{z['first_name']} {z['last_name']}",
            "reference": reference,
            "email": email,
            "postal_address": m(f"cancelpostal{reference[-1]}"),
            "reason": "price",
            "reason_text": m(f"cancelwords{reference[-1]}"),
        }
        recap = client.post("/cancel/review", data=form)
        assert recap.status_code == 200, recap.text
        form["csrf_token"] = csrf_from(recap.text)
        assert client.post("/cancel/confirm", data=form).status_code == 200


def ledger_figures(db, customer_ids: list[int]) -> dict[str, Any]:
    """Per account the sum of entries, the stored balances, and the books checked."""
    with db.unit_of_work() as session:
        member_ids = list(
            session.scalars(select(Member.id).where(Member.customer_id.in_(customer_ids)))
        )
        sums: Counter[tuple[Any, ...]] = Counter()
        for row in session.execute(
            select(Entry.member_id, Entry.currency, Entry.state, Entry.debit, Entry.credit)
            .add_columns(func.sum(Entry.amount))
            .where(Entry.member_id.in_(member_ids))
            .group_by(Entry.member_id, Entry.currency, Entry.state, Entry.debit, Entry.credit)
        ):
            *account, total = row
            sums[tuple(account)] += int(total)
        balances = {}
        for member_id in member_ids:
            member = session.get(Member, member_id)
            loyalty.open_book(session, member).ledger.check_invariants()
            for balance in session.scalars(select(Balance).where(Balance.member_id == member_id)):
                account = (member_id, balance.currency, "posted")
                posted = {k: v for k, v in sums.items() if k[:3] == account}
                credited = sum(v for k, v in posted.items() if k[4] == "member")
                debited = sum(v for k, v in posted.items() if k[3] == "member")
                assert balance.balance == credited - debited
                balances[(member_id, balance.currency)] = (balance.balance, balance.available)
        return {"entries": dict(sums), "balances": balances}


def test_erasure_leaves_no_personal_value_in_any_column(
    client, db, make_person, make_organisation, smtp_port
):
    agent = make_person(Role.AGENT)
    supervisor = make_person(Role.SUPERVISOR)
    admin = make_person(Role.ADMIN)
    org_id = make_organisation(f"Installer {secrets.token_hex(3)}")
    m = Markers()
    z = plant_customer(client, agent, admin, m, "z", org_id)
    d = plant_customer(client, agent, admin, m, "d", org_id)
    ok(
        client.post(
            "/api/v1/customer-merges",
            json={"survivor_id": z["id"], "merged_id": d["id"], "reason": m("mergereason")},
            headers=admin.headers,
        ),
        201,
    )
    plant_cases(client, agent, supervisor, m, z, smtp_port)
    plant_subscriptions(client, agent, m, z)
    plant_portal(client, db, m, z)

    planted = {hit.rsplit(": ", 1)[1] for hit in scan(db, m)}
    assert planted == set(m.texts), f"markers never stored: {set(m.texts) - planted}"
    books = ledger_figures(db, [z["id"], d["id"]])

    erased = ok(
        client.post(
            f"/api/v1/customers/{z['id']}/erase",
            json={"reason": "GDPR request by letter, ticket 42"},
            headers=admin.headers,
        )
    )

    assert erased["status"] == "erased"
    left = scan(db, m)
    assert not left, "personal values left after erasure:\n" + "\n".join(left)
    assert ledger_figures(db, [z["id"], d["id"]]) == books
    mailer = MemoryMailer()
    assert deliver_due(db, mailer=mailer).sent == 0, "a message queued to her still left"
    trail = client.get("/api/v1/audit", params={"action": "customer.erase"}, headers=admin.headers)
    [record] = [r for r in ok(trail) if r["customer_id"] == z["id"]]
    assert record["reason"] == "GDPR request by letter, ticket 42"
    assert record["actor_label"] and record["at"]


def test_erasure_follows_merges_at_any_depth_and_no_merge_can_be_undone_after(client, make_person):
    agent, admin = make_person(Role.AGENT), make_person(Role.ADMIN)
    ids = [
        ok(client.post("/api/v1/customers", json=customer_payload(), headers=agent.headers), 201)[
            "id"
        ]
        for _ in range(4)
    ]
    survivor, middle, oldest, stranger = ids
    merges = [
        ok(
            client.post(
                "/api/v1/customer-merges",
                json={"survivor_id": into, "merged_id": merged},
                headers=admin.headers,
            ),
            201,
        )
        for into, merged in ((middle, oldest), (survivor, middle))
    ]

    ok(
        client.post(
            f"/api/v1/customers/{survivor}/erase", json={"reason": "GDPR"}, headers=admin.headers
        )
    )

    files = {
        i: ok(client.get(f"/api/v1/customers/{i}", headers=admin.headers))
        for i in (survivor, middle, oldest, stranger)
    }
    assert [files[i]["status"] for i in (survivor, middle, oldest)] == ["erased"] * 3
    assert all(files[i]["last_name"] == "[erased]" for i in (survivor, middle, oldest))
    assert (files[middle]["merged_into_id"], files[oldest]["merged_into_id"]) == (survivor, middle)
    assert files[stranger]["status"] == "active" and files[stranger]["identities"]
    for merge in merges:
        undo = client.post(f"/api/v1/customer-merges/{merge['id']}/unmerge", headers=admin.headers)
        assert undo.status_code == 409, undo.text
