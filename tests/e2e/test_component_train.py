"""The train component as KFP runs it: a subprocess with v1-style arguments, against the emulator."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from runner.feed import setup_feed
from runner.session import AwsCaller
from support import requests as req
from support.components import component_env
from support.components import run_component as run_named
from support.runner_setup import runner_config
from support.stats import fetch_stats

CHANNELS = [
    {
        "ChannelName": "train",
        "DataSource": {
            "S3DataSource": {
                "S3Uri": "s3://bucket/mnist/train",
                "S3DataType": "S3Prefix",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "",
        "CompressionType": "None",
        "RecordWrapperType": "None",
        "InputMode": "File",
    }
]


def train_args(url: str, out: Path, **overrides: str) -> list[str]:
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "image": req.IMAGE,
        "role": req.ROLE,
        "channels": json.dumps(CHANNELS),
        "hyperparameters": json.dumps({"k": "10", "feature_dim": "784"}),
        "instance_type": "ml.m5.xlarge",
        "model_artifact_path": "s3://bucket/mnist/output",
        "network_isolation": "True",
        "traffic_encryption": "False",
        "spot_instance": "False",
        "tags": json.dumps({"emulator:duration-seconds": "0.5", "team": "ml"}),
    }
    values.update(overrides)
    args = [item for name, value in values.items() for item in (f"--{name}", value)]
    for output in ("model_artifact_url", "job_name", "training_image", "summary"):
        args += [f"--{output}_output_path", str(out / output)]
    return args


async def run_component(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    return await run_named("train", args, env)


async def test_train_succeeds_and_writes_v1_outputs(emulator: Any, tmp_path: Path) -> None:
    code, _, stderr = await run_component(
        train_args(emulator.url, tmp_path, job_name="mnist-train")
    )
    assert code == 0, stderr
    assert (tmp_path / "job_name").read_text() == "mnist-train"
    assert (
        tmp_path / "model_artifact_url"
    ).read_text() == "s3://bucket/mnist/output/mnist-train/output/model.tar.gz"
    assert (tmp_path / "training_image").read_text() == req.IMAGE
    job = emulator.emulator.jobs["training"]["mnist-train"]
    assert job.request["HyperParameters"] == {"k": "10", "feature_dim": "784"}
    assert job.request["EnableNetworkIsolation"] is True
    assert job.tags["team"] == "ml"
    summary = (tmp_path / "summary").read_text()
    assert "## training: `mnist-train`" in summary and "**Completed**" in summary
    assert "console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/mnist-train" in summary
    assert "logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FTrainingJobs" in summary


async def test_bad_input_exits_2_and_creates_nothing(emulator: Any, tmp_path: Path) -> None:
    cases = {
        "hyperparameters": (json.dumps({"k": 10}), "every value must be a string"),
        "spot_instance": ("maybe", "True or False"),
        "instance_count": ("two", "whole number"),
        "channels": ("[", "neither valid JSON nor valid YAML"),
    }
    for name, (value, rule) in cases.items():
        code, _, stderr = await run_component(train_args(emulator.url, tmp_path, **{name: value}))
        assert code == 2, (name, stderr)
        assert name in stderr and rule in stderr, stderr
    code, _, stderr = await run_component(
        train_args(emulator.url, tmp_path, instance_type="ml.nope")
    )
    assert code == 2 and "ResourceConfig.InstanceType" in stderr
    stats = await fetch_stats(emulator.url)
    assert "CreateTrainingJob" not in stats["calls"] and stats["jobs"] == []


async def test_failed_job_exits_1(emulator: Any, tmp_path: Path) -> None:
    tags = json.dumps(
        {"emulator:duration-seconds": "0.4", "emulator:fail-reason": "AlgorithmError: bad data"}
    )
    code, _, stderr = await run_component(train_args(emulator.url, tmp_path, tags=tags))
    assert code == 1
    assert "AlgorithmError: bad data" in stderr
    assert not (tmp_path / "job_name").exists()
    summary = (tmp_path / "summary").read_text()
    assert "**Failed**" in summary and "Failure reason: AlgorithmError: bad data" in summary


async def test_sigterm_stops_the_job_then_a_restart_reattaches(
    emulator: Any, tmp_path: Path
) -> None:
    tags = json.dumps({"emulator:duration-seconds": "60"})
    args = [*train_args(emulator.url, tmp_path, tags=tags), "--kfp_run_id", "run-abc"]
    args += ["--kfp_task", "train"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "components.train",
        *args,
        env=component_env(args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not (await fetch_stats(emulator.url))["jobs"]:
        assert time.monotonic() < deadline, "the job was never created"
        await asyncio.sleep(0.05)
    sent_at = time.time()
    process.send_signal(signal.SIGTERM)
    _, stderr = await process.communicate()
    assert process.returncode == 143, stderr.decode()
    (job,) = (await fetch_stats(emulator.url))["jobs"]
    assert job["stop_requested_at"] is not None
    print(f"\nSIGTERM to Stop request: {job['stop_requested_at'] - sent_at:.3f}s")

    # A restarted pod with the same run identity re-attaches to the (stopped) job: no new job.
    code, _, stderr2 = await run_component(args)
    assert code == 1  # the job it re-attached to was stopped
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["CreateTrainingJob"] == 1 and len(stats["jobs"]) == 1
    assert "job.attached" in stderr2


async def test_logs_stream_to_stdout_and_a_failure_shows_its_last_lines(
    emulator: Any, tmp_path: Path
) -> None:
    tags = json.dumps(
        {
            "emulator:duration-seconds": "0.6",
            "emulator:fail-reason": "AlgorithmError: NaN",
            "emulator:log-lines": "4",
        }
    )
    code, stdout, _ = await run_component(
        train_args(emulator.url, tmp_path, job_name="logged", instance_count="2", tags=tags)
    )
    assert code == 1
    job = emulator.emulator.jobs["training"]["logged"]
    planned = [
        message
        for stream in emulator.emulator.logs.streams_of(job)
        for _, message in emulator.emulator.logs.events("/aws/sagemaker/TrainingJobs", stream)
    ]
    printed = stdout.splitlines()
    for message in planned:
        assert sum(message in line for line in printed) == 1, message
    assert "ERROR: AlgorithmError: NaN" in printed[-1]


async def test_train_with_assume_role_runs_as_the_role_and_a_refused_role_fails_clearly(
    emulator: Any, tmp_path: Path
) -> None:
    role = "arn:aws:iam::123456789012:role/kfp-pipeline-runner"
    # endpoint_url is SageMaker's alone, as in v1: STS is found through botocore's own
    # per-service setting.
    sts = {"AWS_ENDPOINT_URL_STS": emulator.url}
    code, _, stderr = await run_component(
        train_args(emulator.url, tmp_path / "ok", job_name="as-role", assume_role=role), sts
    )
    assert code == 0, stderr
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["AssumeRole"] >= 1  # on the emulator's STS
    assert (tmp_path / "ok" / "job_name").read_text() == "as-role"

    emulator.emulator.config.denied_roles = (role,)
    code, _, stderr = await run_component(
        train_args(emulator.url, tmp_path / "refused", job_name="refused", assume_role=role), sts
    )
    assert code != 0
    assert "AssumeRole failed: AccessDenied: User: " in stderr
    assert "Traceback" not in stderr
    assert "refused" not in emulator.emulator.jobs["training"]


async def test_every_bad_input_is_named_at_once_and_summarised(
    emulator: Any, tmp_path: Path
) -> None:
    """The issue's case: SageMaker's rules and the component's own, all in one answer, each
    named by the input the user wrote (the API field in brackets)."""
    bad = {
        "volume_size": "-5",
        "job_name": "not a name!",
        "training_input_mode": "Stream",
        "instance_type": "ml.nope",
        "hyperparameters": json.dumps({"k": 10}),
        "max_run_time": "soon",
    }
    code, _, stderr = await run_component(train_args(emulator.url, tmp_path, **bad))
    assert code == 2, stderr
    errors = stderr[stderr.index("error: ") :]
    assert errors.splitlines()[0] == "error: 6 problems with the inputs:"
    for expected in (
        "input 'volume_size' [ResourceConfig.VolumeSizeInGB]: must be at least",
        "input 'job_name' [TrainingJobName]: must match the pattern",
        "input 'training_input_mode' [AlgorithmSpecification.TrainingInputMode]: must be one of",
        "input 'instance_type' [ResourceConfig.InstanceType]: must be one of",
        "input 'hyperparameters': every value must be a string",
        "input 'max_run_time': must be a whole number, got 'soon'",
    ):
        assert expected in errors, errors
    assert "Traceback" not in stderr
    summary = (tmp_path / "summary").read_text()
    assert "**Error:** 6 problems with the inputs:" in summary
    assert "- input 'volume_size' [ResourceConfig.VolumeSizeInGB]: must be at least" in summary
    stats = await fetch_stats(emulator.url)
    assert stats["calls"] == {} or set(stats["calls"]) <= {"GetStats"}, stats["calls"]
    assert stats["jobs"] == []


async def test_with_events_queue_the_step_follows_its_job_by_sagemakers_events(
    emulator: Any, tmp_path: Path
) -> None:
    """The optional ``events_queue`` (not in v1): the job's end comes from its EventBridge event,
    so the step Describes nothing."""
    caller = AwsCaller(runner_config(emulator.url))
    try:
        queue = (await setup_feed(caller, "train-step")).queue_url
    finally:
        await caller.close()
    env = {"AWS_ENDPOINT_URL_SQS": emulator.url}
    code, _, stderr = await run_component(
        train_args(emulator.url, tmp_path, events_queue=queue), env
    )
    assert code == 0, stderr
    assert (tmp_path / "model_artifact_url").read_text().startswith("s3://bucket/mnist/output")
    stats = await fetch_stats(emulator.url)
    # Its end and outputs came from the event: no Describe at all.
    assert "DescribeTrainingJob" not in stats["calls"], stats["calls"]
    assert stats["calls"]["ReceiveMessage"] >= 1


async def test_an_events_queue_that_is_no_queue_url_exits_2(emulator: Any, tmp_path: Path) -> None:
    code, _, stderr = await run_component(
        train_args(emulator.url, tmp_path, events_queue="my-queue")
    )
    assert code == 2 and "events_queue" in stderr and "SQS queue URL" in stderr, stderr
    assert "CreateTrainingJob" not in (await fetch_stats(emulator.url))["calls"]
