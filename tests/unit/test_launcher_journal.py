"""The launcher journal: transitions, resume listing, reopening, and surviving SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from smrun.launcher.journal import FINISHED, Journal, JournalError

REPO = Path(__file__).resolve().parents[2]


def plan(journal: Journal, *ids: str) -> None:
    journal.plan((i, "training", f"job-{i}", f"digest-{i}") for i in ids)


def test_schema_and_pragmas(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db", "b1") as journal:
        assert journal.schema_version == 2
        mode = journal._db.execute("PRAGMA journal_mode").fetchone()[0]
        sync = journal._db.execute("PRAGMA synchronous").fetchone()[0]
        assert (mode, sync) == ("wal", 2)  # 2 is FULL


def test_a_full_lifecycle(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db", "b1") as journal:
        (row,) = journal.plan([("a", "training", "job-a", "d1")])
        assert (row.state, row.attempts, row.submitted_at) == ("pending", 0, None)
        row = journal.submitted("a")
        assert (row.state, row.attempts) == ("submitted", 1)
        assert row.submitted_at is not None
        row = journal.running("a", status="InProgress")
        assert (row.state, row.status) == ("running", "InProgress")
        row = journal.ended(
            "a", "succeeded", status="Completed", outputs={"model_artifact_url": "s3://x"}
        )
        assert row.state == "succeeded" and row.finished
        assert row.outputs == {"model_artifact_url": "s3://x"}
        assert row.ended_at is not None and row.ended_at >= row.submitted_at
        with pytest.raises(JournalError, match="cannot go from succeeded to running"):
            journal.running("a")


def test_failure_and_error_are_recorded(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db", "b1") as journal:
        plan(journal, "a", "b")
        journal.error("a", "AccessDenied")
        assert journal.get("a").failure_reason == "AccessDenied"
        journal.submitted("a", job_name="renamed")  # retried after the error
        assert journal.get("a").failure_reason is None
        assert journal.get("a").job_name == "renamed"
        journal.submitted("b")
        journal.ended("b", "failed", status="Failed", failure_reason="OOM")
        row = journal.get("b")
        assert (row.state, row.status, row.failure_reason) == ("failed", "Failed", "OOM")
        with pytest.raises(JournalError, match="not an end state"):
            journal.ended("a", "running")
        with pytest.raises(JournalError, match="cannot go from pending"):
            plan(journal, "c")
            journal.running("c")
        with pytest.raises(JournalError, match="no entry"):
            journal.submitted("zzz")


def test_unfinished_lists_what_a_resume_must_handle(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db", "b1") as journal:
        plan(journal, "p", "s", "r", "ok", "bad", "stop", "err")
        journal.submitted("s")
        journal.submitted("r")
        journal.running("r")
        for entry_id, state in (("ok", "succeeded"), ("bad", "failed"), ("stop", "stopped")):
            journal.submitted(entry_id)
            journal.ended(entry_id, state)
        journal.error("err", "throttled")
        assert [r.id for r in journal.unfinished()] == ["p", "s", "r", "err"]  # manifest order
        assert [r.id for r in journal.rows("succeeded", "failed")] == ["ok", "bad"]
        assert [r.id for r in journal.rows()] == ["p", "s", "r", "ok", "bad", "stop", "err"]
        assert journal.counts() == {
            "pending": 1,
            "submitted": 1,
            "running": 1,
            "succeeded": 1,
            "failed": 1,
            "stopped": 1,
            "error": 1,
        }
        with pytest.raises(ValueError, match="unknown state"):
            journal.rows("lost")


def test_reopen_keeps_state_and_replanning_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path, "b1") as journal:
        plan(journal, "a", "b")
        journal.submitted("a")
    with Journal(path, "b1") as again:
        plan(again, "a", "b", "c")  # a resumed launch plans the whole manifest again
        assert [(r.id, r.state, r.attempts) for r in again.rows()] == [
            ("a", "submitted", 1),
            ("b", "pending", 0),
            ("c", "pending", 0),
        ]
        with pytest.raises(JournalError, match="use a new batch id"):
            again.plan([("a", "training", "job-a", "another-digest")])
        assert again.get("a").request_digest == "digest-a"


def test_two_handles_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal(path, "b1") as writer, Journal(path, "b1") as reader:
        plan(writer, "a")
        writer.submitted("a")
        assert reader.get("a").state == "submitted"
        reader.running("a")
        assert writer.get("a").state == "running"


def test_another_batch_or_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    Journal(path, "b1").close()
    with pytest.raises(JournalError, match="journal of batch 'b1'"):
        Journal(path, "b2")
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (99)")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="schema version 99"):
        Journal(path, "b1")


WRITER = textwrap.dedent(
    """
    import sys
    from smrun.launcher.journal import Journal

    journal = Journal(sys.argv[1], "killed")
    ids = [f"e{i}" for i in range(20)]
    journal.plan((i, "training", f"job-{i}", f"d-{i}") for i in ids)
    print("ready", flush=True)
    round = 0
    while True:
        for i in ids:
            row = journal.get(i)
            if row.state == "pending":
                journal.submitted(i)
            elif row.state == "submitted":
                journal.running(i, status="InProgress")
            elif row.state == "running":
                journal.ended(i, "failed" if round % 2 else "succeeded", status="Done",
                              failure_reason="r" if round % 2 else None, outputs={"n": round})
        round += 1
        if all(journal.get(i).finished for i in ids):
            # start over (one atomic statement) so the loop runs until killed
            journal._db.execute(
                "UPDATE entries SET state = 'pending', attempts = 0, submitted_at = NULL, "
                "ended_at = NULL, status = NULL, failure_reason = NULL, outputs = NULL"
            )
    """
)


def test_sigkill_mid_write_leaves_a_consistent_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(0.3)  # let it write for a while
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL

    with Journal(path, "killed") as journal:
        assert journal._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = journal.rows()
        assert len(rows) == 20
        for row in rows:
            # every row is in one state or another, never between: its fields agree
            if row.state == "pending":
                assert (row.attempts, row.submitted_at, row.ended_at) == (0, None, None)
            else:
                assert row.attempts == 1 and row.submitted_at is not None
            if row.state == "running":
                assert row.status == "InProgress"
            if row.state in FINISHED:
                assert row.ended_at is not None and row.status == "Done"
                assert row.outputs is not None
                assert (row.failure_reason is None) == (row.state == "succeeded")
        # and the journal can carry on where the killed process left off
        for row in journal.unfinished():
            if row.state == "pending":
                journal.submitted(row.id)
        assert all(r.state != "pending" for r in journal.rows())
