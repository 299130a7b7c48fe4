"""``watchstander migrate-db --from URL --to URL``: copy a whole database, SQLite → PostgreSQL or back.

The target is first brought to the newest schema with the bot's own migrations; a target that
already holds rows is refused unless ``force`` (then they are deleted first). Every table the bot
knows (read from the SQLAlchemy metadata, parents before children so foreign keys hold) is copied
from one read snapshot of the source — a single read transaction on SQLite, ``REPEATABLE READ``
on PostgreSQL — in batches, so memory stays bounded however large the history. Rows go through
the same column types the bot reads and writes with, so time zones, JSON and booleans arrive as
the bot stored them. The whole copy is one transaction on the target: it is all there or none of
it is. PostgreSQL's id sequences are then moved past the copied ids, and each table's row count
is compared with the source's before the transaction commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Column,
    Insert,
    Integer,
    MetaData,
    Table,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import Base, create_engine, migrate

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

BATCH = 1000  # rows read and written at a time
DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class MigrateError(Exception):
    """What went wrong, said so that the operator knows what to do; no traceback."""


@dataclass
class Copied:
    table: str
    rows: int


@dataclass
class MigrationReport:
    source: str
    target: str
    tables: list[Copied] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def lines(self) -> list[str]:
        width = max((len(t.table) for t in self.tables), default=0)
        out = [f"copied {self.source} → {self.target}:"]
        out += [f"  {t.table.ljust(width)}  {t.rows:>9,} rows" for t in self.tables]
        out.append(f"{len(self.tables)} tables, {self.rows:,} rows in {self.seconds:.1f} s; "
                   "each table's row count matches the source's.")
        return out


def tables() -> list[str]:
    """The name of every table of the bot, each after the tables its foreign keys point to."""
    import bot.models  # noqa: F401  (loads every table into Base.metadata)

    return [table.name for table in Base.metadata.sorted_tables]


def database_url(text_url: str, *, role: str) -> URL:
    """A URL the bot can open (``sqlite://`` and ``postgresql://`` get the bot's async drivers)."""
    try:
        url = make_url(text_url)
    except ArgumentError:
        raise MigrateError(f"--{role}: {text_url!r} is not a database URL (e.g. sqlite+aiosqlite:///./watchstander.db "
                           "or postgresql+asyncpg://user:password@host:5432/watchstander)") from None
    backend = "postgresql" if url.get_backend_name() in ("postgresql", "postgres") else url.get_backend_name()
    if backend not in DRIVERS:
        raise MigrateError(f"--{role}: {backend} is not supported; the bot runs on SQLite and PostgreSQL")
    if url.drivername not in (backend, url.get_backend_name(), DRIVERS[backend]):
        raise MigrateError(f"--{role}: use the {DRIVERS[backend]} driver, not {url.drivername}")
    url = url.set(drivername=DRIVERS[backend])
    if backend == "sqlite" and (not url.database or url.database == ":memory:"):
        raise MigrateError(f"--{role}: name a SQLite file, e.g. sqlite+aiosqlite:///./watchstander.db")
    return url


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _check_files(source: URL, target: URL) -> None:
    if source.get_backend_name() == "sqlite" and not Path(str(source.database)).is_file():
        raise MigrateError(f"--from: there is no SQLite database at {source.database}")
    if target.get_backend_name() == "sqlite" and not Path(str(target.database)).resolve().parent.is_dir():
        raise MigrateError(f"--to: the directory of {target.database} does not exist")
    same_file = source.get_backend_name() == target.get_backend_name() == "sqlite" and (
        Path(str(source.database)).resolve() == Path(str(target.database)).resolve())
    if same_file or (source.get_backend_name() != "sqlite" and shown(source) == shown(target)):
        raise MigrateError("--from and --to name the same database")


def _reason(exc: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's wrapping and links."""
    orig = getattr(exc, "orig", None) or exc
    words = str(orig).strip().splitlines()
    return words[0] if words else type(orig).__name__


async def _reachable(engine: AsyncEngine, url: URL, role: str) -> None:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError) as exc:
        raise MigrateError(f"--{role}: cannot open {shown(url)}: {_reason(exc)}") from None


def _heads(connection: Connection) -> tuple[set[str], set[str]]:
    """The source's Alembic revisions and this version's head."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from bot.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config(str(connection.engine.url)))
    return set(MigrationContext.configure(connection).get_current_heads()), set(script.get_heads())


async def _check_source_schema(conn: AsyncConnection, url: URL) -> None:
    current, head = await conn.run_sync(_heads)
    if current != head:
        at = ", ".join(sorted(current)) or "no revision (not a Watchstander database, or never migrated)"
        raise MigrateError(f"--from: {shown(url)} is at {at}, not at this version's {', '.join(sorted(head))}; "
                           f"bring it up to date first: DATABASE_URL={shown(url)} watchstander migrate")


async def _rows(conn: AsyncConnection, name: str) -> int:
    return int(await conn.scalar(select(func.count()).select_from(Base.metadata.tables[name])) or 0)


async def _held(conn: AsyncConnection) -> list[str]:
    held = []
    for name in tables():
        if await conn.scalar(select(literal_column("1")).select_from(Base.metadata.tables[name]).limit(1)) is not None:
            held.append(name)
    return held


def _insert(name: str) -> Insert:
    """The insert the copy writes with: the table's own column types, but a nullable JSON column's
    ``None`` stays SQL ``NULL`` (SQLAlchemy's JSON type would write JSON ``null``)."""
    table = Base.metadata.tables[name]
    columns = [Column(c.name, JSON(none_as_null=True) if isinstance(c.type, JSON) and c.nullable else c.type,
                      primary_key=c.primary_key, autoincrement=False) for c in table.columns]
    return insert(Table(name, MetaData(), *columns))


async def _copy_table(source: AsyncConnection, target: AsyncConnection, name: str) -> int:
    table, statement = Base.metadata.tables[name], _insert(name)
    copied = 0
    result = await source.stream(select(table).order_by(*table.primary_key.columns))
    async for batch in result.partitions(BATCH):
        await target.execute(statement, [dict(row._mapping) for row in batch])
        copied += len(batch)
    return copied


def _serial(name: str) -> str | None:
    """The name of the table's integer id column, if it has a one-column integer key."""
    keys = list(Base.metadata.tables[name].primary_key.columns)
    return keys[0].name if len(keys) == 1 and isinstance(keys[0].type, Integer) else None


async def _reset_sequences(target: AsyncConnection) -> None:
    """Move each id sequence past the copied ids, so the bot's next row does not collide (PostgreSQL)."""
    for name in tables():
        id_column = _serial(name)
        if id_column is None:
            continue
        sequence = await target.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": name, "c": id_column})
        if sequence is not None:
            await target.execute(text(f'SELECT setval(:s, COALESCE(MAX("{id_column}"), 1), MAX("{id_column}") IS NOT NULL) '
                                      f'FROM "{name}"'), {"s": sequence})


async def _snapshot(conn: AsyncConnection) -> None:
    """One consistent view of the source for the whole copy (SQLite: the read transaction itself)."""
    if conn.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ")
    await conn.begin()
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET TRANSACTION READ ONLY"))


async def _copy_all(source: AsyncConnection, target: AsyncConnection, report: MigrationReport,
                    progress: Callable[[str], object]) -> None:
    for name in tables():
        try:
            copied = await _copy_table(source, target, name)
        except (OSError, SQLAlchemyError, ValueError) as exc:  # ValueError: a value this version cannot read
            raise MigrateError(f"copying {name} failed, nothing was written to the target: {_reason(exc)}") from None
        expected, found = await _rows(source, name), await _rows(target, name)
        if not expected == found == copied:
            raise MigrateError(f"{name}: the source has {expected} rows but {found} arrived; nothing was written")
        report.tables.append(Copied(name, copied))
        progress(f"  {name}: {copied:,} rows")


async def _open_target(target: AsyncConnection, url: URL, force: bool) -> None:
    await target.begin()
    held = await _held(target)
    if held and not force:
        raise MigrateError(f"--to: {shown(url)} already holds data (in {', '.join(held)}); refusing to mix two "
                           "databases. Point --to at an empty database, or add --force to delete what it holds")
    for name in reversed(tables()):
        await target.execute(delete(Base.metadata.tables[name]))


async def _copy(source_engine: AsyncEngine, target_engine: AsyncEngine, target_url: URL, force: bool,
                report: MigrationReport, progress: Callable[[str], object]) -> None:
    async with source_engine.connect() as source, target_engine.connect() as target:
        await _snapshot(source)
        await _open_target(target, target_url, force)
        await _copy_all(source, target, report, progress)
        if target.dialect.name == "postgresql":
            await _reset_sequences(target)
        await target.commit()
        await source.rollback()


async def migrate_database(source_text: str, target_text: str, *, force: bool = False,
                           progress: Callable[[str], object] = lambda _line: None) -> MigrationReport:
    """Copy the database at ``source_text`` into the one at ``target_text``; raises :class:`MigrateError`."""
    source_url, target_url = database_url(source_text, role="from"), database_url(target_text, role="to")
    _check_files(source_url, target_url)
    report = MigrationReport(source=shown(source_url), target=shown(target_url))
    began = time.perf_counter()
    source_engine = create_engine(source_url.render_as_string(hide_password=False))
    target_engine = create_engine(target_url.render_as_string(hide_password=False))
    try:
        await _reachable(source_engine, source_url, "from")
        await _reachable(target_engine, target_url, "to")
        async with source_engine.connect() as source:
            await _check_source_schema(source, source_url)
        progress(f"bringing {report.target} to the newest schema")
        try:
            await migrate(target_url.render_as_string(hide_password=False))
        except (OSError, SQLAlchemyError) as exc:
            raise MigrateError(f"--to: migrating {report.target} failed: {_reason(exc)}") from None
        try:
            await _copy(source_engine, target_engine, target_url, force, report, progress)
        except (OSError, SQLAlchemyError) as exc:
            raise MigrateError(f"the copy failed, nothing was written to the target: {_reason(exc)}") from None
    finally:
        await source_engine.dispose()
        await target_engine.dispose()
    report.seconds = time.perf_counter() - began
    return report


def next_steps(report: MigrationReport, target_text: str) -> Sequence[str]:
    target = database_url(target_text, role="to")
    several = target.get_backend_name() == "postgresql"
    return [
        "Next:",
        f"  1. Set DATABASE_URL={shown(target)} for the bot" + (" (*** is the password)" if target.password else "")
        + (" — the same value on every replica." if several else "."),
        "  2. Start it: watchstander serve" + (" — as many replicas as you like, behind a load balancer that "
                                               "checks /readyz." if several else "."),
        f"  3. Keep {report.source} as it is until the bot runs well on the new database; it is your way back.",
    ]


def command(source: str, target: str, *, force: bool) -> int:
    """``watchstander migrate-db``: progress on stderr, the summary and what to do next on stdout."""
    import asyncio
    import sys

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    say("Stop the bot first: whatever it writes to the source after the copy has begun is not copied.")
    try:
        report = asyncio.run(migrate_database(source, target, force=force, progress=say))
    except MigrateError as exc:
        say(f"migrate-db: {exc}")
        return 1
    print("\n".join([*report.lines(), *next_steps(report, target)]))
    return 0
