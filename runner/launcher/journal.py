"""The launcher's journal: one SQLite row per manifest entry, so a killed launch resumes.

Every transition is written, and committed, *before* it is reported: when the launcher says
"submitted", the journal already says so. The database runs in WAL mode with
``synchronous=FULL``, each write is one transaction, and a row changes in a single UPDATE, so
a process killed at any point leaves every row in its old state or its new one, never half.

States::

    pending -> submitted -> running -> succeeded | failed | stopped
          \\-> error (could not submit; retried on resume) -> submitted

``unfinished()`` lists the entries a resumed launch must deal with: pending and error ones to
submit, submitted and running ones to re-attach to (the runner finds them by name and digest).
Opening the same file twice (a resume, or a report while a launch runs) is safe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = [
    "FINISHED",
    "SETTLED",
    "STATES",
    "UNFINISHED",
    "AsyncJournal",
    "Journal",
    "JournalError",
    "Row",
]

SCHEMA_VERSION = 1
PENDING, SUBMITTED, RUNNING = "pending", "submitted", "running"
SUCCEEDED, FAILED, STOPPED, ERROR = "succeeded", "failed", "stopped", "error"
STATES = (PENDING, SUBMITTED, RUNNING, SUCCEEDED, FAILED, STOPPED, ERROR)
FINISHED = frozenset({SUCCEEDED, FAILED, STOPPED})
# No longer in flight: finished, or could not be submitted (an error waits for a resume).
SETTLED = FINISHED | {ERROR}
UNFINISHED = (PENDING, ERROR, SUBMITTED, RUNNING)

# Which state may follow which. Submitted and running may be recorded again (a resumed launch
# re-attaches); a finished entry stays finished.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({SUBMITTED, ERROR}),
    ERROR: frozenset({SUBMITTED, ERROR}),
    SUBMITTED: frozenset({SUBMITTED, RUNNING, *FINISHED, ERROR}),
    RUNNING: frozenset({SUBMITTED, RUNNING, *FINISHED, ERROR}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    STOPPED: frozenset(),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batch (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    job_name TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('pending', 'submitted', 'running', 'succeeded', 'failed', 'stopped', 'error')),
    status TEXT,
    failure_reason TEXT,
    outputs TEXT,
    submitted_at TEXT,
    ended_at TEXT,
    updated_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_state ON entries (state);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class JournalError(RuntimeError):
    """The journal cannot be used as asked: another batch, a newer schema, a bad transition,
    or an entry whose request changed since it was recorded."""


@dataclass(frozen=True)
class Row:
    id: str
    kind: str
    job_name: str
    request_digest: str
    state: str
    status: str | None
    failure_reason: str | None
    outputs: dict[str, Any] | None
    submitted_at: str | None
    ended_at: str | None
    updated_at: str
    attempts: int

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Journal:
    """The journal of one batch, in the SQLite file at ``path``. Use as a context manager, or
    ``close()`` it."""

    def __init__(self, path: str | Path, batch_id: str, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.batch_id = batch_id
        # isolation_level=None: no implicit transactions; each write is BEGIN IMMEDIATE/COMMIT.
        # check_same_thread=False: AsyncJournal hands the connection to its one worker thread;
        # the connection is still used by one thread at a time.
        self._db = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"{self.path}: cannot use WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._setup()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def existing(cls, path: str | Path) -> Journal:
        """The journal already at ``path``, whatever its batch (``smrun status``/``stop``)."""
        path = Path(path)
        if not path.is_file():
            raise JournalError(f"{path}: no such journal")
        try:
            with closing(sqlite3.connect(path)) as db:
                found = db.execute("SELECT id FROM batch").fetchone()
        except sqlite3.DatabaseError as error:
            raise JournalError(f"{path}: not an smrun journal ({error})") from None
        if found is None:
            raise JournalError(f"{path}: not an smrun journal (no batch recorded)")
        return cls(path, found[0])

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; rolled back whole if anything in it fails."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _setup(self) -> None:
        with self._write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            versions = [row[0] for row in db.execute("SELECT version FROM schema_version")]
            if not versions:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif max(versions) > SCHEMA_VERSION:
                raise JournalError(
                    f"{self.path}: schema version {max(versions)} is newer than this smrun "
                    f"({SCHEMA_VERSION}); upgrade smrun"
                )
            batches = [row[0] for row in db.execute("SELECT id FROM batch")]
            if not batches:
                db.execute(
                    "INSERT INTO batch (id, created_at) VALUES (?, ?)", (self.batch_id, _now())
                )
            elif batches != [self.batch_id]:
                raise JournalError(
                    f"{self.path}: journal of batch {batches[0]!r}, not {self.batch_id!r}"
                )

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0])

    # --- planning ----------------------------------------------------------------------------

    def plan(self, entries: Iterable[tuple[str, str, str, str]]) -> list[Row]:
        """Record ``(id, kind, job_name, request_digest)`` entries as pending, in one
        transaction; entries already journaled are kept as they are. Raises JournalError when
        an entry's request or job name differs from the one journaled (the manifest changed
        under the same batch id)."""
        items = list(entries)
        now = _now()
        with self._write() as db:
            start = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM entries").fetchone()[0]
            for offset, (entry_id, kind, job_name, digest) in enumerate(items):
                known = db.execute(
                    "SELECT kind, job_name, request_digest FROM entries WHERE id = ?", (entry_id,)
                ).fetchone()
                if known is None:
                    db.execute(
                        "INSERT INTO entries (id, position, kind, job_name, request_digest, "
                        "state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (entry_id, start + offset, kind, job_name, digest, PENDING, now),
                    )
                elif tuple(known) != (kind, job_name, digest):
                    raise JournalError(
                        f"entry {entry_id!r} was journaled as {known[0]} job {known[1]} "
                        f"(digest {known[2][:12]}), now {kind} job {job_name} "
                        f"(digest {digest[:12]}); use a new batch id"
                    )
        return [self.get(entry_id) for entry_id, *_ in items]

    # --- transitions -------------------------------------------------------------------------

    def submitted(self, entry_id: str, job_name: str | None = None) -> Row:
        """The job was created (or re-attached to): one more attempt."""
        now = _now()
        return self._transition(
            entry_id,
            SUBMITTED,
            "attempts = attempts + 1, submitted_at = ?, job_name = COALESCE(?, job_name), "
            "status = NULL, failure_reason = NULL",
            (now, job_name),
        )

    def running(self, entry_id: str, status: str | None = None) -> Row:
        return self._transition(entry_id, RUNNING, "status = COALESCE(?, status)", (status,))

    def ended(
        self,
        entry_id: str,
        state: str,
        *,
        status: str | None = None,
        failure_reason: str | None = None,
        outputs: Mapping[str, Any] | None = None,
    ) -> Row:
        """The job ended: ``state`` is succeeded, failed or stopped; ``status`` SageMaker's."""
        if state not in FINISHED:
            raise JournalError(f"{state!r} is not an end state ({', '.join(sorted(FINISHED))})")
        encoded = None if outputs is None else json.dumps(outputs, sort_keys=True, default=str)
        return self._transition(
            entry_id,
            state,
            "status = ?, failure_reason = ?, outputs = ?, ended_at = ?",
            (status, failure_reason, encoded, _now()),
        )

    def error(self, entry_id: str, reason: str) -> Row:
        """Submitting failed (a refused request, an AWS error): retried on resume."""
        return self._transition(entry_id, ERROR, "failure_reason = ?", (reason,))

    def _transition(
        self, entry_id: str, state: str, assignments: str, params: tuple[Any, ...]
    ) -> Row:
        with self._write() as db:
            found = db.execute("SELECT state FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if found is None:
                raise JournalError(f"no entry {entry_id!r} in the journal")
            if state not in TRANSITIONS[found[0]]:
                raise JournalError(f"entry {entry_id!r}: cannot go from {found[0]} to {state}")
            db.execute(
                f"UPDATE entries SET state = ?, updated_at = ?, {assignments} WHERE id = ?",
                (state, _now(), *params, entry_id),
            )
        return self.get(entry_id)

    # --- batch-wide settings ------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        """Record a batch-wide value (JSON): where the batch runs, whether a stop was asked."""
        with self._write() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, sort_keys=True)),
            )

    def meta(self, key: str, default: Any = None) -> Any:
        found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if found is None else json.loads(found[0])

    # --- reading -----------------------------------------------------------------------------

    _COLUMNS = (
        "id, kind, job_name, request_digest, state, status, failure_reason, outputs, "
        "submitted_at, ended_at, updated_at, attempts"
    )

    def get(self, entry_id: str) -> Row:
        found = self._db.execute(
            f"SELECT {self._COLUMNS} FROM entries WHERE id = ?", (entry_id,)
        ).fetchone()
        if found is None:
            raise KeyError(entry_id)
        return _row(found)

    def rows(self, *states: str) -> list[Row]:
        """Every entry, in manifest order; only those in ``states`` when given."""
        unknown = set(states) - set(STATES)
        if unknown:
            raise ValueError(f"unknown state(s): {', '.join(sorted(unknown))}")
        query = f"SELECT {self._COLUMNS} FROM entries"
        if states:
            query += f" WHERE state IN ({', '.join('?' for _ in states)})"
        return [_row(r) for r in self._db.execute(query + " ORDER BY position", states)]

    def unfinished(self) -> list[Row]:
        """What a resumed launch must handle: pending and error entries to submit, submitted
        and running ones to re-attach to."""
        return self.rows(*UNFINISHED)

    def counts(self) -> dict[str, int]:
        """How many entries are in each state (every state listed, zero included)."""
        counts = dict.fromkeys(STATES, 0)
        for state, number in self._db.execute("SELECT state, COUNT(*) FROM entries GROUP BY state"):
            counts[state] = number
        return counts


def _row(values: tuple[Any, ...]) -> Row:
    return Row(
        id=values[0],
        kind=values[1],
        job_name=values[2],
        request_digest=values[3],
        state=values[4],
        status=values[5],
        failure_reason=values[6],
        outputs=None if values[7] is None else json.loads(values[7]),
        submitted_at=values[8],
        ended_at=values[9],
        updated_at=values[10],
        attempts=int(values[11]),
    )


class AsyncJournal:
    """A journal for the event loop: every call runs, in order, on one worker thread, so a
    slow disk's fsync never stalls the loop. ``await journal.call(Journal.submitted, id)``
    returns once the change is committed; a caller cancelled meanwhile does not undo it."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smrun-journal")

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        write = loop.run_in_executor(self._worker, lambda: method(self.journal, *args, **kwargs))
        # Shielded: once asked for, the change is made even if the caller is cancelled.
        return await asyncio.shield(write)

    def close(self) -> None:
        """Finish the writes already asked for, then close the journal."""
        self._worker.shutdown(wait=True)
        self.journal.close()
