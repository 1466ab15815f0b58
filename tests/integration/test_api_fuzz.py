"""Property: no request generated from the OpenAPI document, however odd, yields a 500."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from egards.accounts.domain import Role

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def admin_headers(make_person):
    return make_person(Role.ADMIN).headers


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_causes_a_server_error(case, admin_headers):
    from schemathesis.checks import not_a_server_error

    case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])
