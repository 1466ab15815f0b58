"""Hostile input gets a 422 or a reject line naming the field, the same on SQLite and
PostgreSQL, and the good rows of a file still go in: never a 500, a traceback or a half-applied
batch."""

from __future__ import annotations

import json
import typing
from datetime import date, timedelta

import pytest
from fastapi.params import Form
from fastapi.routing import APIRoute
from pydantic import BaseModel

from egards.accounts.domain import SYSTEM
from egards.customers.imports import import_customers
from egards.loyalty.imports import import_activities
from egards.schemas import Input
from tests.integration.builders import customer_payload
from tests.integration.loyalty.test_loyalty_api import flight, member, post_activity

__all__ = ["member"]  # a fixture

DAY = (date.today() - timedelta(days=3)).isoformat()


def _models(annotation) -> list[type]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for argument in typing.get_args(annotation) for m in _models(argument)]


def _api_routes(routes) -> typing.Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI >= 0.165 includes routers lazily
            yield from _api_routes(route.original_router.routes)


def test_every_json_body_is_read_through_an_input_schema(app):
    bodies = [
        (route.path, param.field_info.annotation)
        for route in _api_routes(app.routes)
        for param in route.dependant.body_params
        if not isinstance(param.field_info, Form)
    ]
    assert bodies
    for path, annotation in bodies:
        models = _models(annotation)
        assert models and all(issubclass(m, Input) for m in models), (path, annotation)


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (customer_payload(last_name="Du\x00pont"), "last_name"),
        (customer_payload(city="Lyon\x1b[31m"), "city"),
        (customer_payload(emails=["a\x00@example.fr"]), "emails"),
    ],
)
def test_a_control_character_in_json_is_refused_by_field_on_both_databases(
    client, agent, payload, field
):
    response = client.post("/api/v1/customers", json=payload, headers=agent.headers)
    assert _fields(response) == [field]
    assert "control character" in response.json()["detail"]


def test_tabs_and_line_breaks_are_text_like_any_other(client, agent):
    payload = customer_payload(address_line1="12 rue Haute\r\nBâtiment\tB")
    response = client.post("/api/v1/customers", json=payload, headers=agent.headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attributes": {"cabin": "business", "x": 10**20}}, "attributes"),
        ({"attributes": {"cabin": "busi\x00ness"}}, "attributes"),
        ({"amounts": {"fare": 10**30}}, "amounts.fare"),
        ({"amounts": {"fare": -(10**30)}}, "amounts.fare"),
    ],
)
def test_numbers_beyond_their_bounds_are_refused_by_field_single_and_bulk(
    client, agent, member, change, field
):
    body = {**flight("HUGE-1", member_number="FB99990001"), **change}
    assert _fields(post_activity(client, agent, body)) == [field]
    bulk = client.post(
        "/api/v1/loyalty/programmes/flying_blue/activities/bulk",
        json={"activities": [flight("OK-1", member_number="FB99990001"), body]},
        headers=agent.headers,
    )
    assert _fields(bulk) == [f"activities[1].{field}"]


CUSTOMERS = (
    b"external_id,first_name,last_name\n"
    b"H1,Jean,Dupont\n"
    b"H2,Ma\x00rie,Curie\n"  # line 3: NUL
    b"H3,Pierre,Ma\rrtin\n"  # line 4: bare carriage return
    b"H4,\xff\xfe\x00\x01,Binaire\n"  # line 5: not UTF-8
    b"H5,Zo\xc3\xa9,L\x1bambert\n"  # line 6: escape character
    b"H6,Ali,Ben\n"
)


def test_each_bad_customer_line_gets_its_reject_and_the_good_lines_import(db, tmp_path):
    source = tmp_path / "hostile.csv"
    source.write_bytes(CUSTOMERS)
    result = import_customers(db, source, rejects_path=tmp_path / "rejects.csv")
    assert (result.created, result.rejected) == (2, 4)
    assert [(r.line, r.field) for r in result.rejects] == [
        (3, "first_name"),
        (4, "line"),
        (5, "line"),
        (6, "last_name"),
    ]
    assert "control character" in result.rejects[0].reason
    assert "not valid CSV" in result.rejects[1].reason
    assert (tmp_path / "rejects.csv").read_text().count("\n") == 5


def test_each_bad_activity_line_gets_its_reject_in_csv_and_json_lines(db, tmp_path):
    header = b"key,member_number,kind,on,amount.fare,attr.cabin,attr.distance_miles\n"
    row = "{key},FB77770001,flight,{day},10000,{cabin},{miles}\n"
    csv_file = tmp_path / "activities.csv"
    csv_file.write_bytes(
        header
        + row.format(key="K1", day=DAY, cabin="economy", miles=400).encode()
        + row.format(key="K2", day=DAY, cabin="eco\x00nomy", miles=400).encode()
        + row.format(key="K3", day=DAY, cabin="eco\rnomy", miles=400).encode()
        + row.format(key="K4", day=DAY, cabin="economy", miles=10**20).encode()
        + b"K5,FB77770001,flight,\xff\xfe,1,economy,400\n"
        + row.format(key="K6", day=DAY, cabin="economy", miles=800).encode()
    )
    counts = import_activities(db, csv_file, programme="flying_blue", actor=SYSTEM)
    assert (counts["parked"], counts["rejected"]) == (2, 4)
    assert [(r.line, r.field) for r in counts["rejects"]] == [
        (3, "attributes"),
        (4, "line"),
        (5, "attributes"),
        (6, "line"),
    ]

    jsonl = tmp_path / "activities.jsonl"
    good = json.dumps({"key": "J1", "member_number": "FB77770001", "kind": "flight", "on": DAY})
    jsonl.write_bytes(
        good.encode()
        + b"\n"
        + good.replace("J1", "J\\u00002").encode()
        + b"\n"
        + good.replace("J1", "J3").replace('"on"', '"amounts": {"fare": 1e400}, "on"').encode()
        + b"\n\xff\xfe\n"
    )
    counts = import_activities(db, jsonl, programme="flying_blue", actor=SYSTEM)
    assert counts["parked"] == 1
    assert [(r.line, r.field) for r in counts["rejects"]] == [
        (2, "key"),
        (3, "amounts.fare"),
        (4, "line"),
    ]
