"""Journal: a SQLite record of each run and of each row's outcome as soon as it is known.

``--resume`` reads it to skip rows an interrupted run already saved. Each outcome is committed on
its own (WAL, synchronous=NORMAL: a killed process loses nothing committed; only a power cut may
lose the last few, which then are simply sent again).

The lock is an ``flock`` on a file beside the journal: the kernel releases it when the holder
dies, however it dies, so a stale lock is taken over without any guesswork about PIDs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError

__all__ = ["DEFAULT_JOURNAL", "Journal", "JournalRow", "JournalRun", "row_hashes", "values_hash"]

DEFAULT_JOURNAL = Path(".sip-import") / "journal.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,              -- running | finished | abandoned
    sheet_sha256 TEXT NOT NULL,
    gateway TEXT NOT NULL,
    pid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS row_outcomes (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    row_key TEXT NOT NULL,             -- lowercase endpoint name
    row INTEGER NOT NULL,
    values_hash TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error_key TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (run_id, row_key)
);
"""

#: Outcomes after which a row needs nothing more from a resumed run.
DONE = frozenset({"created", "updated", "renamed", "unchanged", "skipped"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def values_hash(values: Mapping[str, Any]) -> str:
    """A stable fingerprint of the values a row asks for."""
    text = json.dumps(dict(sorted(values.items())), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


_HASH_ROWS = 16384
#: Characters ``json.dumps`` escapes inside a string (the rest are copied as they are).
_ESCAPED = r'[\x00-\x1f"\\]'


def row_hashes(frame: pd.DataFrame) -> list[str]:
    """``values_hash`` of each row's ``row_values`` (its text cells), built column by column:
    each row's JSON text as ``values_hash`` writes it, joined by Arrow, then one hash per row.
    At 100,000 rows, 0.2 s; per row, through dicts and ``json.dumps``, it was 0.8 s. A few
    thousand rows at a time: all at once, the texts took 100 MB more at their peak, and
    Arrow's allocator kept most of it."""
    hashes: list[str] = []
    for start in range(0, len(frame), _HASH_ROWS):
        hashes += _row_hashes(frame.iloc[start : start + _HASH_ROWS])
    pa.default_memory_pool().release_unused()
    return hashes


def _row_hashes(frame: pd.DataFrame) -> list[str]:
    text = pa.large_string()
    encode = json.encoder.encode_basestring  # json.dumps' own, with ensure_ascii=False
    empty = pa.scalar("", text)
    joined: pa.Array | None = None
    for column in sorted(frame.columns):
        cells = frame[column]
        if isinstance(cells.dtype, pd.StringDtype):
            values = pa.array(cells).cast(text)
        else:  # only text cells count, as in row_values
            values = pa.array([v if isinstance(v, str) else None for v in cells.tolist()], text)
        head = "," + encode(column) + ":"
        quoted = pc.binary_join_element_wise(
            pa.scalar(head + '"', text), values, pa.scalar('"', text), pa.scalar("", text)
        )
        special = pc.match_substring_regex(values, _ESCAPED)
        if pc.any(special).as_py():
            escaped = [
                head + encode(value) if value is not None and hit else None
                for value, hit in zip(values.to_pylist(), special.to_pylist(), strict=True)
            ]
            quoted = pc.if_else(special, pa.array(escaped, text), quoted)
        # Each cell ",KEY:VALUE" or "" (null_handling="skip" of pyarrow 26 drops the rows
        # whose values are all null, so nulls are filled first); the first comma is cut per
        # row. Joined as they come: one column's texts at a time besides the rows'.
        quoted = pc.fill_null(quoted, "")
        joined = quoted if joined is None else pc.binary_join_element_wise(joined, quoted, empty)
    if joined is None:
        return [values_hash({})] * len(frame)
    sha256 = hashlib.sha256
    return [
        sha256(b"{" + row[1:] + b"}").hexdigest()[:32]
        for row in joined.cast(pa.large_binary()).to_pylist()
    ]


@dataclass(frozen=True)
class JournalRow:
    row: int
    values_hash: str
    outcome: str


class JournalRun:
    """One run against one gateway in an open journal (a fleet's run has one per gateway)."""

    def __init__(self, conn: sqlite3.Connection, run_id: int, resumed_from: int | None) -> None:
        self.conn = conn
        self.run_id = run_id
        self.resumed_from = resumed_from

    def record(
        self, row_key: str, row: int, digest: str, outcome: str, error_key: str = ""
    ) -> None:
        # Autocommit mode: this statement is its own transaction, durable once it returns.
        self.conn.execute(
            "INSERT OR REPLACE INTO row_outcomes "
            "(run_id, row_key, row, values_hash, outcome, error_key, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, row_key, row, digest, outcome, error_key, _now()),
        )

    def finish(self) -> None:
        self.conn.execute(
            "UPDATE runs SET status = 'finished', finished_at = ? WHERE id = ?",
            (_now(), self.run_id),
        )


class Journal:
    """``with Journal.open(path) as journal:`` holds the lock for the ``with`` block.

    ``start`` opens the one run of a single-gateway job (``record`` and ``finish`` then go to
    it); ``begin`` opens one more run, for one gateway of a fleet."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: IO[str]) -> None:
        self.path = path
        self.conn = conn
        self._lock = lock
        self.run_id: int | None = None
        self.resumed_from: int | None = None
        self.run = JournalRun(conn, 0, None)

    @classmethod
    def open(cls, path: Path, command: str = "sync") -> Journal:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = path.with_name(path.name + ".lock")
        lock = lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder_command, _, holder = lock.read().strip().partition("\t")
            lock.close()
            raise InputError(
                f"another {holder_command or 'sync'} is running ({holder or 'pid unknown'})"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{command}\tpid {os.getpid()}, started at {_now()}")
        lock.flush()
        try:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            lock.close()
            raise InputError(f"journal {path} cannot be used: {exc}") from None
        return cls(path, conn, lock)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()
        # Closing the file releases the flock; the stale text left in it is harmless.
        self._lock.close()

    def start(
        self, command: str, sheet_sha256: str, gateway: str, resume: bool
    ) -> dict[str, JournalRow]:
        """Open the run (see ``begin``) and return its rows done."""
        self.run, done = self.begin(command, sheet_sha256, gateway, resume)
        self.run_id, self.resumed_from = self.run.run_id, self.run.resumed_from
        return done

    def begin(
        self, command: str, sheet_sha256: str, gateway: str, resume: bool
    ) -> tuple[JournalRun, dict[str, JournalRow]]:
        """Open a run. With ``resume``, continue the newest unfinished run for this sheet and
        gateway and return its rows; otherwise unfinished runs for them are marked abandoned."""
        previous = self.conn.execute(
            "SELECT id FROM runs WHERE status = 'running' AND sheet_sha256 = ? AND gateway = ? "
            "ORDER BY id DESC LIMIT 1",
            (sheet_sha256, gateway),
        ).fetchone()
        done: dict[str, JournalRow] = {}
        resumed_from: int | None = None
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            if resume and previous is not None:
                run_id = resumed_from = int(previous[0])
                self.conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (os.getpid(), run_id))
                for key, row, digest, outcome in self.conn.execute(
                    "SELECT row_key, row, values_hash, outcome FROM row_outcomes WHERE run_id = ?",
                    (run_id,),
                ):
                    done[key] = JournalRow(row, digest, outcome)
            else:
                self.conn.execute(
                    "UPDATE runs SET status = 'abandoned' WHERE status = 'running' "
                    "AND sheet_sha256 = ? AND gateway = ?",
                    (sheet_sha256, gateway),
                )
                cursor = self.conn.execute(
                    "INSERT INTO runs (command, started_at, status, sheet_sha256, gateway, pid) "
                    "VALUES (?, ?, 'running', ?, ?, ?)",
                    (command, _now(), sheet_sha256, gateway, os.getpid()),
                )
                run_id = int(cursor.lastrowid or 0)
        return JournalRun(self.conn, run_id, resumed_from), done

    def record(
        self, row_key: str, row: int, digest: str, outcome: str, error_key: str = ""
    ) -> None:
        self.run.record(row_key, row, digest, outcome, error_key)

    def finish(self) -> None:
        self.run.finish()
