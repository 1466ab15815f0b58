"""Shared fixtures: both databases, each test inside a transaction that is rolled back.

PostgreSQL comes from EGARDS_TEST_DATABASE_URL. Without it the PostgreSQL tests are skipped
and say why, unless EGARDS_REQUIRE_ALL=1 (CI), where a missing server fails the run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Permission, Role
from egards.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from egards.app import create_app
from egards.config import Settings
from egards.db import Database, make_engine
from egards.migrate import upgrade

REQUIRE_ALL = os.environ.get("EGARDS_REQUIRE_ALL") == "1"
PG_URL = os.environ.get("EGARDS_TEST_DATABASE_URL")
PASSWORD = "correct horse battery"


def _unavailable(reason: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (EGARDS_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(reason)


BOTH = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def scratch_database_url(name: str) -> str:
    """An empty PostgreSQL database made afresh beside the tests' one and named after it
    (``<test database>_<name>``), so that two runs on one server, each with its own test
    database, never drop each other's."""
    if not PG_URL:
        _unavailable("PostgreSQL tests need EGARDS_TEST_DATABASE_URL")
    server, test_database = PG_URL.rsplit("/", 1)
    scratch = f"{test_database}_{name}"
    admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{scratch}"'))
    admin.dispose()
    return f"{server}/{scratch}"


def drop_scratch_database(url: str) -> None:
    """Drop a database made by :func:`scratch_database_url` once its test is done."""
    server, scratch = url.rsplit("/", 1)
    admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    admin.dispose()


def own_database(kind: str, tmp_path: Path, name: str, **options: Any) -> Iterator[Database]:
    """A migrated database of the test's own, for tests that commit for real (no rolled-back
    transaction): a SQLite file, or a PostgreSQL one from :func:`scratch_database_url`. For a
    fixture to ``yield from``."""
    url = f"sqlite:///{tmp_path / name}.db" if kind == "sqlite" else scratch_database_url(name)
    engine = make_engine(url, **options)
    upgrade(engine)
    yield Database(engine)
    engine.dispose()
    if kind != "sqlite":
        drop_scratch_database(url)


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path = tmp_path_factory.mktemp("db") / "test.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


@pytest.fixture(scope="session")
def postgresql_engine() -> Engine:
    if not PG_URL:
        _unavailable("PostgreSQL tests need EGARDS_TEST_DATABASE_URL")
    engine = make_engine(PG_URL)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except Exception as exc:
        _unavailable(f"PostgreSQL at {PG_URL} is unreachable: {exc}")
    upgrade(engine)
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def db(engine: Engine) -> Iterator[Database]:
    """A Database bound to one connection whose outer transaction is always rolled back."""
    connection = engine.connect()
    transaction = connection.begin()
    try:
        yield Database(connection)
    finally:
        transaction.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, secret_key="test-secret-key-" + "x" * 32, default_locale="en"
    )


@pytest.fixture
def app(settings: Settings, db: Database):
    return create_app(settings, db)


@dataclass
class Person:
    user_id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_person(db: Database):
    """A user of a role with a bearer token (all the role's permissions unless scopes given)."""
    counter = iter(range(1, 10_000))

    def make(
        role: Role = Role.AGENT,
        *,
        organisation_id: int | None = None,
        scopes: list[Permission] | None = None,
    ) -> Person:
        email = f"{role}{next(counter)}@test.example"
        with db.unit_of_work() as session:
            user = accounts.create_user(
                session,
                actor=SYSTEM,
                data=UserCreate(
                    email=email,
                    display_name=f"{role.title()} Tester",
                    role=role,
                    password=PASSWORD,
                    organisation_id=organisation_id,
                ),
            )
            actor = accounts.actor_for(user)
            wanted = scopes or sorted(actor.permissions)
            _, secret = accounts.create_token(
                session, actor=actor, data=TokenCreate(name="tests", scopes=wanted)
            )
        return Person(user.id, email, secret)

    return make


@pytest.fixture
def make_organisation(db: Database):
    def make(name: str = "Installer Co") -> int:
        with db.unit_of_work() as session:
            return accounts.create_organisation(
                session, actor=SYSTEM, data=OrganisationCreate(name=name)
            ).id

    return make


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def agent(make_person) -> Person:
    return make_person(Role.AGENT)


@pytest.fixture
def admin(make_person) -> Person:
    return make_person(Role.ADMIN)


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/customers"},
    )
    assert response.status_code == 200, response.text
    return csrf_from(response.text)
