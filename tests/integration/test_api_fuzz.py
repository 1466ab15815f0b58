"""Property: every request generated from the OpenAPI document, however odd, gets an answer
the document declares (status code and body schema), and never a server error, whether the
caller is an administrator or a partner."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from egards.accounts.domain import Role

schema = schemathesis.pytest.from_fixture("api_schema")
# Five examples per operation, caller and database in the suite (the CI budget);
# a deeper hunt: EGARDS_FUZZ_EXAMPLES=200 pytest tests/integration/test_api_fuzz.py
EXAMPLES = int(os.environ.get("EGARDS_FUZZ_EXAMPLES", "5"))


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@dataclass(frozen=True)
class Caller:
    headers: dict[str, str]
    user_id: int
    token_id: int

    def spare_own_credentials(self, case) -> None:
        """The fuzzer may revoke a token or disable a user by id: never the caller's own,
        or every later example would only test a 401."""
        parameters = case.path_parameters or {}
        for name, own in (("token_id", self.token_id), ("user_id", self.user_id)):
            if parameters.get(name) == own:
                parameters[name] = own + 1_000_000


def _caller(role: Role, make_person, client, organisation_id: int | None = None) -> Caller:
    person = make_person(role, organisation_id=organisation_id)
    tokens = client.get("/api/v1/tokens", headers=person.headers).json()
    (own,) = [token["id"] for token in tokens if token["name"] == "tests"]
    return Caller(person.headers, person.user_id, own)


@pytest.fixture
def admin_caller(make_person, client) -> Caller:
    return _caller(Role.ADMIN, make_person, client)


@pytest.fixture
def partner_caller(make_person, make_organisation, client) -> Caller:
    return _caller(Role.PARTNER, make_person, client, make_organisation())


def _call_and_validate(case, caller: Caller) -> None:
    caller.spare_own_credentials(case)
    case.call_and_validate(
        headers=caller.headers,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_an_administrator_gets_documented_answers_and_no_server_error(case, admin_caller):
    _call_and_validate(case, admin_caller)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_partner_gets_documented_answers_and_no_server_error(case, partner_caller):
    _call_and_validate(case, partner_caller)
