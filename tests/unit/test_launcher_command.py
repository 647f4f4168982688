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

from smrun.launcher.attached import LaunchLock, LockHeld, attached_pid
from smrun.launcher.command import (
    LaunchRequest,
    UsageError,
    check_launch,
    find_journal,
    interrupt_notice,
    show_logs,
    show_plan,
    show_status,
)
from smrun.launcher.journal import Journal
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
    assert "region: is not given: use --region, set region: in the manifest" in text
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


def test_a_malformed_role_to_assume_is_refused_by_the_checks(tmp_path: Path) -> None:
    path = write(tmp_path, two_jobs())
    text = problems(LaunchRequest(manifest=path, local=True, assume_role_arn="notanarn"))
    assert text == (
        "--assume-role: must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), "
        "got 'notanarn'"
    )
    role = "arn:aws:iam::123456789012:role/launcher"
    checked = check_launch(LaunchRequest(manifest=path, local=True, assume_role_arn=role))
    assert checked.target("http://127.0.0.1:1").assume_role_arn == role


def test_leave_running_is_refused_with_local(tmp_path: Path) -> None:
    path = write(tmp_path, two_jobs())
    text = problems(LaunchRequest(manifest=path, local=True, leave_running=True))
    assert text.startswith("--leave-running: not with --local: the embedded emulator ends")


def test_an_endpoint_url_is_refused_with_local_rather_than_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, two_jobs())
    request = LaunchRequest(manifest=path, local=True, endpoint_url="http://127.0.0.1:4566")
    assert problems(request).startswith("--endpoint-url: not with --local: the launch runs")


@pytest.mark.parametrize("case", ["a file", "under a file", "unmakeable"])
def test_an_output_that_cannot_be_a_directory_is_one_problem(tmp_path: Path, case: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    output = {
        "a file": afile,
        "under a file": afile / "sub",
        "unmakeable": Path("/proc/smrun-out"),  # /proc takes no new directory, even from root
    }[case]
    text = problems(LaunchRequest(manifest=write(tmp_path, two_jobs()), local=True, output=output))
    assert text.startswith(f"--output {output}: ") and "\n" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "batch.yaml"]


def test_a_journal_in_a_missing_directory_is_refused_not_made(tmp_path: Path) -> None:
    path = write(tmp_path, two_jobs())
    journal = tmp_path / "nonexistent" / "j.sqlite"
    text = problems(LaunchRequest(manifest=path, local=True, journal=journal))
    assert text == f"--journal {journal}: no such directory {journal.parent} (create it first)"
    text = problems(LaunchRequest(manifest=path, local=True, journal=tmp_path))
    assert text == f"--journal {tmp_path}: is a directory; name the journal file"
    assert not journal.parent.exists()


def test_a_resumed_batch_in_another_region_is_one_problem_not_an_edit_per_entry(
    tmp_path: Path,
) -> None:
    from support.manifests import entry as an_entry

    inputs = {
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:1",
        "role": "arn:aws:iam::123456789012:role/sagemaker",
        "channels": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3Uri": "s3://b/t", "S3DataType": "S3Prefix"}},
            }
        ],
        "model_artifact_path": "s3://b/models",
    }
    data = manifest(
        {"kind": "training", "name": "fit", "inputs": inputs},
        an_entry("prep", "processing", raw_job("processing", 1.0)),
    )
    request = LaunchRequest(manifest=write(tmp_path, data), output=tmp_path / "out", local=True)
    checked = check_launch(request)
    assert checked.region == "us-east-1"
    (tmp_path / "out").mkdir()
    with Journal(checked.journal_path, checked.manifest.batch_id) as journal:
        journal.plan(d.planned() for d in checked.resume.decisions)
        journal.set_meta("target", {"region": "us-east-1", "local": True})
        journal.submitted("fit")
        journal.ended("fit", "succeeded", status="Completed")
    text = problems(LaunchRequest(**{**request.__dict__, "region": "eu-west-1"}))
    assert text == (
        "region: the batch ran in 'us-east-1' (its journal says), this launch would run it in "
        "'eu-west-1' (--region): a batch runs in one region; launch in 'us-east-1', or start "
        "another batch with --batch-id"
    )
    assert check_launch(request).region == "us-east-1"  # the same region resumes


