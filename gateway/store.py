"""SQLite storage of endpoints: one table, WAL, every write committed before it returns.

All database work runs on one dedicated thread. That keeps the event loop free while SQLite
waits for fsync, and it serializes writers in-process, so a save's read-merge-write never
races another save (SQLite allows one writer at a time anyway; queueing in Python is cheaper
than spinning on SQLITE_BUSY). ``BEGIN IMMEDIATE`` plus the ``UNIQUE COLLATE NOCASE`` name
column keep that true even if a second process opened the same file.

Writes are group-committed: the writes that arrive while a commit is running go together into
the next transaction, each in its own savepoint (one that fails rolls back alone, as if it had
its own transaction), with one COMMIT, one fsync and one hop to the database thread for all of
them. No write is answered before the COMMIT that holds it returned, so durability is the same
as one transaction per write; under concurrency the gateway spends far less CPU per save.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "SCHEMA",
    "Row",
    "Store",
    "all_rows",
    "by_id",
    "by_name",
    "connect",
    "delete",
    "insert",
    "update",
]

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    object_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    data JSON NOT NULL DEFAULT '{}'
)
"""
# AUTOINCREMENT: ids of deleted endpoints are never handed out again, so a stale object_id in
# somebody's sheet can only miss (ENDPOINT_NOT_FOUND), never hit a different endpoint.


@dataclass(frozen=True)
class Row:
    """One stored endpoint. ``data`` holds every parameter but ``name``, as wire values."""

    object_id: int
    name: str
    data: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The SPEC's record shape: ids as strings, values as stored."""
        return {"object_id": str(self.object_id), "name": self.name, **self.data}


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating if needed) the database with the gateway's pragmas and schema.

    Autocommit mode (``isolation_level=None``): transactions are explicit ``BEGIN``/``COMMIT``
    so it is visible in the code exactly when a save becomes durable.
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    # Another process holding the write lock (a second gateway, a test poking the file) makes
    # us wait a little instead of failing the call at once.
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute(SCHEMA)
    return conn


class Store:
    """The endpoints table behind an async facade (``await store.write(fn)``)."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self._synchronous = synchronous
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        #: Writes waiting for the next group commit, with the futures their callers await.
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-db")
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(
            self._executor, connect, self.path, self._synchronous
        )

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._committer is not None:  # answer the writes already accepted first
            await asyncio.wait([self._committer])
        if self._conn is not None:
            conn = self._conn
            self._conn = None
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)
        self._executor = None

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a write transaction; it is committed (durably) when this returns.

        ``fn``'s exception is raised here and undoes what ``fn`` did, nothing else."""
        if self._executor is None or self._conn is None:
            raise RuntimeError("store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((fn, future))
        if self._committer is None:
            self._committer = loop.create_task(self._commit_pending())
        return await future

    async def _commit_pending(self) -> None:
        """Commit batches of pending writes until none is left."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending and self._executor is not None and self._conn is not None:
                batch, self._pending = self._pending, []
                try:
                    outcomes = await loop.run_in_executor(
                        self._executor, _write_batch, self._conn, [fn for fn, _ in batch]
                    )
                except BaseException as exc:  # BEGIN or COMMIT failed: nothing was stored
                    outcomes = [(False, exc)] * len(batch)
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller went away (cancelled); the write stands
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._committer = None

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one read transaction (a consistent snapshot)."""
        return await self._run(fn, "BEGIN")

    async def _run(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        if self._executor is None or self._conn is None:
            raise RuntimeError("store is not open")
        conn = self._conn

        def job() -> T:
            conn.execute(begin)
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await asyncio.get_running_loop().run_in_executor(self._executor, job)


def _write_batch(
    conn: sqlite3.Connection, fns: list[Callable[[sqlite3.Connection], Any]]
) -> list[tuple[bool, Any]]:
    """On the database thread: every ``fn`` in one transaction, each in a savepoint; returns
    ``(True, result)`` or ``(False, exception)`` per ``fn`` once the COMMIT is durable."""
    outcomes: list[tuple[bool, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for fn in fns:
            conn.execute("SAVEPOINT write")
            try:
                result = fn(conn)
            except Exception as exc:
                conn.execute("ROLLBACK TO write")
                conn.execute("RELEASE write")
                outcomes.append((False, exc))
            else:
                conn.execute("RELEASE write")
                outcomes.append((True, result))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed COMMIT leaves it open; the next BEGIN must work
            conn.execute("ROLLBACK")
        raise
    return outcomes


# -- queries used by the methods (run inside a transaction, on the store's thread) ------------


def _row(found: tuple[int, str, str] | None) -> Row | None:
    if found is None:
        return None
    return Row(found[0], found[1], json.loads(found[2]))


def by_name(conn: sqlite3.Connection, name: str) -> Row | None:
    cur = conn.execute("SELECT object_id, name, data FROM endpoints WHERE name = ?", (name,))
    return _row(cur.fetchone())


def by_id(conn: sqlite3.Connection, object_id: int) -> Row | None:
    cur = conn.execute(
        "SELECT object_id, name, data FROM endpoints WHERE object_id = ?", (object_id,)
    )
    return _row(cur.fetchone())


def all_rows(conn: sqlite3.Connection) -> list[Row]:
    cur = conn.execute("SELECT object_id, name, data FROM endpoints ORDER BY object_id")
    return [Row(i, n, json.loads(d)) for i, n, d in cur.fetchall()]


def insert(conn: sqlite3.Connection, name: str, data: dict[str, Any]) -> int:
    cur = conn.execute("INSERT INTO endpoints (name, data) VALUES (?, ?)", (name, json.dumps(data)))
    if cur.lastrowid is None:  # cannot happen for a plain INSERT; keeps the type honest
        raise RuntimeError("INSERT returned no rowid")
    return cur.lastrowid


def update(conn: sqlite3.Connection, object_id: int, name: str, data: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE endpoints SET name = ?, data = ? WHERE object_id = ?",
        (name, json.dumps(data), object_id),
    )


def delete(conn: sqlite3.Connection, object_id: int) -> None:
    conn.execute("DELETE FROM endpoints WHERE object_id = ?", (object_id,))
