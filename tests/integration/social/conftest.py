from tests.integration.cases.conftest import app, clock, mailer, supervisor  # noqa: F401
