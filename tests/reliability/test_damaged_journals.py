"""Damaged and foreign journals (issue 16, point 8): ``smrun status`` and ``smrun launch``
each refuse them with one line saying what to do, exit 2, and leave the file as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from smrun.launcher.journal import SCHEMA_VERSION, Journal, JournalUnreadable
from smrun.launcher.manifest import load_manifest
from support.cli_runs import dry_run, good_manifest, write


def journaled(tmp_path: Path) -> tuple[Path, Path]:
    """A manifest and the journal a launch of it left (one entry, pending)."""
    manifest_path = write(tmp_path / "batch.json", good_manifest())
    journal_path = tmp_path / "journal.sqlite"
    entry = load_manifest(manifest_path).entries[0]
    with Journal(journal_path, "hostile") as journal:
        journal.plan([(entry.id, entry.kind, entry.job_name, entry.digest)])
    return manifest_path, journal_path


def sql(*statements: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        with closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA ignore_check_constraints = ON")
            for statement in statements:
                db.execute(statement)
            db.commit()

    return damage


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])


def garbled(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(100, len(data), 97):  # past the header: SQLite still opens it
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def not_sqlite(path: Path) -> None:
    path.write_text("jobs:\n  - this is a manifest, not a journal\n")


def foreign(path: Path) -> None:
    path.unlink()
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO photos (name) VALUES ('cat.jpg')")
        db.commit()


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (truncated, "damaged"),
    "garbled": (garbled, "damaged"),
    "not SQLite": (not_sqlite, "not an SQLite file"),
    "foreign SQLite": (foreign, "not an smrun journal"),
    "unknown state": (sql("UPDATE entries SET state = 'exploded'"), "CHECK constraint failed"),
    "non-JSON outputs": (sql("UPDATE entries SET outputs = '{oops'"), "outputs column is not JSON"),
    "non-object body": (sql("UPDATE entries SET body = '[1]'"), "body column is a JSON list"),
    "newer schema": (
        sql(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}"),
        "written by a newer smrun",
    ),
}


@pytest.fixture(params=sorted(CASES))
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path, str, bytes]:
    manifest_path, journal_path = journaled(tmp_path)
    damage, words = CASES[request.param]
    damage(journal_path)
    return manifest_path, journal_path, words, journal_path.read_bytes()


def one_line_refusal(ran: Any, words: str) -> None:
    assert ran.code == 2, ran.err
    assert "Traceback" not in ran.err
    assert words in ran.err, ran.err
    told = [line for line in ran.err.splitlines() if "journal" in line]
    assert told and all(
        "move it aside" in line or "upgrade smrun" in line or "another --journal" in line
        for line in told
    ), ran.err


def test_status_refuses(smrun: Any, damaged: tuple[Path, Path, str, bytes]) -> None:
    _, journal_path, words, before = damaged
    one_line_refusal(smrun("status", journal_path), words)
    assert journal_path.read_bytes() == before


def test_status_json_refuses(smrun: Any, damaged: tuple[Path, Path, str, bytes]) -> None:
    _, journal_path, words, before = damaged
    one_line_refusal(smrun("status", "--json", journal_path), words)
    assert journal_path.read_bytes() == before


def test_launch_refuses(smrun: Any, damaged: tuple[Path, Path, str, bytes]) -> None:
    manifest_path, journal_path, words, before = damaged
    one_line_refusal(smrun(*dry_run(manifest_path, "--journal", journal_path)), words)
    assert journal_path.read_bytes() == before


def test_opening_to_write_changes_nothing(damaged: tuple[Path, Path, str, bytes]) -> None:
    _, journal_path, _, before = damaged
    with pytest.raises(JournalUnreadable), Journal(journal_path, "hostile") as journal:
        journal.rows()
    assert journal_path.read_bytes() == before


def test_an_empty_file_is_a_new_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"")  # nothing was ever recorded in it
    with Journal(path, "hostile") as journal:
        assert journal.rows() == []


def test_a_changed_request_is_a_message(smrun: Any, tmp_path: Path) -> None:
    """An entry sent as one request and now another: the plan refuses it in words, exit 2."""
    manifest_path, journal_path = journaled(tmp_path)
    with Journal(journal_path, "hostile") as journal:
        journal.submitted("prep")
    data = good_manifest()
    data["jobs"][0]["request"]["StoppingCondition"] = {"MaxRuntimeInSeconds": 77}
    write(manifest_path, data)
    ran = smrun(*dry_run(manifest_path, "--journal", journal_path))
    assert ran.code == 2 and "Traceback" not in ran.err
    assert "jobs[0].request: changed since the batch ran it" in ran.err, ran.err
