"""``smrun launch``'s checks (every one, at once, writing nothing), the dry run's plan and
requests, and finding a batch and its attached launch for ``status``/``stop``/``logs``."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from runner.launcher.attached import LaunchLock, LockHeld, attached_pid
from runner.launcher.command import (
    LaunchRequest,
    UsageError,
    check_launch,
    find_journal,
    interrupt_notice,
    show_logs,
    show_plan,
    show_status,
)
from runner.launcher.journal import Journal
from support.manifests import entry, manifest, raw_job

CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def two_jobs(**top: Any) -> dict[str, Any]:
    data = manifest(
        entry("prep", "processing", raw_job("processing", 1.0)),
        entry("fit", "training", raw_job("training", 1.0)),
    )
    return {**data, **top}


def problems(request: LaunchRequest) -> str:
    with pytest.raises(UsageError) as caught:
        check_launch(request)
    return str(caught.value)


def test_every_flag_problem_is_reported_at_once(tmp_path: Path) -> None:
    request = LaunchRequest(
        manifest=write(tmp_path, two_jobs()),
        output=tmp_path / "out",
        concurrency=0,
        limits=["train=x", "trainig=3"],
        retry=["stoped"],
        follow="fitt",
    )
    text = problems(request)
    assert "--concurrency: must be at least 1, got 0" in text
    assert "--limit: limit 'train=x': expected KIND=N" in text
    assert "'trainig' is not a job kind (did you mean 'training'" in text
    assert "--retry: 'stoped' is not one of failed, stopped, changed" in text
    assert "--follow 'fitt': no entry or job of that name" in text
    assert not (tmp_path / "out").exists()  # nothing written


def test_no_region_and_no_credentials_stop_the_launch_before_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (*CREDENTIALS, "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    request = LaunchRequest(manifest=write(tmp_path, two_jobs()), output=tmp_path / "out")
    text = problems(request)
    assert "no region: give --region, set region: in the manifest, or set AWS_REGION" in text
    assert "no AWS credentials found" in text and "--local" in text
    assert not (tmp_path / "out").exists()
    # --local needs neither: the emulator takes any credentials, in us-east-1 by default.
    assert check_launch(LaunchRequest(manifest=request.manifest, local=True)).region == "us-east-1"


def test_the_manifests_region_decides_where_the_jobs_go(tmp_path: Path) -> None:
    path = write(tmp_path, two_jobs(region="eu-west-1"))  # the environment says us-east-1
    checked = check_launch(LaunchRequest(manifest=path, endpoint_url="http://127.0.0.1:1"))
    assert checked.region == "eu-west-1" and checked.target().region == "eu-west-1"
    assert checked.target("http://127.0.0.1:2").region == "eu-west-1"  # --local too
    text = problems(LaunchRequest(manifest=path, region="us-west-2"))
    assert "region: is 'eu-west-1' but --region is 'us-west-2'" in text


def test_a_dry_run_shows_the_plan_and_each_request_as_sent(tmp_path: Path) -> None:
    checked = check_launch(
        LaunchRequest(manifest=write(tmp_path, two_jobs()), output=tmp_path / "out")
    )
    console = Console(file=io.StringIO(), width=200)
    assert show_plan(checked, show_requests=True, console=console) == 0
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "2 to submit" in text and f"journal: {tmp_path / 'out' / 'journal.sqlite'}" in text
    assert "fit: CreateTrainingJob" in text
    assert '"TrainingJobName": "TrainingJob-fit-' in text
    assert '"Key": "smrun:request-digest"' in text
    assert not (tmp_path / "out").exists()


def test_an_edited_manifest_is_refused_by_the_checks_the_dry_run_shares(
    tmp_path: Path,
) -> None:
    data = two_jobs()
    request = LaunchRequest(manifest=write(tmp_path, data), output=tmp_path / "out")
    checked = check_launch(request)
    (tmp_path / "out").mkdir()
    with Journal(checked.journal_path, checked.manifest.batch_id) as journal:
        journal.plan(d.planned() for d in checked.resume.decisions)
        journal.submitted("prep")
        journal.ended("prep", "succeeded", status="Completed")
    data["jobs"][0]["request"]["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] = 50
    write(tmp_path, data)
    text = problems(request)
    assert "jobs[0].request.ProcessingResources.ClusterConfig.VolumeSizeInGB: changed" in text
    assert "(succeeded): was 30, now 50; rerun it as a new job with --retry changed" in text
    rerun = check_launch(LaunchRequest(**{**request.__dict__, "retry": ["changed"]}))
    assert {d.entry.id: d.action for d in rerun.resume.decisions}["prep"] == "rerun as a new job"


def test_a_batch_is_found_by_directory_journal_or_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "smrun-runs" / "nightly"
    out.mkdir(parents=True)
    Journal(out / "journal.sqlite", "nightly").close()
    assert find_journal(out) == out / "journal.sqlite"
    assert find_journal(out / "journal.sqlite") == out / "journal.sqlite"
    assert find_journal("nightly") == Path("smrun-runs/nightly/journal.sqlite")
    with pytest.raises(UsageError, match="no such journal"):
        find_journal("weekly")


def test_status_says_whether_a_launch_is_attached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "journal.sqlite"
    with Journal(path, "b1") as journal:
        journal.plan([("a", "training", "job-a", "d"), ("b", "training", "job-b", "d")])
        journal.submitted("a")
        journal.running("a", "InProgress")
    console = Console(file=io.StringIO(), width=200)
    assert show_status(tmp_path, console=console) == 1
    assert "no launch is attached: jobs shown in flight are as last journaled" in (
        console.file.getvalue()  # type: ignore[attr-defined]
    )
    lock = LaunchLock(path)
    try:
        assert attached_pid(path) == os.getpid()
        # A launch (or its dry run) of the batch now is refused by the same checks.
        text = problems(LaunchRequest(manifest=write(tmp_path, two_jobs()), journal=path))
        assert f"another launch (pid {os.getpid()}) is running on {path}" in text
        with pytest.raises(LockHeld, match=f"another launch .pid {os.getpid()}. is running"):
            LaunchLock(path)
        show_status(path, as_json=True)
        document = json.loads(capsys.readouterr().out)
    finally:
        lock.release()
    assert document["attached"] is True and document["attached_pid"] == os.getpid()
    assert [(job["id"], job["state"], job["job_name"]) for job in document["jobs"]] == [
        ("a", "running", "job-a"),
        ("b", "pending", "job-b"),
    ]
    assert attached_pid(path) is None


def test_logs_prints_an_entrys_log_file(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite", "b1") as journal:
        journal.plan([("a", "training", "job-a", "d")])
        journal.submitted("a")
        journal.ended("a", "succeeded", status="Completed")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "job-a.log").write_text("[algo-1] epoch 1\n[algo-1] done\n")
    out = io.StringIO()
    assert show_logs("a", batch=tmp_path, follow=True, out=out) == 0  # ended: -f returns
    assert out.getvalue() == "[algo-1] epoch 1\n[algo-1] done\n"
    with pytest.raises(UsageError, match="'b': no entry or job of that name"):
        show_logs("b", batch=tmp_path)


def test_the_interrupt_notice_says_what_happens_next() -> None:
    class Fake:
        in_flight = 4

        class options:
            leave_running = False

    text = interrupt_notice(Fake(), "SIGINT")  # type: ignore[arg-type]
    assert text.startswith("SIGINT: stopping 4 job(s) in flight and submitting no more")
    assert "Ctrl-C again" in text and "--retry stopped" in text
    Fake.options.leave_running = True
    assert "leaving 4 job(s) running" in interrupt_notice(Fake(), "SIGTERM")  # type: ignore[arg-type]
