"""The "no silence" page, 50 cases at a time by keyset: every waiting case once, in the order
of the deadlines, the totals the same on every page, and each customer's live tier."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.conftest import login
from tests.integration.cases.conftest import create_customer, log_call

ROW = re.compile(r'class="row-link silence-row" data-case="(\d+)"')


def test_no_silence_pages_every_waiting_case_once_in_deadline_order_keeping_the_totals(
    client, agent, clock
):
    customer = create_customer(client, agent)
    client.post(
        "/api/v1/loyalty/members",
        json={
            "customer_id": customer["id"],
            "programme": "flying_blue",
            "on": (date.today() - timedelta(days=30)).isoformat(),
        },
        headers=agent.headers,
    )
    opened = []
    for number in range(57):
        priority = "urgent" if number % 5 == 0 else "normal"  # deadlines out of id order
        case = log_call(client, agent, customer_id=customer["id"], priority=priority)["case"]
        opened.append(case["id"])
        clock.advance(minutes=7)
    login(client, agent.email)

    first = client.get("/no-silence")
    assert first.status_code == 200
    assert 'id="waiting-count">57<' in first.text
    page_one = ROW.findall(first.text)
    assert len(page_one) == 50
    after = re.search(r'href="/no-silence\?after=([^"]+)" id="silence-next"', first.text).group(1)
    assert 'id="silence-first"' not in first.text

    second = client.get(f"/no-silence?after={after}")
    assert second.status_code == 200
    assert 'id="waiting-count">57<' in second.text  # the totals are the whole view's
    page_two = ROW.findall(second.text)
    assert len(page_two) == 7 and 'id="silence-next"' not in second.text
    assert 'id="silence-first"' in second.text

    shown = [int(i) for i in page_one + page_two]
    assert sorted(shown) == sorted(opened)  # each once
    api = client.get("/api/v1/cases/no-silence?limit=100", headers=agent.headers).json()
    assert shown == [item["case"]["id"] for item in api["items"]]  # the view's order
    assert re.search(r'<td class="tier"[^>]*><span class="badge">[^<]+</span>', first.text)


def test_a_cursor_that_is_not_one_is_refused_by_field(client, agent):
    login(client, agent.email)
    for bad in ("nonsense", "2026-01-01T10:00:00~x", "2026-01-01T10:00:00~3"):
        response = client.get(f"/no-silence?after={bad}")
        assert response.status_code == 422, (bad, response.status_code)
