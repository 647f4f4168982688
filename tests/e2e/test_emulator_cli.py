"""``smrun emulator`` as a user runs it: a separate process, a real boto3 client, a signal to stop."""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from support.environment import subprocess_env
from support.requests import training

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(
    r"SageMaker emulator listening on (http://127\.0\.0\.1:(\d+)) \(profile ([^;)]+)[;)]"
)


class EmulatorProcess:
    """``python -m smrun.cli emulator --port 0 ...``, its URL read from its first line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "smrun.cli", "emulator", "--port", "0", *args],
            cwd=REPO,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.first_line = self._read_first_line(timeout=20)
        match = LISTENING.search(self.first_line)
        assert match, f"unexpected first line {self.first_line!r}; stderr: {self._stderr()}"
        self.url = match.group(1)
        self.port = int(match.group(2))
        self.profile = match.group(3)

    def _read_first_line(self, timeout: float) -> str:
        # readline() has no timeout of its own: read in a thread so a silent server fails the test.
        lines: list[str] = []
        stdout = self.process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not lines:
            self.process.kill()
            pytest.fail(f"no listening line within {timeout} s; stderr: {self._stderr()}")
        return lines[0]

    def _stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
            return json.loads(response.read())

    def stop(self, sig: int, timeout: float = 10) -> tuple[int, str]:
        self.process.send_signal(sig)
        _, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stderr

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


@pytest.fixture
def cli_emulator() -> Iterator[EmulatorProcess]:
    emulator = EmulatorProcess("--job-duration", "1.0", "--stop-duration", "0.2")
    try:
        yield emulator
    finally:
        emulator.kill()


def boto3_client(url: str) -> Any:
    return boto3.client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def port_is_closed(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_stats_answer_right_after_the_listening_line(cli_emulator: EmulatorProcess) -> None:
    assert cli_emulator.profile == "fast"
    assert cli_emulator.port > 0
    stats = cli_emulator.get("/_emulator/stats")
    assert stats["calls"] == {}
    assert stats["throttled"] == {}
    assert stats["jobs"] == []
    assert cli_emulator.get("/_emulator/health") == {"ok": True}


def test_a_training_job_runs_to_completion_then_sigint_stops_the_server(
    cli_emulator: EmulatorProcess,
) -> None:
    sagemaker = boto3_client(cli_emulator.url)
    arn = sagemaker.create_training_job(**training("cli-job"))["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:training-job/cli-job"
    assert (
        sagemaker.describe_training_job(TrainingJobName="cli-job")["TrainingJobStatus"]
        == "InProgress"
    )

    deadline = time.monotonic() + 10
    while True:
        described = sagemaker.describe_training_job(TrainingJobName="cli-job")
        if described["TrainingJobStatus"] != "InProgress" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert described["TrainingJobStatus"] == "Completed"
    assert (
        described["ModelArtifacts"]["S3ModelArtifacts"]
        == "s3://bucket/output/cli-job/output/model.tar.gz"
    )
    summaries = sagemaker.list_training_jobs()["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in summaries] == ["cli-job"]

    stats = cli_emulator.get("/_emulator/stats")
    assert stats["calls"]["CreateTrainingJob"] == 1
    assert [(row["name"], row["status"]) for row in stats["jobs"]] == [("cli-job", "Completed")]

    returncode, stderr = cli_emulator.stop(signal.SIGINT)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert port_is_closed(cli_emulator.port)


def test_sigterm_stops_the_server(cli_emulator: EmulatorProcess) -> None:
    boto3_client(cli_emulator.url).list_training_jobs()
    returncode, stderr = cli_emulator.stop(signal.SIGTERM)
    # Kubernetes stops containers with SIGTERM: the emulator closes cleanly and exits 0.
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert port_is_closed(cli_emulator.port)


def run_emulator_command(*args: str) -> subprocess.CompletedProcess[str]:
    """``smrun emulator ARGS`` to its end (one that starts would not end: a test's mistake)."""
    return subprocess.run(
        [sys.executable, "-m", "smrun.cli", "emulator", *args],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_fault_rates_adding_up_to_more_than_one_are_a_usage_error() -> None:
    rates = ["--throttle-rate", "0.6", "--error-rate", "0.5"]
    done = run_emulator_command("--port", "0", *rates)
    assert done.returncode == 2
    assert done.stderr == (
        "smrun emulator: throttle, error, drop and lose-answer rates add up to 1.1; at most 1\n"
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--port", "99999"], "argument --port: must be from 0 to 65535 (got 99999)"),
        (["--port", "-1"], "argument --port: must be from 0 to 65535 (got -1)"),
        (["--job-duration", "-1"], "argument --job-duration: must be more than 0 (got -1)"),
        (["--job-duration", "0"], "argument --job-duration: must be more than 0 (got 0)"),
        (["--job-duration", "nan"], "argument --job-duration: must be more than 0 (got nan)"),
        (["--stop-duration", "0"], "argument --stop-duration: must be more than 0 (got 0)"),
        (["--log-lines", "-1"], "argument --log-lines: must be 0 or more (got -1)"),
        (["--log-lines", "2.5"], "argument --log-lines: '2.5' is not an integer"),
        (["--history", "-3"], "argument --history: must be 0 or more (got -3)"),
        (["--max-instances-per-type", "0"], "argument --max-instances-per-type: must be 1 or more"),
        (["--latency", "-0.5"], "argument --latency: must be 0 or more (got -0.5)"),
        (["--error-rate", "-0.1"], "argument --error-rate: must be from 0 to 1 (got -0.1)"),
        (["--throttle-rate", "2"], "argument --throttle-rate: must be from 0 to 1 (got 2)"),
        (["--credential-seconds", "0"], "argument --credential-seconds: must be more than 0"),
        (["--job-dur", "3"], "unrecognized arguments: --job-dur"),
    ],
)
def test_out_of_range_arguments_are_usage_errors(args: list[str], said: str) -> None:
    done = run_emulator_command(*args)
    assert done.returncode == 2
    assert said in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_host_that_cannot_be_bound_is_one_line() -> None:
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): no interface here has it, nothing is sent there.
    done = run_emulator_command("--host", "192.0.2.1", "--port", "0")
    assert done.returncode == 2
    assert done.stderr.startswith("smrun emulator: cannot listen on 192.0.2.1:0: ")
    assert done.stderr.count("\n") == 1


