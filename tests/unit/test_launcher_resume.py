"""The resume rules: what a launch does with each entry of a batch it ran before, an edited
manifest told field by field, and reruns under new names."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from smrun.launcher.journal import Journal, JournalError
from smrun.launcher.manifest import Manifest, load_manifest, parse_manifest
from smrun.launcher.resume import (
    LEAVE,
    REATTACH,
    RERUN,
    SUBMIT,
    SUBMIT_AGAIN,
    plan_resume,
)

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:1"


def processing(image: str = IMAGE, **extra: Any) -> dict[str, Any]:
    return {
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": image},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            }
        },
        **extra,
    }


def sweep(eta: str = "{{ matrix.eta }}", rounds: str = "50") -> dict[str, Any]:
    return {
        "batch": "b1",
        "region": "us-east-1",
        "defaults": {"inputs": {"role": ROLE}},
        "jobs": [
            {
                "kind": "training",
                "name": "xgb",
                "matrix": {"eta": ["0.1", "0.2"], "depth": ["4", "8"]},
                "inputs": {
                    "algorithm_name": "xgboost",
                    "hyperparameters": {"eta": eta, "max_depth": "{{ matrix.depth }}", "n": rounds},
                    "channels": [
                        {
                            "ChannelName": "train",
                            "DataSource": {
                                "S3DataSource": {"S3Uri": "s3://b/t", "S3DataType": "S3Prefix"}
                            },
                        }
                    ],
                    "model_artifact_path": "s3://b/models",
                },
            },
            {"kind": "processing", "name": "prep", "request": processing()},
        ],
    }


def journal_of(tmp_path: Path, manifest: Manifest, **states: str) -> Journal:
    """A journal with ``manifest`` planned, and entries moved to ``states`` (id=state)."""
    journal = Journal(tmp_path / "j.sqlite", manifest.batch_id)
    journal.plan(d.planned() for d in plan_resume(manifest, []).decisions)
    for entry_id, state in states.items():
        if state == "error":
            journal.error(entry_id, "refused")
            continue
        journal.submitted(entry_id)
        if state in ("succeeded", "failed", "stopped"):
            journal.ended(entry_id, state, status=state.title())
        elif state == "running":
            journal.running(entry_id, "InProgress")
    return journal


def actions(plan: Any) -> dict[str, str]:
    return {d.entry.id: d.action for d in plan.decisions}


def test_an_unchanged_batch_resumes_by_state(tmp_path: Path) -> None:
    manifest = parse_manifest(sweep())
    states = {
        "xgb-eta-0-1-depth-4": "succeeded",
        "xgb-eta-0-1-depth-8": "failed",
        "xgb-eta-0-2-depth-4": "running",
        "xgb-eta-0-2-depth-8": "error",
    }
    with journal_of(tmp_path, manifest, **states) as journal:
        plan = plan_resume(manifest, journal.rows())
    assert plan.problems == []
    assert actions(plan) == {
        "xgb-eta-0-1-depth-4": LEAVE,
        "xgb-eta-0-1-depth-8": LEAVE,
        "xgb-eta-0-2-depth-4": REATTACH,
        "xgb-eta-0-2-depth-8": SUBMIT_AGAIN,
        "prep": SUBMIT,
    }


def test_a_comment_is_no_edit_and_the_batch_id_survives_it(tmp_path: Path) -> None:
    data = sweep()
    del data["batch"]
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    first = load_manifest(path)
    with journal_of(tmp_path, first, prep="succeeded") as journal:
        path.write_text("# tuned on Monday\n" + yaml.safe_dump(data))
        again = load_manifest(path)
        assert again.batch_id == first.batch_id
        plan = plan_resume(again, journal.rows())
    assert plan.problems == [] and actions(plan)["prep"] == LEAVE


def test_an_edited_entry_that_ran_is_a_problem_naming_the_field(tmp_path: Path) -> None:
    manifest = parse_manifest(sweep())
    finished = dict.fromkeys([e.id for e in manifest.entries], "succeeded")
    with journal_of(tmp_path, manifest, **finished) as journal:
        edited = parse_manifest(sweep(rounds="60"))
        plan = plan_resume(edited, journal.rows())
    # One line for the four expansions of the sweep, naming the input and both values.
    assert [str(p) for p in plan.problems] == [
        "jobs[0](xgb-eta-0-1-depth-4 and 3 more).inputs.hyperparameters.n: changed since the "
        "batch ran it (succeeded): was '50', now '60'; rerun it as a new job with "
        "--retry changed, or start a new batch"
    ]


def test_every_changed_field_of_a_raw_request_is_counted(tmp_path: Path) -> None:
    data = sweep()
    manifest = parse_manifest(data)
    with journal_of(tmp_path, manifest, prep="failed") as journal:
        data["jobs"][1]["request"] = processing(image="other:2", Environment={"MODE": "x"})
        (problem,) = plan_resume(parse_manifest(data), journal.rows()).problems
    assert problem.path == "jobs[1].request.AppSpecification.ImageUri"
    assert f"was {IMAGE!r}, now 'other:2'; also request.Environment" in problem.rule
    assert "--retry changed (or --retry failed)" in problem.rule


def test_edits_before_anything_was_sent_are_taken_as_they_are(tmp_path: Path) -> None:
    manifest = parse_manifest(sweep())
    with journal_of(tmp_path, manifest, **{"xgb-eta-0-1-depth-4": "error"}) as journal:
        edited = parse_manifest(sweep(rounds="60"))
        plan = plan_resume(edited, journal.rows())
        assert plan.problems == []
        journal.plan(d.planned() for d in plan.decisions)  # the new request is journaled
        row = journal.get("xgb-eta-0-1-depth-8")
    assert row.request_digest == edited.entry("xgb-eta-0-1-depth-8").digest


def test_an_edited_entry_in_flight_is_refused_even_with_retry(tmp_path: Path) -> None:
    manifest = parse_manifest(sweep())
    with journal_of(tmp_path, manifest, prep="running") as journal:
        data = sweep()
        data["jobs"][1]["request"] = processing(image="other:2")
        plan = plan_resume(parse_manifest(data), journal.rows(), {"changed"})
    (problem,) = plan.problems
    assert problem.path == "jobs[1].request.AppSpecification.ImageUri"
    assert "it is in flight" in problem.rule


def test_retry_reruns_failed_stopped_or_changed_entries_under_new_names(tmp_path: Path) -> None:
    manifest = parse_manifest(sweep())
    states = {
        "xgb-eta-0-1-depth-4": "succeeded",
        "xgb-eta-0-1-depth-8": "failed",
        "xgb-eta-0-2-depth-4": "stopped",
        "prep": "succeeded",
    }
    with journal_of(tmp_path, manifest, **states) as journal:
        only_stopped = plan_resume(manifest, journal.rows(), {"stopped"})
        assert actions(only_stopped)["xgb-eta-0-2-depth-4"] == RERUN
        assert actions(only_stopped)["xgb-eta-0-1-depth-8"] == LEAVE

        data = sweep()
        data["jobs"][1]["request"] = processing(image="other:2")
        plan = plan_resume(parse_manifest(data), journal.rows(), {"failed", "changed"})
        assert plan.problems == []
        assert actions(plan) == {
            "xgb-eta-0-1-depth-4": LEAVE,
            "xgb-eta-0-1-depth-8": RERUN,
            "xgb-eta-0-2-depth-4": LEAVE,  # stopped, not asked for
            "xgb-eta-0-2-depth-8": SUBMIT,
            "prep": RERUN,  # succeeded, but changed
        }
        old_name = journal.get("prep").job_name
        rows = {row.id: row for row in journal.plan(d.planned() for d in plan.decisions)}
    prep = rows["prep"]
    assert (prep.state, prep.retries, prep.outputs, prep.ended_at) == ("pending", 1, None, None)
    assert prep.job_name != old_name and "prep-retry-1" in prep.job_name
    assert rows["xgb-eta-0-1-depth-4"].state == "succeeded"
    # A second rerun gets another name again.
    second = manifest.entry("prep").job_name_for(2)
    assert second not in (old_name, prep.job_name) and "prep-retry-2" in second


def test_a_request_that_names_its_job_cannot_be_rerun(tmp_path: Path) -> None:
    data = sweep()
    data["jobs"][1]["request"] = processing(ProcessingJobName="my-prep")
    manifest = parse_manifest(data)
    with journal_of(tmp_path, manifest, prep="failed") as journal:
        (problem,) = plan_resume(manifest, journal.rows(), {"failed"}).problems
    assert problem.path == "jobs[1].request.ProcessingJobName"
    assert "a rerun needs a new job name" in problem.rule


def test_entries_the_manifest_dropped_are_listed_and_left(tmp_path: Path) -> None:
    manifest = parse_manifest(sweep())
    with journal_of(tmp_path, manifest, prep="succeeded") as journal:
        data = sweep()
        del data["jobs"][1]
        plan = plan_resume(parse_manifest(data), journal.rows())
    assert plan.dropped == ["prep"] and plan.problems == []


def test_the_journal_refuses_a_rerun_of_an_entry_in_flight(tmp_path: Path) -> None:
    manifest = parse_manifest(sweep())
    with journal_of(tmp_path, manifest, prep="running") as journal:
        entry = manifest.entry("prep")
        with pytest.raises(JournalError, match="cannot be rerun"):
            journal.plan(
                [(entry.id, entry.kind, entry.job_name_for(1), entry.digest, None, None, True)]
            )


def test_a_version_1_journal_is_migrated_and_read_only_opening_writes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (1);
        CREATE TABLE batch (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
        INSERT INTO batch VALUES ('b1', '2026-01-01');
        CREATE TABLE entries (id TEXT PRIMARY KEY, position INTEGER NOT NULL, kind TEXT NOT NULL,
            job_name TEXT NOT NULL, request_digest TEXT NOT NULL, state TEXT NOT NULL,
            status TEXT, failure_reason TEXT, outputs TEXT, submitted_at TEXT, ended_at TEXT,
            updated_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
        INSERT INTO entries VALUES ('prep', 0, 'processing', 'job-prep', 'd', 'succeeded',
            'Completed', NULL, NULL, NULL, NULL, '2026-01-01', 1);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )
    db.commit()
    db.close()
    before = path.read_bytes()
    with Journal.existing(path, read_only=True) as reader:
        (row,) = reader.rows()
        assert (row.id, row.retries, row.body) == ("prep", 0, None)
    assert path.read_bytes() == before
    # An edit against a journal that kept no body still names the entry.
    manifest = parse_manifest(sweep())
    (problem,) = plan_resume(manifest, [row]).problems
    assert problem.path == "jobs[1].request" and "older smrun" in problem.rule
    with Journal(path, "b1") as journal:
        assert journal.schema_version == 2
        assert journal.get("prep").retries == 0
