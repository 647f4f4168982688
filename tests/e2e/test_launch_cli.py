"""``smrun launch``, ``status`` and ``stop`` as a user runs them, against the emulator:
kill -9 and resume without a duplicate, a bad manifest, SIGTERM, and stop from another shell."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.environment import subprocess_env
from support.manifests import entry, manifest, raw_job
from support.smrun_cli import launch_args, start_smrun
from support.stats import fetch_stats

pytestmark = pytest.mark.timeout(120)


def write_manifest(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def smrun(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await start_smrun(*args, env=env)
    stdout, stderr = await process.communicate()
    return process.returncode or 0, stdout.decode(), stderr.decode()


def journal_states(path: Path) -> dict[str, str]:
    """Entry id -> state, read as `smrun status` would (another process's view)."""
    if not path.exists():
        return {}
    with sqlite3.connect(path) as db:
        try:
            return dict(db.execute("SELECT id, state FROM entries"))
        except sqlite3.OperationalError:
            return {}  # not created yet


async def wait_for(condition: Any, within: float = 30.0) -> None:
    """Poll ``condition`` (another process's journal: there is nothing to await)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_kill_9_mid_run_then_rerun_creates_each_job_once(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(
        entry("fit", "training", raw_job("training", 0.6), count=18),
        entry("bad", "training", raw_job("training", 0.4, fail="AlgorithmError: boom"), count=2),
    )
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    journal = out / "journal.sqlite"
    process = await start_smrun(*launch_args(emulator.url, path, out, "--concurrency", "8"))

    # Killed while some jobs are journaled in flight and others not yet submitted.
    def some_submitted() -> bool:
        states = list(journal_states(journal).values())
        return len(states) == 20 and states.count("pending") < 16

    await wait_for(some_submitted)
    process.kill()
    await process.wait()
    assert process.returncode == -signal.SIGKILL
    states = journal_states(journal)
    assert "pending" in states.values() and set(states.values()) - {"pending", "succeeded"}

    code, stdout, _ = await smrun("status", str(out))  # the directory names the batch
    assert "no launch is attached: jobs shown in flight are as last journaled" in stdout

    code, stdout, stderr = await smrun(*launch_args(emulator.url, path, out, "--concurrency", "8"))
    assert code == 1, stderr[-2000:]  # the two planned failures
    assert "20 jobs:  18 succeeded  2 failed" in stdout
    assert "full table: " in stdout and "report.csv" in stdout
    stats = await fetch_stats(emulator.url)
    # One job per entry across both runs. A Create the kill caught before its entry was
    # journaled as sent is sent again without a lookup (never sent, as far as the journal
    # knows), refused as ResourceInUse and re-attached to: a refused call, never a second job.
    names = [row["name"] for row in stats["jobs"]]
    assert len(names) == len(set(names)) == 20
    states = journal_states(journal)
    assert len(states) == 20 and set(states.values()) == {"succeeded", "failed"}
    records = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert {r["id"]: r["state"] for r in records} == states


async def test_a_bad_manifest_exits_2_listing_every_problem_and_creates_nothing(
    emulator: Any, tmp_path: Path
) -> None:
    good = raw_job("training", 1.0)
    no_role = raw_job("training", 1.0)
    del no_role["RoleArn"]
    bad_count = raw_job("processing", 1.0)
    bad_count["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = "two"
    data = manifest(
        entry("good", "training", good),
        entry("no-role", "training", no_role),
        entry("bad-count", "processing", bad_count),
        {"kind": "train", "name": "component", "inputs": {"instance_count": "many"}},
    )
    code, _, stderr = await smrun(
        *launch_args(emulator.url, write_manifest(tmp_path, data), tmp_path / "out")
    )
    assert code == 2
    assert "jobs[1](no-role).request.RoleArn" in stderr or "jobs[1].request.RoleArn" in stderr
    assert "InstanceCount" in stderr
    assert "jobs[3].inputs.instance_count" in stderr
    stats = await fetch_stats(emulator.url)
    assert not any(op.startswith("Create") for op in stats["calls"])


async def test_sigterm_stops_every_job_and_exits_143(emulator: Any, tmp_path: Path) -> None:
    data = manifest(entry("long", "training", raw_job("training", 120), count=6))
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    journal = out / "journal.sqlite"
    process = await start_smrun(*launch_args(emulator.url, path, out, "--concurrency", "4"))
    await wait_for(lambda: list(journal_states(journal).values()).count("running") == 4)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = await process.communicate()
    assert process.returncode == 143, stderr.decode()[-2000:]
    # Said before it is done, then what was done and what a rerun does.
    # One line, not wrapped mid-sentence for a log that is not a terminal.
    (notice,) = [line for line in stdout.decode().splitlines() if "SIGTERM: stopping" in line]
    assert notice.startswith("SIGTERM: stopping 4 job(s) in flight and submitting no more")
    assert notice.endswith("add --retry stopped to rerun the stopped ones")
    assert "interrupted (SIGTERM)" in stdout.decode()
    assert "--retry stopped reruns the stopped ones" in stdout.decode()
    stats = await fetch_stats(emulator.url)
    assert len(stats["jobs"]) == 4 and all(job["stop_requested_at"] for job in stats["jobs"])
    states = sorted(journal_states(journal).values())
    assert states == ["pending"] * 2 + ["stopped"] * 4


async def test_status_and_stop_from_another_shell(emulator: Any, tmp_path: Path) -> None:
    data = manifest(entry("long", "training", raw_job("training", 120), count=3))
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    journal = out / "journal.sqlite"
    process = await start_smrun(*launch_args(emulator.url, path, out))
    await wait_for(lambda: list(journal_states(journal).values()).count("running") == 3)

    code, stdout, _ = await smrun("status", str(journal))
    assert code == 1 and "3 running" in stdout and "long-2" in stdout
    code, stdout, stderr = await smrun("stop", str(journal))
    assert code == 0, stderr
    # The launch reads the journal's stop request at once and stops its jobs too: whichever
    # Stop reaches a job second finds it stopping ("stop requested") or already Stopped.
    answers = [line for line in stdout.splitlines() if line.startswith("TrainingJob-long-")]
    assert len(answers) == 3, stdout
    assert all(": stop requested" in line or ": already ended" in line for line in answers)
    assert "stop asked of 3 job(s) in flight" in stdout

    stdout_bytes, _ = await process.communicate()
    assert process.returncode == 1  # stopped jobs did not succeed
    assert "interrupted (smrun stop)" in stdout_bytes.decode()
    code, stdout, _ = await smrun("status", str(journal), "--json")
    assert json.loads(stdout)["states"]["stopped"] == 3

    code, _, stderr = await smrun("status", str(tmp_path / "nothing.sqlite"))
    assert code == 2 and "no such journal" in stderr


async def test_a_second_signal_stops_waiting_for_jobs_to_stop(tmp_path: Path) -> None:
    from emulator.server import EmulatorServer
    from emulator.state import EmulatorConfig

    # Jobs take a minute to stop: the first SIGINT asks, the second stops waiting.
    async with EmulatorServer(EmulatorConfig(job_duration=120, stop_duration=60)) as emulator:
        data = manifest(entry("long", "training", raw_job("training", 120), count=2))
        path, out = write_manifest(tmp_path, data), tmp_path / "out"
        journal = out / "journal.sqlite"
        process = await start_smrun(*launch_args(emulator.url, path, out))
        await wait_for(lambda: list(journal_states(journal).values()).count("running") == 2)
        process.send_signal(signal.SIGINT)
        await wait_for(
            lambda: all(j["stop_requested_at"] for j in emulator.emulator.stats()["jobs"])
        )
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            stdout, stderr = await process.communicate()
    assert process.returncode == 130, stderr.decode()[-2000:]
    text = " ".join(stdout.decode().split())  # however the console wrapped it
    # What really happened: both were asked to stop and are stopping, none left running.
    assert "interrupted (SIGINT): 2 job(s) still stopping (Stop sent; journaled Stopping)" in text
    assert "left running" not in text
    # Still stopping in SageMaker: journaled in flight, for a resume to see them end, and
    # `smrun status` says Stopping, as SageMaker does.
    assert sorted(journal_states(journal).values()) == ["running", "running"]
    code, status, _ = await smrun("status", str(journal), "--json")
    assert code == 1
    assert [job["status"] for job in json.loads(status)["jobs"]] == ["Stopping", "Stopping"]
    # The reports are written all the same, as the journal has the jobs.
    assert "full table: " in text
    records = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert [r["state"] for r in records] == ["running", "running"]


async def test_a_dry_run_shows_the_plan_and_creates_nothing(emulator: Any, tmp_path: Path) -> None:
    data = manifest(
        entry("prep", "processing", raw_job("processing", 0.3)),
        {"name": "fit", "kind": "training", "after": "prep", "request": raw_job("training", 0.3)},
    )
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    code, stdout, stderr = await smrun(*launch_args(emulator.url, path, out, "--dry-run"))
    assert code == 0, stderr
    assert "2 to submit" in stdout and "TrainingJob-fit-" in stdout
    assert not (out / "journal.sqlite").exists()
    assert not any(op.startswith("Create") for op in (await fetch_stats(emulator.url))["calls"])

    code, _, _ = await smrun(*launch_args(emulator.url, path, out))
    assert code == 0
    code, stdout, _ = await smrun(*launch_args(emulator.url, path, out, "--dry-run"))
    assert code == 0 and "2 to leave (finished)" in stdout


async def test_local_with_a_role_assumes_it_on_the_embedded_emulators_sts(tmp_path: Path) -> None:
    data = manifest(entry("fit", "training", raw_job("training", 0.3)))
    path = write_manifest(tmp_path, data)
    role = "arn:aws:iam::123456789012:role/pipeline-runner"
    args = ["launch", str(path), "--local", "--assume-role", role]
    code, _, stderr = await smrun(*args, "--output", str(tmp_path / "ok"))
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr

    # Not a role ARN: refused by the checks, as the component refuses it; nothing created.
    for more in ([], ["--dry-run"]):
        code, _, stderr = await smrun(
            "launch", str(path), "--local", "--assume-role", "nothing-valid-in-here",
            "--output", str(tmp_path / "refused"), *more,
        )  # fmt: skip
        assert code == 2, stderr[-2000:]
        assert stderr == (
            "smrun launch: --assume-role: must be an IAM role ARN "
            "(arn:aws:iam::<account>:role/<name>), got 'nothing-valid-in-here'\n"
        )
        assert not (tmp_path / "refused").exists()


async def test_an_output_or_journal_that_cannot_be_used_is_one_line_exit_2(
    tmp_path: Path,
) -> None:
    path = write_manifest(tmp_path, manifest(entry("fit", "training", raw_job("training", 0.3))))
    afile = tmp_path / "afile"
    afile.write_text("")
    cases = [
        ["--output", str(afile)],
        ["--output", "/proc/smrun-out"],
        ["--journal", str(tmp_path / "nonexistent" / "j.sqlite")],
    ]
    for flags in cases:
        for more in ([], ["--dry-run"]):
            code, _, stderr = await smrun("launch", str(path), "--local", *flags, *more)
            assert code == 2, stderr[-2000:]
            assert stderr.startswith(f"smrun launch: {flags[0]} {flags[1]}: ")
            assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert sorted(os.listdir(tmp_path)) == ["afile", "batch.yaml"]


async def test_an_edited_manifest_resumes_its_batch_and_an_edited_entry_exits_2(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(
        entry("prep", "processing", raw_job("processing", 0.3)),
        entry("fit", "training", raw_job("training", 0.3), count=2),
    )
    del data["batch"]  # the batch is the manifest's path, whatever its content
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    code, _, stderr = await smrun(*launch_args(emulator.url, path, out))
    assert code == 0, stderr[-2000:]

    path.write_text("# a comment is no edit\n" + yaml.safe_dump(data))
    code, stdout, _ = await smrun(*launch_args(emulator.url, path, out, "--dry-run"))
    assert code == 0 and "3 to leave (finished)" in stdout

    for fit in data["jobs"][1:]:
        fit["request"]["HyperParameters"] = {"eta": "0.3"}
    path.write_text(yaml.safe_dump(data))
    field = "jobs[1](fit-0 and 1 more).request.HyperParameters"
    for extra in (["--dry-run"], []):
        code, stdout, stderr = await smrun(*launch_args(emulator.url, path, out, *extra))
        assert code == 2, (extra, stdout, stderr)
        assert f"{field}: changed since the batch ran it (succeeded)" in stderr
        assert "--retry changed" in stderr and "Traceback" not in stderr
    assert (await fetch_stats(emulator.url))["calls"]["CreateTrainingJob"] == 2

    code, stdout, stderr = await smrun(*launch_args(emulator.url, path, out, "--retry", "changed"))
    assert code == 0, stderr[-2000:]
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["CreateTrainingJob"] == 4 and stats["calls"]["CreateProcessingJob"] == 1
    assert sum("fit-0-retry-1" in job["name"] for job in stats["jobs"]) == 1

    code, stdout, _ = await smrun("status", str(out), "--json")
    jobs = {job["id"]: job for job in json.loads(stdout)["jobs"]}
    assert jobs["fit-1"]["retries"] == 1 and "fit-1-retry-1" in jobs["fit-1"]["job_name"]


async def test_no_credentials_is_one_problem_before_the_journal(tmp_path: Path) -> None:
    env = subprocess_env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name)
    data = manifest(entry("fit", "training", raw_job("training", 0.3), count=20))
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    for extra in (["--dry-run"], []):
        code, _, stderr = await smrun(
            *launch_args("http://127.0.0.1:9", path, out, *extra), env=env
        )
        assert code == 2 and stderr.count("no AWS credentials found") == 1, stderr
    assert not out.exists()


async def test_the_manifests_region_is_where_the_batch_runs_and_logs_can_be_read(
    emulator: Any, tmp_path: Path
) -> None:
    data = {**manifest(entry("fit", "training", raw_job("training", 0.3))), "region": "eu-west-1"}
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    code, stdout, stderr = await smrun(*launch_args(emulator.url, path, out))
    assert code == 0, stderr[-2000:]
    assert f"output: {out}   journal: {out / 'journal.sqlite'}" in stdout  # from the start
    with sqlite3.connect(out / "journal.sqlite") as db:
        (target,) = db.execute("SELECT value FROM meta WHERE key = 'target'").fetchone()
    assert json.loads(target)["region"] == "eu-west-1"  # the environment says us-east-1

    code, stdout, _ = await smrun("logs", "fit", "--batch", str(out))
    assert code == 0 and "[host algo-1] epoch 1/20" in stdout
    code, stdout, _ = await smrun("--version")
    assert code == 0 and stdout.startswith("smrun ")


async def test_logs_follow_prints_a_running_jobs_lines_until_it_ends(
    emulator: Any, tmp_path: Path
) -> None:
    data = manifest(entry("fit", "training", raw_job("training", 3.0, log_lines=30)))
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    journal = out / "journal.sqlite"
    process = await start_smrun(*launch_args(emulator.url, path, out))
    await wait_for(lambda: journal_states(journal).get("fit") == "running")
    code, followed, stderr = await smrun("logs", "fit", "--batch", str(out), "-f")
    await process.communicate()
    assert code == 0 and process.returncode == 0, stderr
    written = next((out / "logs").glob("*.log")).read_text()
    assert followed == written and written.count("\n") >= 30


async def test_launch_with_events_follows_by_the_feed_and_bad_events_exit_2(
    emulator: Any, tmp_path: Path
) -> None:
    from runner.feed import setup_feed
    from runner.session import AwsCaller
    from support.runner_setup import runner_config

    caller = AwsCaller(runner_config(emulator.url))
    try:
        queue = (await setup_feed(caller, "launch-feed")).queue_url
    finally:
        await caller.close()
    data = manifest(*(entry(f"fit-{i}", "training", raw_job("training", 0.5)) for i in range(3)))
    path = write_manifest(tmp_path, data)
    code, _, stderr = await smrun(
        *launch_args(emulator.url, path, tmp_path / "ok", "--events", queue)
    )
    assert code == 0, stderr[-2000:]
    calls = (await fetch_stats(emulator.url))["calls"]
    # Never sent: no lookup before Create; each end event carried its outcome: no Describe.
    assert calls["CreateTrainingJob"] == 3 and "DescribeTrainingJob" not in calls
    with sqlite3.connect(tmp_path / "ok" / "journal.sqlite") as db:
        outputs = [json.loads(o) for (o,) in db.execute("SELECT outputs FROM entries")]
    assert all(o["model_artifact_url"].endswith("model.tar.gz") for o in outputs)

    # The flag and the manifest's field, each wrong: both said at once, nothing created.
    bad = write_manifest(tmp_path, {**data, "events": 42})
    code, _, stderr = await smrun(
        *launch_args(emulator.url, bad, tmp_path / "bad", "--events", "my-queue")
    )
    assert code == 2
    assert "--events: must be an SQS queue URL" in stderr and "'my-queue'" in stderr
    assert "events: must be an SQS queue URL, got" in stderr
    assert (await fetch_stats(emulator.url))["calls"]["CreateTrainingJob"] == 3


async def test_a_local_rerun_records_the_jobs_its_emulator_took_with_it_as_stopped(
    tmp_path: Path,
) -> None:
    """The jobs a killed --local launch had in flight lived in its embedded emulator: the rerun
    cannot re-attach to them and must not run them again as if nothing had happened."""
    data = manifest(entry("long", "training", raw_job("training", 120), count=2))
    path, out = write_manifest(tmp_path, data), tmp_path / "out"
    journal = out / "journal.sqlite"
    process = await start_smrun("launch", str(path), "--local", "--output", str(out))
    await wait_for(lambda: list(journal_states(journal).values()).count("running") == 2)
    process.kill()
    await process.communicate()

    code, stdout, stderr = await smrun("launch", str(path), "--local", "--output", str(out))
    assert code == 1, stderr[-2000:]
    assert "2 job(s) in flight when the last --local launch ended ran on its embedded" in stdout
    assert set(journal_states(journal).values()) == {"stopped"}
    records = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert all(
        "embedded emulator of an earlier --local launch" in r["failure_reason"] for r in records
    )