def test_profile_and_faults_from_the_command_line() -> None:
    emulator = EmulatorProcess("--profile", "aws-like", "--throttle-rate", "1", "--seed", "3")
    try:
        assert emulator.profile == "aws-like"
        sagemaker = boto3_client(emulator.url)
        with pytest.raises(sagemaker.exceptions.ClientError) as caught:
            sagemaker.list_training_jobs()
        assert caught.value.response["Error"]["Code"] == "ThrottlingException"
        assert emulator.get("/_emulator/stats")["throttled"] == {"ListTrainingJobs": 1}
    finally:
        emulator.kill()


def test_the_emulator_serves_sts_to_a_plain_boto3_client() -> None:
    emulator = EmulatorProcess("--credential-seconds", "60", "--deny-role", "*:role/locked-*")
    try:
        config = Config(retries={"mode": "standard", "total_max_attempts": 1})
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=emulator.url, config=config)
        assert sts.get_caller_identity()["Account"] == "123456789012"
        role = "arn:aws:iam::123456789012:role/runner"
        answer = sts.assume_role(RoleArn=role, RoleSessionName="cli", DurationSeconds=3600)
        left = answer["Credentials"]["Expiration"] - dt.datetime.now(dt.UTC)
        assert left <= dt.timedelta(seconds=60)  # --credential-seconds, not DurationSeconds
        with pytest.raises(sts.exceptions.ClientError) as caught:
            sts.assume_role(RoleArn=role.replace("runner", "locked-admin"), RoleSessionName="cli")
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        assert emulator.get("/_emulator/stats")["calls"] == {
            "GetCallerIdentity": 1,
            "AssumeRole": 2,
        }
    finally:
        emulator.kill()
