"""The launcher's journal: one SQLite row per manifest entry, so a killed launch resumes.

Every transition is written, and committed, *before* it is reported: when the launcher says
"submitted", the journal already says so. The database runs in WAL mode with
``synchronous=FULL``, each write is one transaction, and a row changes in a single UPDATE, so
a process killed at any point leaves every row in its old state or its new one, never half.

States::

    pending -> submitted -> running -> succeeded | failed | stopped
          \\-> error (could not submit; retried on resume) -> submitted
    failed | stopped | succeeded | error -> pending (a rerun, ``--retry``: retries + 1)

``unfinished()`` lists the entries a resumed launch must deal with: pending and error ones to
submit, submitted and running ones to re-attach to (the runner finds them by name and digest).
Each row keeps what the manifest said (``body``: the entry's inputs or request, filled in), so
that an edited manifest can be told field by field (``smrun.launcher.resume``), and
``retries``, the number of reruns: each rerun is a new job under a new name.
Opening the same file twice (a resume, or a report while a launch runs) is safe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

__all__ = [
    "FINISHED",
    "SETTLED",
    "STATES",
    "UNFINISHED",
    "AsyncJournal",
    "Journal",
    "JournalError",
    "JournalUnreadable",
    "Planned",
    "Row",
]

SCHEMA_VERSION = 2
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
    attempts INTEGER NOT NULL DEFAULT 0,
    body TEXT,
    matrix TEXT,
    retries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_state ON entries (state);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added since schema version 1, added to a version-1 journal when it is opened.
_ADDED_COLUMNS = {
    "body": "TEXT",
    "matrix": "TEXT",
    "retries": "INTEGER NOT NULL DEFAULT 0",
}
RERUNNABLE = frozenset({SUCCEEDED, FAILED, STOPPED, ERROR})  # may go back to pending (retry)


class JournalError(RuntimeError):
    """The journal cannot be used as asked: another batch, a newer schema, a bad transition,
    or an entry whose request changed since it was recorded."""


class JournalUnreadable(JournalError):
    """The file is not a journal this smrun can read (not SQLite, another program's
    database, damaged, or from a newer smrun): nothing in it is changed."""


_SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
_JOURNAL_TABLES = frozenset({"schema_version", "batch", "entries", "meta"})
# What a user can do about a journal that cannot be read. Moving it aside loses nothing: a
# relaunch of the same manifest finds the jobs it created by their names and digests
# (runner.core adopts them), none is created twice.
MOVE_ASIDE = (
    "move it aside (keep it: it records this batch) and launch the manifest again, which "
    "finds the jobs already created by their names, or restore it from a copy"
)


def check_readable(path: Path) -> None:
    """Raise JournalUnreadable, one line with what to do, unless ``path`` is missing, empty
    (nothing was ever recorded in it) or an smrun journal of a schema this smrun reads. Only
    reads: a file that is refused is left exactly as it was."""
    try:
        with path.open("rb") as stream:
            header = stream.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as error:
        raise JournalUnreadable(f"{path}: cannot be read ({error.strerror or error})") from None
    if not header:
        return
    if header != _SQLITE_HEADER:
        raise JournalUnreadable(
            f"{path}: not an SQLite file, so not an smrun journal; {MOVE_ASIDE}"
        )
    try:
        # A plain connection, read from only: a read-only one cannot open a WAL journal that
        # a killed launch left to be recovered.
        with closing(sqlite3.connect(path)) as db:
            _check_contents(path, db)
    except sqlite3.DatabaseError as error:
        raise JournalUnreadable(f"{path}: damaged ({error}); {MOVE_ASIDE}") from None


def _check_contents(path: Path, db: sqlite3.Connection) -> None:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = _JOURNAL_TABLES - tables - {"meta"}  # meta came with schema version 2
    if missing:
        raise JournalUnreadable(
            f"{path}: an SQLite database but not an smrun journal (no "
            f"{', '.join(sorted(missing))} table); name another --journal"
        )
    versions = [row[0] for row in db.execute("SELECT version FROM schema_version")]
    if not all(isinstance(v, int) for v in versions):
        raise JournalUnreadable(f"{path}: damaged (schema version {versions!r}); {MOVE_ASIDE}")
    if versions and max(versions) > SCHEMA_VERSION:
        raise JournalUnreadable(
            f"{path}: written by a newer smrun (schema version {max(versions)}, this smrun "
            f"reads up to {SCHEMA_VERSION}); upgrade smrun to use it"
        )
    problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise JournalUnreadable(f"{path}: damaged ({'; '.join(problems)}); {MOVE_ASIDE}")


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
    body: dict[str, Any] | None = None  # {"key": "inputs"|"request", "value": {...}}
    matrix: dict[str, Any] | None = None
    retries: int = 0  # reruns asked with --retry; 0: the first run

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def never_sent(self) -> bool:
        """No Create was ever answered for it: pending, or an error before any."""
        return self.state == PENDING or (self.state == ERROR and self.attempts == 0)


class Planned(NamedTuple):
    """An entry as ``Journal.plan`` records it. ``retry``: a finished entry to run again, as a
    new job under ``job_name``; otherwise a journaled entry must be unchanged unless it was
    never sent (pending, or an error before any Create)."""

    id: str
    kind: str
    job_name: str
    request_digest: str
    body: Mapping[str, Any] | None = None
    matrix: Mapping[str, Any] | None = None
    retry: bool = False


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Journal:
    """The journal of one batch, in the SQLite file at ``path``. Use as a context manager, or
    ``close()`` it."""

    def __init__(
        self, path: str | Path, batch_id: str, *, timeout: float = 30.0, read_only: bool = False
    ) -> None:
        self.path = Path(path)
        self.batch_id = batch_id
        check_readable(self.path)
        # isolation_level=None: no implicit transactions; each write is BEGIN IMMEDIATE/COMMIT.
        # check_same_thread=False: AsyncJournal hands the connection to its one worker thread;
        # the connection is still used by one thread at a time.
        target = f"{self.path.resolve().as_uri()}?mode=ro" if read_only else str(self.path)
        self._db = sqlite3.connect(
            target,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=read_only,
        )
        try:
            with self._reading():
                self._open(timeout, read_only=read_only)
        except BaseException:
            self._db.close()
            raise

    def _open(self, timeout: float, *, read_only: bool) -> None:
        """Set the connection up (WAL, the schema); a read-only one only reads."""
        self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if not read_only:
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"{self.path}: cannot use WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._setup()
        self._select = self._select_list()

    def _select_list(self) -> str:
        """The columns rows are read with; a journal opened read-only may predate some."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(entries)")}
        missing = {"retries": "0"}
        return ", ".join(
            name if name in have else missing.get(name, "NULL") for name in self._COLUMNS
        )

    @classmethod
    def existing(cls, path: str | Path, *, read_only: bool = False) -> Journal:
        """The journal already at ``path``, whatever its batch (``smrun status``/``stop``);
        ``read_only``: opened without writing anything (``--dry-run``)."""
        path = Path(path)
        if not path.is_file():
            raise JournalError(f"{path}: no such journal")
        check_readable(path)
        try:
            with closing(sqlite3.connect(path)) as db:
                found = db.execute("SELECT id FROM batch").fetchone()
        except sqlite3.DatabaseError as error:
            raise JournalUnreadable(f"{path}: damaged ({error}); {MOVE_ASIDE}") from None
        if found is None:
            raise JournalUnreadable(
                f"{path}: not an smrun journal (no batch recorded); {MOVE_ASIDE}"
            )
        return cls(path, found[0], read_only=read_only)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """SQLite's own errors as what they mean here: a file found damaged while it is read
        (a page that a truncation or an overwrite spoiled) is JournalUnreadable."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
                raise
            raise JournalUnreadable(f"{self.path}: damaged ({error}); {MOVE_ASIDE}") from None

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
            if versions and max(versions) > SCHEMA_VERSION:
                raise JournalError(
                    f"{self.path}: schema version {max(versions)} is newer than this smrun "
                    f"({SCHEMA_VERSION}); upgrade smrun"
                )
            if not versions or max(versions) < SCHEMA_VERSION:
                have = {row[1] for row in db.execute("PRAGMA table_info(entries)")}
                for column, declaration in _ADDED_COLUMNS.items():
                    if column not in have:
                        db.execute(f"ALTER TABLE entries ADD COLUMN {column} {declaration}")
                db.execute("DELETE FROM schema_version")
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
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

    def plan(self, entries: Iterable[Planned | tuple[Any, ...]]) -> list[Row]:
        """Record the manifest's entries, in one transaction: new ones as pending; pending ones
        (and errors before any Create) take the manifest's current request; ``retry`` ones go
        back to pending as a new job (``retries`` + 1); the rest are kept as they are. Raises
        JournalError when a kept entry's request or job name differs from the journaled one
        (``smrun.launcher.resume`` reports that, field by field, before a launch starts)."""
        items = [Planned(*item) for item in entries]
        now = _now()
        with self._write() as db:
            start = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM entries").fetchone()[0]
            for offset, item in enumerate(items):
                body = None if item.body is None else _encode(item.body)
                # The sweep's own key order: the report's columns follow it.
                matrix = json.dumps(dict(item.matrix), default=str) if item.matrix else None
                known = db.execute(
                    "SELECT kind, job_name, request_digest, state, attempts FROM entries "
                    "WHERE id = ?",
                    (item.id,),
                ).fetchone()
                fields = (item.kind, item.job_name, item.request_digest, body, matrix)
                if known is None:
                    db.execute(
                        "INSERT INTO entries (id, position, kind, job_name, request_digest, "
                        "body, matrix, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (item.id, start + offset, *fields, PENDING, now),
                    )
                    continue
                kind, job_name, digest, state, attempts = known
                unsent = state == PENDING or (state == ERROR and attempts == 0)
                if item.retry:
                    if state not in RERUNNABLE:
                        raise JournalError(f"entry {item.id!r} is {state}: it cannot be rerun")
                    db.execute(
                        "UPDATE entries SET kind = ?, job_name = ?, request_digest = ?, "
                        "body = ?, matrix = ?, state = ?, status = NULL, failure_reason = NULL, "
                        "outputs = NULL, submitted_at = NULL, ended_at = NULL, updated_at = ?, "
                        "retries = retries + 1 WHERE id = ?",
                        (*fields, PENDING, now, item.id),
                    )
                elif (kind, job_name, digest) == fields[:3] or unsent:
                    db.execute(
                        "UPDATE entries SET kind = ?, job_name = ?, request_digest = ?, "
                        "body = COALESCE(?, body), matrix = COALESCE(?, matrix) WHERE id = ?",
                        (*fields, item.id),
                    )
                else:
                    raise JournalError(
                        f"entry {item.id!r} was journaled as {kind} job {job_name} "
                        f"(digest {digest[:12]}), now {item.kind} job {item.job_name} "
                        f"(digest {item.request_digest[:12]}); use a new batch id"
                    )
        return [self.get(item.id) for item in items]

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

    def not_sent(self, entry_id: str, reason: str) -> None:
        """Why a pending entry is still pending (its Create abandoned at a shutdown): said in
        the reports and ``smrun status``; cleared when it is sent."""
        with self._write() as db:
            db.execute(
                "UPDATE entries SET failure_reason = ?, updated_at = ? WHERE id = ? AND state = ?",
                (reason, _now(), entry_id, PENDING),
            )

    def running(self, entry_id: str, status: str | None = None) -> Row:
        return self._transition(entry_id, RUNNING, "status = COALESCE(?, status)", (status,))

    def running_many(self, entry_ids: Sequence[str], status: str) -> list[str]:
        """Journal every one of ``entry_ids`` running with ``status``, in one transaction (a
        shutdown records hundreds at its bound); the ids it could (one that ended meanwhile
        is left as it is)."""
        recorded = []
        now = _now()
        with self._write() as db:
            for entry_id in entry_ids:
                found = db.execute("SELECT state FROM entries WHERE id = ?", (entry_id,)).fetchone()
                if found is None or RUNNING not in TRANSITIONS[found[0]]:
                    continue
                db.execute(
                    "UPDATE entries SET state = ?, updated_at = ?, status = ? WHERE id = ?",
                    (RUNNING, now, status, entry_id),
                )
                recorded.append(entry_id)
        return recorded

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
        encoded = None if outputs is None else _encode(outputs)
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
        with self._reading():
            found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if found is None:
            return default
        try:
            return json.loads(found[0])
        except (ValueError, TypeError):
            raise JournalUnreadable(
                f"{self.path}: batch value {key!r} is not JSON; {MOVE_ASIDE}"
            ) from None

    # --- reading -----------------------------------------------------------------------------

    _COLUMNS = (
        "id",
        "kind",
        "job_name",
        "request_digest",
        "state",
        "status",
        "failure_reason",
        "outputs",
        "submitted_at",
        "ended_at",
        "updated_at",
        "attempts",
        "body",
        "matrix",
        "retries",
    )

    def get(self, entry_id: str) -> Row:
        with self._reading():
            found = self._db.execute(
                f"SELECT {self._select} FROM entries WHERE id = ?", (entry_id,)
            ).fetchone()
        if found is None:
            raise KeyError(entry_id)
        return self._row(found)

    def rows(self, *states: str) -> list[Row]:
        """Every entry, in manifest order; only those in ``states`` when given."""
        unknown = set(states) - set(STATES)
        if unknown:
            raise ValueError(f"unknown state(s): {', '.join(sorted(unknown))}")
        query = f"SELECT {self._select} FROM entries"
        if states:
            query += f" WHERE state IN ({', '.join('?' for _ in states)})"
        with self._reading():
            found = self._db.execute(query + " ORDER BY position", states).fetchall()
        return [self._row(r) for r in found]

    def unfinished(self) -> list[Row]:
        """What a resumed launch must handle: pending and error entries to submit, submitted
        and running ones to re-attach to."""
        return self.rows(*UNFINISHED)

    def counts(self) -> dict[str, int]:
        """How many entries are in each state (every state listed, zero included)."""
        counts = dict.fromkeys(STATES, 0)
        with self._reading():
            found = self._db.execute("SELECT state, COUNT(*) FROM entries GROUP BY state")
            for state, number in found.fetchall():
                if state not in counts:
                    raise self._unknown_state(state)
                counts[state] = number
        return counts

    def _unknown_state(self, state: object) -> JournalUnreadable:
        return JournalUnreadable(
            f"{self.path}: an entry's state is {state!r}, not one smrun writes "
            f"({', '.join(STATES)}); {MOVE_ASIDE}"
        )

    def _row(self, values: tuple[Any, ...]) -> Row:
        """A row as read; what smrun never writes (an unknown state, a column that is not
        JSON) is JournalUnreadable naming the entry and the column."""
        if values[4] not in STATES:
            raise self._unknown_state(values[4])
        try:
            return _row(values)
        except (ValueError, TypeError) as error:
            raise JournalUnreadable(
                f"{self.path}: entry {values[0]!r} cannot be read ({error}); {MOVE_ASIDE}"
            ) from None


def _encode(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _decoded(text: str | None, column: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        raise ValueError(f"its {column} column is not JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"its {column} column is a JSON {type(value).__name__}, not an object")
    return value


def _row(values: tuple[Any, ...]) -> Row:
    return Row(
        id=values[0],
        kind=values[1],
        job_name=values[2],
        request_digest=values[3],
        state=values[4],
        status=values[5],
        failure_reason=values[6],
        outputs=_decoded(values[7], "outputs"),
        submitted_at=values[8],
        ended_at=values[9],
        updated_at=values[10],
        attempts=int(values[11]),
        body=_decoded(values[12], "body"),
        matrix=_decoded(values[13], "matrix"),
        retries=int(values[14]),
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
