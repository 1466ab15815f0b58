"""Engine, sessions and the unit of work: the one place where transactions commit."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Result,
    Table,
    create_engine,
    event,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from egards.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Big tables get 64-bit keys on PostgreSQL; SQLite only autoincrements an INTEGER primary key.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which has no zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}

    if TYPE_CHECKING:
        # SQLAlchemy types ``__table__`` as any FromClause (a mapping may be of a join or a
        # select); every model here is declared with columns, so it is always a Table, which
        # the bulk paths need (its name, insert/update/delete).
        __table__: ClassVar[Table]  # pyright: ignore[reportIncompatibleVariableOverride]


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. ``Session.execute`` types every result as a
    ``Result``; for a statement without RETURNING it is a ``CursorResult``, which counts them."""
    return cast("CursorResult[Any]", result).rowcount


def utcnow() -> datetime:
    return datetime.now(UTC)


# Defaults of the settings ``db_pool_size`` and ``db_wait_timeout`` (see config.py).
POOL_SIZE = 20
WAIT_TIMEOUT = 5.0
# Connections beyond the pool for work that runs beside the requests: the demo's in-process
# worker, a background task finishing after its response.
POOL_HEADROOM = 5


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin: savepoints need it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    return on_connect


def make_engine(
    url: str,
    *,
    pool_size: int = POOL_SIZE,
    wait_timeout: float = WAIT_TIMEOUT,
    statement_timeout: float | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine whose every wait is bounded by ``wait_timeout`` seconds: for a pooled
    connection, a row lock (PostgreSQL ``lock_timeout``) and SQLite's write lock (busy
    timeout). A wait that runs out raises an error :func:`is_busy` recognises."""
    pool = {
        "pool_size": pool_size,
        "max_overflow": POOL_HEADROOM,
        "pool_timeout": wait_timeout,
    }
    milliseconds = int(wait_timeout * 1000)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pool | kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(milliseconds))
        # IMMEDIATE: a transaction takes the write lock when it starts, so two writers wait for
        # each other instead of failing on a stale snapshot (SQLITE_BUSY) halfway through.
        event.listen(
            engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE")
        )
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    options = f"-c lock_timeout={milliseconds}"
    if statement_timeout is not None:
        options += f" -c statement_timeout={int(statement_timeout * 1000)}"
    return create_engine(
        url, pool_pre_ping=True, connect_args={"options": options}, **pool | kwargs
    )


def engine_from_settings(settings: Settings, *, serving: bool = False) -> Engine:
    """The engine of the configured database; ``serving`` adds the requests' statement
    timeout (batch commands and the worker may run longer statements)."""
    return make_engine(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        wait_timeout=settings.db_wait_timeout,
        statement_timeout=settings.db_statement_timeout if serving else None,
    )


def is_busy(error: BaseException) -> bool:
    """Whether a database error means "too busy now, try again": no pooled connection in
    time, a lock or statement timeout, a deadlock or serialization failure, an unreachable
    PostgreSQL, SQLite's write lock held too long."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, OperationalError):
        return False
    if isinstance(error.orig, sqlite3.Error):
        message = str(error.orig).lower()
        return "locked" in message or "busy" in message
    return True  # psycopg's operational errors are all transient


class Database:
    """Owns the session factory. Tests bind it to one connection and roll back at the end."""

    def __init__(self, bind: Engine | Connection) -> None:
        self.bind = bind
        self.engine = bind if isinstance(bind, Engine) else bind.engine
        self._sessions = sessionmaker(
            bind=bind,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction per use case: commit once at the end, roll back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
