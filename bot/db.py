"""Engine, sessions, the shared declarative base and migrations.

SQLite (the default) runs in WAL mode with ``synchronous=FULL`` so that an alert we answered 202
for survives ``kill -9`` and power loss alike; PostgreSQL is used as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import JSON, DateTime, MetaData, Select, String, column, delete, event, insert, table
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones; it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


log = logging.getLogger(__name__)
E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class EnumString(TypeDecorator[E]):
    """A word of the domain (a status, a severity, a kind) stored as its enum's value in a plain
    ``VARCHAR``, so the schema (and every database already migrated) is the one it always was.

    Writing a value that is not a member raises, and so does reading one: a typo fails where it is
    made, and a row no member matches is an error, not a string that falls through every ``match``."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


MAX_ID = 2**31 - 1  # ids are INTEGER columns: PostgreSQL's and any 32-bit reader's limit


def record_id(value: object) -> int | None:
    """The id of a row, from a button value, a form field or a URL the bot made: ASCII digits of a
    number a database id can be. Anything else (``²``, 30 digits, ``-1``, a list) is no id."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # aiosqlite's default transaction handling only begins on DML; we want BEGIN
            # IMMEDIATE-like behaviour for writers, so take explicit control of transactions.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # Deferred: readers never block in WAL mode. Writers are serialized in-process by
            # transaction()'s lock, so no write transaction ever has to upgrade against another.
            conn.exec_driver_sql("BEGIN")

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


REPLICA_POLL_SECONDS = 2.0
SINGLE_PROCESS_POLL_SECONDS = 15.0


def idle_poll_seconds(sessions: async_sessionmaker[AsyncSession]) -> float:
    """The longest a background loop with nothing due sleeps before looking again.

    Each loop sleeps until its own next deadline, and whatever this process commits wakes it at
    once; the poll is for what it cannot be told of. On PostgreSQL that is other replicas' work,
    so every 2 s. On SQLite the process is the only writer, and the poll is only a safety net
    (for a code path that commits work and forgets to wake the senders): every 15 s, so an idle
    bot with thousands of open alerts costs next to nothing."""
    engine = sessions.kw.get("bind")
    sqlite = engine is not None and engine.dialect.name == "sqlite"
    return SINGLE_PROCESS_POLL_SECONDS if sqlite else REPLICA_POLL_SECONDS


_WRITERS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer_lock(sessions: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    """SQLite has one writer at a time; queueing writers here instead of in SQLite's busy handler
    (which sleeps up to 100 ms between tries) keeps webhook and Slack latency low under load."""
    engine = sessions.kw.get("bind")
    if engine is None or engine.dialect.name != "sqlite":
        return None
    lock = _WRITERS.get(engine.sync_engine)
    if lock is None:
        lock = _WRITERS[engine.sync_engine] = asyncio.Lock()
    return lock


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error. Do not nest them."""
    lock = _writer_lock(sessions)
    async with contextlib.AsyncExitStack() as stack:
        if lock is not None:
            await stack.enter_async_context(lock)
        session = await stack.enter_async_context(sessions())
        await stack.enter_async_context(session.begin())
        yield session


# deadlock_detected, serialization_failure: PostgreSQL rolled the transaction back to let another
# one through. It did nothing, and the manual's advice is to run it again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


TRANSACTION_ATTEMPTS = 3


def lost_to_another_transaction(exc: BaseException) -> bool:
    """True if ``exc`` says PostgreSQL aborted the transaction to break a deadlock or a
    serialization conflict (never on SQLite, whose one writer at a time cannot deadlock)."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


async def run_again_if_lost(what: str, work: Callable[[], Awaitable[T]]) -> T:
    """``work()`` (one transaction), run again, up to :data:`TRANSACTION_ATTEMPTS` times in all, when
    PostgreSQL aborts it for another transaction's sake; ``what`` names it in the log."""
    for attempt in range(1, TRANSACTION_ATTEMPTS):
        try:
            return await work()
        except DBAPIError as exc:
            if not lost_to_another_transaction(exc):
                raise
            log.info("%s lost a deadlock to another transaction; running it again (attempt %d of %d)",
                     what, attempt + 1, TRANSACTION_ATTEMPTS)
    return await work()


# --- migrations --------------------------------------------------------------------------------

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


# Until December 2026 revisions 0002…0006 were five branches off 0001, so a database migrated then has
# one alembic_version row per branch. They are now one line, in this order.
_FORMER_BRANCHES = ("0002_oncall", "0003_escalation", "0004_incidents", "0005_handoffs", "0006_reports")


def collapse_former_branches(connection: Connection, migration: MigrationContext, script: ScriptDirectory) -> None:
    """Rewrite the old per-branch stamps as the one linear revision they amount to, first applying any
    branch the database never got (each branch stood alone on 0001). Called from env.py, inside the
    migration transaction, before Alembic reads the stamps."""
    from alembic.operations import Operations

    stamps = set(migration.get_current_heads())
    if len(stamps) < 2:
        return
    if not stamps <= set(_FORMER_BRANCHES):
        raise RuntimeError(f"the database is stamped with unknown revisions {sorted(stamps)}")
    last = max(_FORMER_BRANCHES.index(rev) for rev in stamps)
    with Operations.context(migration):
        for rev in _FORMER_BRANCHES[:last]:
            found = script.get_revision(rev)
            if rev not in stamps and found is not None:
                found.module.upgrade()
    versions = table(migration.version_table, column("version_num"), schema=migration.version_table_schema)
    connection.execute(delete(versions))
    connection.execute(insert(versions).values(version_num=_FORMER_BRANCHES[last]))


def _upgrade_sync(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")


async def migrate(url: str) -> None:
    """Apply pending migrations (Alembic runs its own event loop, so do it in a thread)."""
    await asyncio.to_thread(_upgrade_sync, url)


Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])  # a select of any columns


def dialect_of(session: AsyncSession) -> str:
    """``sqlite`` or ``postgresql``: the few places that differ (row locks, id numbering) ask this."""
    return session.get_bind().dialect.name


def upsert(session: AsyncSession, entity: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` (``on_conflict_do_nothing`` / ``on_conflict_do_update``), which
    both dialects have, each under its own class."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert)(entity)


def skip_locked(query: Q, session: AsyncSession) -> Q:
    """Row locks that other replicas skip over, so each due row is claimed by exactly one of them.
    SQLite has one writer (``BEGIN IMMEDIATE``), so it needs none."""
    return query.with_for_update(skip_locked=True) if dialect_of(session) == "postgresql" else query