def test_the_end_screen_points_status_at_the_journal_the_launch_used(tmp_path: Path) -> None:
    from smrun.launcher.command import Prepared, _print_summary
    from smrun.launcher.launch import LaunchOptions, LaunchResult

    checked = check_launch(LaunchRequest(manifest=write(tmp_path, two_jobs()), local=True))
    out = tmp_path / "out"
    out.mkdir()
    for journal_path, shown in [
        (tmp_path / "elsewhere.sqlite", tmp_path / "elsewhere.sqlite"),
        (out / "journal.sqlite", out),
    ]:
        with Journal(journal_path, checked.manifest.batch_id) as journal:
            prepared = Prepared(checked.manifest, journal, out, LaunchOptions(job_logs=False))
            result = LaunchResult(checked.manifest.batch_id, {}, [], None, False, None)
            console = Console(file=io.StringIO(), width=300)
            _print_summary(console, result, prepared, 1.0)
            text = console.file.getvalue()  # type: ignore[attr-defined]
            assert f"status: smrun status {shown}\n" in text


def test_logs_of_a_kind_without_logs_says_so(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite", "b1") as journal:
        journal.plan([("best", "model", "Model-best", "d")])
        journal.submitted("best")
        journal.ended("best", "succeeded", status="Created")
    (tmp_path / "logs").mkdir()
    with pytest.raises(UsageError, match="best is a model entry: SageMaker writes no logs"):
        show_logs("best", batch=tmp_path)


def test_the_end_screen_counts_the_manifests_entries_not_removed_ones(tmp_path: Path) -> None:
    from smrun.launcher.command import Prepared, _print_summary
    from smrun.launcher.launch import LaunchOptions, LaunchResult

    checked = check_launch(LaunchRequest(manifest=write(tmp_path, two_jobs()), local=True))
    out = tmp_path / "out"
    out.mkdir()
    with Journal(out / "journal.sqlite", checked.manifest.batch_id) as journal:
        journal.plan([d.planned() for d in checked.resume.decisions])
        journal.plan([("gone", "training", "job-gone", "d")])  # since removed from the manifest
        prepared = Prepared(checked.manifest, journal, out, LaunchOptions(job_logs=False))
        result = LaunchResult(checked.manifest.batch_id, {}, journal.rows(), None, False, None)
        console = Console(file=io.StringIO(), width=300)
        _print_summary(console, result, prepared, 1.0)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"batch {checked.manifest.batch_id}  2 jobs:  2 pending" in text
    assert "1 journaled entries no longer in the manifest were left as they were" in text


def test_smrun_help_says_what_smrun_is_for() -> None:
    from smrun.cli import build_parser

    text = build_parser().format_help()
    assert "Run many Amazon SageMaker jobs as one resumable batch" in text
    assert "Thin" not in text
    status = build_parser().parse_args(["status", "x"])
    assert status.command == "status"


def test_stop_refuses_a_malformed_role_to_assume(capsys: pytest.CaptureFixture[str]) -> None:
    from smrun.cli import main

    assert main(["stop", "nothing", "--assume-role", "notanarn"]) == 2
    assert capsys.readouterr().err == (
        "smrun stop: --assume-role: must be an IAM role ARN "
        "(arn:aws:iam::<account>:role/<name>), got 'notanarn'\n"
    )


def test_events_setup_without_a_region_or_credentials_is_exit_2_before_any_call(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from smrun.cli import main

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    assert main(["events", "setup", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "--region: is not given" in err
    assert "no AWS credentials found" in err and "against an emulator any will do" in err
