"""Shared fixtures: both databases, each test inside a transaction that is rolled back.

PostgreSQL comes from EGARDS_TEST_DATABASE_URL. Without it the PostgreSQL tests are skipped
and say why, unless EGARDS_REQUIRE_ALL=1 (CI), where a missing server fails the run. The
suite runs in parallel (pytest-xdist, ``-n`` in pyproject.toml): each worker process works
in a database of its own named after the configured one (``<test database>_gw0``...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Permission, Role
from egards.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from egards.app import create_app
from egards.config import Settings
from egards.db import Database, make_engine
from egards.migrate import alembic_config, upgrade

REQUIRE_ALL = os.environ.get("EGARDS_REQUIRE_ALL") == "1"
PASSWORD = "correct horse battery"


def beside(url: str, suffix: str) -> str:
    """The address of the database named after ``url``'s, ``<its name>_<suffix>``, on the
    same server."""
    address = make_url(url)
    return address.set(database=f"{address.database}_{suffix}").render_as_string(
        hide_password=False
    )


def _database_of_this_process() -> str | None:
    """The configured test database, or, in a pytest-xdist worker (``gw0``, ``gw1``...), the
    worker's own beside it: workers reset their schema and make scratch databases named after
    it without touching each other's, and two runs configured with different databases on
    one server never meet either."""
    configured = os.environ.get("EGARDS_TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # set by xdist before conftests load
    return beside(configured, worker) if configured and worker else configured


PG_URL = _database_of_this_process()

if os.environ.get("PYTEST_XDIST_WORKER"):
    # A worker starts with COLUMNS=80 (and LINES) in its environment, which a serial run has
    # not: the CLI's rich consoles, made when its modules are imported, would keep that width
    # for good and ignore the one a test gives (test_cli.py's COLUMNS=200).
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def _on_server(url: str, statement: str, **params: Any) -> Any:
    """Run one statement (CREATE or DROP DATABASE, a catalogue query) on the server of
    ``url``, from its ``postgres`` database and outside a transaction: its first value."""
    admin = make_engine(
        make_url(url).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            result = connection.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None
    finally:
        admin.dispose()


def _create_if_missing(url: str) -> None:
    """Create the database of ``url`` unless it exists (a worker's, the first time)."""
    name = make_url(url).database
    if not _on_server(url, "SELECT 1 FROM pg_database WHERE datname = :name", name=name):
        _on_server(url, f'CREATE DATABASE "{name}"')


def _unavailable(reason: str) -> NoReturn:
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (EGARDS_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(reason)


BOTH = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (``--dist loadgroup``)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that share the session's Spark go to one worker: a second JVM would cost
    its start-up (seconds of both cores) and its memory again."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("spark"))


def scratch_database_url(name: str) -> str:
    """An empty PostgreSQL database made afresh beside the tests' one and named after it
    (``<test database>_<name>``, ``<test database>_gw0_<name>`` in a worker), so that two
    workers, or two runs on one server each with its own test database, never drop each
    other's."""
    if not PG_URL:
        _unavailable("PostgreSQL tests need EGARDS_TEST_DATABASE_URL")
    url = beside(PG_URL, name)
    scratch = make_url(url).database
    _on_server(url, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    _on_server(url, f'CREATE DATABASE "{scratch}"')
    return url


def drop_scratch_database(url: str) -> None:
    """Drop a database made by :func:`scratch_database_url` once its test is done."""
    _on_server(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


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


def migrate(db: Database, action: Callable[..., None], revision: str) -> None:
    """Alembic's ``action`` (``command.upgrade``, ``command.downgrade``) to ``revision`` on
    ``db``, in one transaction: for the tests that go down and up a migration."""
    config = alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


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
        _create_if_missing(PG_URL)
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
