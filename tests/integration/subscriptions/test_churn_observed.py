"""The return on gestures counts who stayed by their contracts: a subscriber whose contract
ended after a gesture left, even if they never bought anything in a shop (on SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from egards.accounts.domain import SYSTEM
from egards.recovery import service as recovery
from egards.subscriptions import service
from tests.integration.builders import customer_payload
from tests.integration.subscriptions.conftest import NOW


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_gesture_followed_by_a_cancellation_did_not_keep_the_subscriber(client, app, db, agent):
    past = NOW - timedelta(days=120)
    app.state.clock = lambda: past
    people = []
    for n, name in enumerate(("Leaving", "Staying")):
        person = client.post(
            "/api/v1/customers",
            json=customer_payload(last_name=name, emails=[f"s{n}@example.org"]),
            headers=agent.headers,
        ).json()
        contract = client.post(
            "/api/v1/subscriptions",
            json={
                "customer_id": person["id"],
                "reference": f"RG-{n}",
                "offer": "Fibre",
                "start_date": "2024-01-01",
                "notice_days": 10,
                "price_cents": 2999,
                "sold_channel": "web",
            },
            headers=agent.headers,
        )
        assert contract.status_code == 201, contract.text
        case = client.post(
            "/api/v1/cases",
            json={
                "channel": "phone",
                "customer_id": person["id"],
                "subject": "Slow line",
                "message": "Slow line",
                "category": "delay",
            },
            headers=agent.headers,
        ).json()["case"]
        people.append((person, case))
    (leaving, case), _ = people
    given = client.post(
        "/api/v1/recovery/grants",
        json={
            "customer_id": leaving["id"],
            "case_id": case["id"],
            "gesture_code": "voucher-30",
            "reason_code": "broken_promise",
            "reason_text": "Sorry",
        },
        headers=agent.headers,
    )
    assert given.json()["status"] == "granted", given.text
    app.state.clock = lambda: past + timedelta(days=30)
    client.post(
        "/api/v1/cancellations",
        json={"name": "Leaving", "reference": "RG-0", "channel": "phone", "reason": "price"},
        headers=agent.headers,
    )
    ended = past + timedelta(days=45)
    with db.unit_of_work() as session:
        assert service.end_due(session, today=ended.date(), now=ended) == 1
        report = recovery.returns(session, actor=SYSTEM, as_of=NOW.date())
    [voucher] = [k for k in report.kinds if k.kind == "voucher"]
    assert voucher.matched == 1
    # Neither bought anything: by purchases both "left"; by contracts one left, one stayed.
    assert voucher.stayed_treated == 0 and voucher.stayed_control == 1
