"""The launcher against the emulator, in process: a 300-job batch, limits, backpressure,
resuming, interrupting, and a stop asked through the journal."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from emulator.server import EmulatorServer
from emulator.state import EmulatorConfig
from runner.naming import Identity, deterministic_name
from smrun.launcher.journal import FINISHED, Journal
from smrun.launcher.launch import STOP_REQUESTED, Launch
from smrun.launcher.manifest import parse_manifest
from support import requests as req
from support.clock import HeldClock
from support.launching import launch
from support.manifests import entry, manifest, most_at_once, raw_job
from support.stats import fetch_stats


def created(stats: dict[str, Any], kind: str = "TrainingJob") -> int:
    return int(stats["calls"].get(f"Create{kind}", 0))


async def test_a_300_job_batch_ends_with_every_outcome_journaled_and_reported(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(
        entry("fit", "training", raw_job("training", 0.8), count=150),
        entry("slow-fit", "training", raw_job("training", 2.0), count=40),
        entry(
            "bad-fit", "training", raw_job("training", 0.5, fail="AlgorithmError: NaN"), count=10
        ),
        entry("prep", "processing", raw_job("processing", 1.0), count=95),
        entry("bad-prep", "processing", raw_job("processing", 0.5, fail="ClientError: x"), count=5),
    )
    result = await launch(emulator.url, data, tmp_path, concurrency=120)

    assert result.interrupted is None and not result.all_succeeded
    assert result.counts == {
        "pending": 0,
        "submitted": 0,
        "running": 0,
        "succeeded": 285,
        "failed": 15,
        "stopped": 0,
        "error": 0,
    }
    by_id = {row.id: row for row in result.rows}
    assert by_id["bad-fit-3"].state == "failed"
    assert by_id["bad-fit-3"].failure_reason == "AlgorithmError: NaN"
    assert by_id["fit-0"].outputs and by_id["fit-0"].outputs["model_artifact_url"].startswith(
        "s3://"
    )
    assert by_id["prep-7"].outputs == {
        "job_name": by_id["prep-7"].job_name,
        "output_artifacts": {"out": "s3://bucket/processed"},
    }
    # The report has every job, as the journal does.
    assert result.reports is not None
    records = [json.loads(line) for line in result.reports.jsonl.read_text().splitlines()]
    assert [r["id"] for r in records] == [row.id for row in result.rows]
    assert {r["id"]: r["state"] for r in records} == {row.id: row.state for row in result.rows}
    assert all(r["duration_s"] is not None and r["duration_s"] >= 0 for r in records)
    summary = json.loads(result.reports.summary.read_text())
    assert summary["states"]["failed"] == 15 and len(summary["failures"]) == 15
    # One Create per entry, no more; a log file per job.
    stats = await fetch_stats(emulator.url)
    assert created(stats) == 200 and created(stats, "ProcessingJob") == 100
    assert len(list((tmp_path / "out" / "logs").glob("*.log"))) == 300
    # Status calls grow with time, not with jobs: List sweeps, and a Describe at each end.
    describes = stats["calls"].get("DescribeTrainingJob", 0)
    assert describes <= 2 * 200 + 20


async def test_limits_cap_jobs_per_kind_and_instances_per_type(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(
        entry("fit", "training", raw_job("training", 0.6), count=8),
        entry(
            "big",
            "processing",
            raw_job("processing", 0.6, instance_count=2, instance_type="ml.c5.xlarge"),
            count=6,
        ),
        entry("small", "processing", raw_job("processing", 0.6), count=6),
    )
    data["limits"] = {"training": 5, "processing:ml.c5.xlarge": 4}  # the manifest's
    result = await launch(
        emulator.url,
        data,
        tmp_path,
        concurrency=20,
        limits={"training": 2},  # over it
    )
    assert result.all_succeeded
    rows = (await fetch_stats(emulator.url))["jobs"]
    training = [r for r in rows if r["kind"] == "training"]
    big = [
        r for r in rows if r["kind"] == "processing" and r["name"].startswith("ProcessingJob-big")
    ]
    small = [r for r in rows if r["kind"] == "processing" and "small" in r["name"]]
    assert most_at_once(training) == 2
    assert most_at_once(big, weight=lambda row: 2) == 4  # instances, as quotas count them
    assert most_at_once(small) > 2  # no limit on that type: only the overall one


async def test_resource_limit_exceeded_is_backpressure_not_failure(tmp_path: Path) -> None:
    # The account's quota (4 instances of the type) is below what the batch asks for at once.
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2, max_instances_per_type=4)
    async with EmulatorServer(config) as emulator:
        data = manifest(
            entry("fit", "training", raw_job("training", 0.6, instance_count=2), count=10)
        )
        result = await launch(emulator.url, data, tmp_path, concurrency=10, backoff_max=1.0)
        stats = await fetch_stats(emulator.url)
    assert result.all_succeeded, result.counts
    assert created(stats) > 10  # some Creates were refused, and later made again
    assert most_at_once(stats["jobs"], weight=lambda row: 2) <= 4
    assert all(row.attempts == 1 for row in result.rows)


async def test_a_resumed_launch_reattaches_and_never_creates_twice(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(entry("fit", "training", raw_job("training", 1.5), count=30))
    # Held, no job can end before the first launch detaches, however slow the machine.
    clock = emulator.emulator.clock = HeldClock()

    def some_submitted(run: Launch) -> str | None:
        sent = run.tally.counts.get("submitted", 0) + run.tally.counts.get("running", 0)
        return "detach" if sent >= 10 else None

    first = await launch(
        emulator.url,
        data,
        tmp_path,
        concurrency=12,
        leave_running=True,
        interrupt_when=some_submitted,
    )
    assert first.interrupted == "detach" and first.left_running
    in_flight = [row for row in first.rows if row.state in ("submitted", "running")]
    assert in_flight and any(row.state == "pending" for row in first.rows)
    stats = await fetch_stats(emulator.url)
    assert not any(row["stop_requested_at"] for row in stats["jobs"])  # left running

    clock.release()
    second = await launch(emulator.url, data, tmp_path, concurrency=12)
    assert second.all_succeeded
    # 30 jobs (a Create sent as the first launch left, unjournaled, was refused on resume
    # and re-attached to: an entry never journaled as sent goes to Create without a lookup).
    stats = await fetch_stats(emulator.url)
    assert len(stats["jobs"]) == len({row["name"] for row in stats["jobs"]}) == 30
    for row in second.rows:
        assert row.attempts == (2 if row.id in {r.id for r in in_flight} else 1)


async def test_an_interrupt_stops_every_job_in_flight_and_submits_no_more(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(entry("long", "training", raw_job("training", 60), count=12))

    seen: list[Any] = []

    def all_running(run: Launch) -> str | None:
        # What the live view shows of them: SageMaker's secondary status and their instances.
        training = [job for job in run.tally.running if job.secondary == "Training"]
        if run.tally.counts.get("running", 0) >= 5 and len(training) == 5:
            seen.extend(training)
            return "SIGTERM"
        return None

    result = await launch(emulator.url, data, tmp_path, concurrency=5, interrupt_when=all_running)
    assert {(job.kind, job.instances) for job in seen} == {("training", "1 x ml.m5.xlarge")}
    assert result.interrupted == "SIGTERM" and not result.left_running
    states = [row.state for row in result.rows]
    assert states.count("stopped") == 5 and states.count("pending") == 7
    stats = await fetch_stats(emulator.url)
    assert created(stats) == 5
    assert all(row["stop_requested_at"] for row in stats["jobs"])
    stopped = [row for row in result.rows if row.state == "stopped"]
    assert all("stopped by the runner (SIGTERM)" in (row.failure_reason or "") for row in stopped)


async def test_smrun_stop_through_the_journal_stops_a_running_launch(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(entry("long", "training", raw_job("training", 60), count=4))

    async def ask_to_stop() -> None:
        while True:
            await asyncio.sleep(0.1)
            with Journal.existing(tmp_path / "journal.sqlite") as other:
                if other.counts()["running"] == 4:
                    other.set_meta(STOP_REQUESTED, True)
                    return

    asker = asyncio.create_task(ask_to_stop())
    result = await launch(emulator.url, data, tmp_path, concurrency=4)
    await asker
    assert result.interrupted == "smrun stop"
    assert [row.state for row in result.rows] == ["stopped"] * 4


async def test_an_entry_that_cannot_be_submitted_is_an_error_and_the_rest_run(
    emulator: Any, client_factory: Any, tmp_path: Path
) -> None:
    data = manifest(entry("fit", "training", raw_job("training", 0.3), count=3))
    parsed = parse_manifest(data)
    # Someone else's job already has the name entry fit-1 would take (from another request).
    taken = deterministic_name(Identity(parsed.batch_id, "fit-1"), "TrainingJob", 63)
    async with client_factory("sagemaker") as sagemaker:
        await sagemaker.create_training_job(**req.training(taken))
    result = await launch(emulator.url, parsed, tmp_path)
    by_id = {row.id: row for row in result.rows}
    assert by_id["fit-1"].state == "error"
    assert "already exists but was created from a different request" in (
        by_id["fit-1"].failure_reason or ""
    )
    assert by_id["fit-0"].state == by_id["fit-2"].state == "succeeded"
    # A rerun tries the error entry again (here: the same conflict) and leaves the rest.
    again = await launch(emulator.url, parsed, tmp_path)
    assert {row.id: row.state for row in again.rows} == {row.id: row.state for row in result.rows}
    # Three jobs: theirs, and our two. fit-1 was never sent, so no lookup went before its
    # Create: SageMaker refused the Create (ResourceInUse), once per launch, and the conflict
    # was found then.
    assert created(await fetch_stats(emulator.url)) == 3 + 2
    async with client_factory("sagemaker") as sagemaker:
        listed = await sagemaker.list_training_jobs(MaxResults=100)
    assert len(listed["TrainingJobSummaries"]) == 3


async def test_a_finished_batch_relaunched_does_nothing(emulator: Any, tmp_path: Path) -> None:
    data = manifest(entry("fit", "training", raw_job("training", 0.3), count=3))
    first = await launch(emulator.url, data, tmp_path)
    again = await launch(emulator.url, data, tmp_path)
    assert first.all_succeeded and again.all_succeeded
    assert all(row.state in FINISHED for row in again.rows)
    stats = await fetch_stats(emulator.url)
    assert created(stats) == 3
    assert replace(again.rows[0], updated_at="") == replace(first.rows[0], updated_at="")


@pytest.fixture
def emulator_config() -> Any:
    return EmulatorConfig(
        job_duration=1.0, stop_duration=0.2, late_event_delay=0.2, check_responses=True
    )


async def test_an_entry_is_submitted_only_after_those_it_comes_after_succeed(
    emulator: Any, tmp_path: Path
) -> None:
    prep_ok = raw_job("processing", 0.5)
    prep_bad = raw_job("processing", 0.3, fail="ClientError: bad shard")
    data = manifest(
        entry("prep-0", "processing", prep_ok),
        entry("prep-1", "processing", prep_bad),
        {
            "name": "fit",
            "kind": "training",
            "count": 2,
            "after": "prep-{{ index }}",
            "request": raw_job("training", 0.3),
        },
        {"name": "report", "kind": "processing", "after": "fit", "request": prep_ok},
    )
    result = await launch(emulator.url, data, tmp_path)
    states = {row.id: row.state for row in result.rows}
    assert states == {
        "prep-0": "succeeded",
        "prep-1": "failed",
        "fit-0": "succeeded",
        "fit-1": "error",  # never submitted: what it comes after failed
        "report": "error",  # and so on down the line
    }
    reasons = {row.id: row.failure_reason for row in result.rows}
    assert reasons["fit-1"] == (
        "not submitted: prep-1, which it comes after, ended failed "
        "(--retry failed reruns it, and this one after it)"
    )
    assert reasons["report"] == "not submitted: fit-1, which it comes after, ended error"
    jobs = {row["name"]: row for row in (await fetch_stats(emulator.url))["jobs"]}
    by_id = {row.id: row.job_name for row in result.rows}
    assert jobs[by_id["fit-0"]]["created_at"] >= jobs[by_id["prep-0"]]["ended_at"]
    assert by_id["fit-1"] not in jobs and by_id["report"] not in jobs


async def test_retry_stopped_reruns_them_as_new_jobs_and_their_dependents_wait(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(
        entry("fit", "training", raw_job("training", 60), count=2),
        {
            "name": "score",
            "kind": "processing",
            "after": "fit",
            "request": raw_job("processing", 0.3),
        },
    )

    def both_running(run: Launch) -> str | None:
        return "SIGINT" if run.tally.counts.get("running", 0) == 2 else None

    first = await launch(emulator.url, data, tmp_path, interrupt_when=both_running)
    states = {row.id: row.state for row in first.rows}
    assert states == {"fit-0": "stopped", "fit-1": "stopped", "score": "pending"}
    old_names = {row.id: row.job_name for row in first.rows}

    # Without --retry, stopped entries are finished: their dependent cannot run, and says why.
    plain = await launch(emulator.url, data, tmp_path)
    reasons = {row.id: row.failure_reason for row in plain.rows}
    assert reasons["score"] == (
        "not submitted: fit-0, which it comes after, ended stopped "
        "(--retry stopped reruns it, and this one after it)"
    )
    assert created(await fetch_stats(emulator.url)) == 2

    # --retry stopped: new jobs under new names; the dependent waits for them, then runs.
    # (The emulator's duration tag is no part of the request's digest: the same entries.)
    quick = manifest(
        entry("fit", "training", raw_job("training", 0.5), count=2),
        {
            "name": "score",
            "kind": "processing",
            "after": "fit",
            "request": raw_job("processing", 0.3),
        },
    )
    result = await launch(emulator.url, quick, tmp_path, retry=frozenset({"stopped"}))
    by_id = {row.id: row for row in result.rows}
    stats = await fetch_stats(emulator.url)
    jobs = {job["name"]: job for job in stats["jobs"]}
    for fit in ("fit-0", "fit-1"):
        row = by_id[fit]
        assert row.state == "succeeded" and row.retries == 1
        assert row.job_name != old_names[fit] and f"{fit}-retry-1" in row.job_name
        assert jobs[old_names[fit]]["stop_requested_at"]  # the old job stays as it ended
        assert jobs[by_id["score"].job_name]["created_at"] >= jobs[row.job_name]["ended_at"]
    assert by_id["score"].state == "succeeded"
    assert created(stats) == 4 and created(stats, "ProcessingJob") == 1


async def test_an_entry_is_sent_with_the_outputs_of_the_entry_it_takes_them_from(
    emulator: Any, client_factory: Any, tmp_path: Path
) -> None:
    score = raw_job("processing", 0.3)
    score["AppSpecification"]["ContainerArguments"] = [
        "--model={{ outputs.fit.model_artifact_url }}"
    ]
    data = manifest(
        entry("fit", "training", raw_job("training", 0.3)),
        entry("score", "processing", score),
    )
    result = await launch(emulator.url, data, tmp_path)
    assert result.all_succeeded, result.counts
    rows = {row.id: row for row in result.rows}
    artifact = (rows["fit"].outputs or {})["model_artifact_url"]
    assert artifact.startswith("s3://")
    async with client_factory("sagemaker") as sagemaker:
        sent = await sagemaker.describe_processing_job(ProcessingJobName=rows["score"].job_name)
    assert sent["AppSpecification"]["ContainerArguments"] == [f"--model={artifact}"]
    jobs = {job["name"]: job for job in (await fetch_stats(emulator.url))["jobs"]}
    assert jobs[rows["score"].job_name]["created_at"] >= jobs[rows["fit"].job_name]["ended_at"]

    # A relaunch of the finished batch leaves both alone: no second job.
    again = await launch(emulator.url, data, tmp_path)
    assert again.all_succeeded
    assert created(await fetch_stats(emulator.url), "ProcessingJob") == 1


async def test_a_kind_without_logs_gets_no_log_file(emulator: Any, tmp_path: Path) -> None:
    model = req.model("unused")
    del model["ModelName"]
    data = manifest(
        entry("fit", "training", raw_job("training", 0.3)), entry("best", "model", model)
    )
    result = await launch(emulator.url, data, tmp_path)
    assert result.all_succeeded, result.counts
    rows = {row.id: row for row in result.rows}
    logs = tmp_path / "out" / "logs"
    assert (logs / f"{rows['fit'].job_name}.log").exists()
    assert not (logs / f"{rows['best'].job_name}.log").exists()  # never an empty file
