"""What already holds, as a user's processes see it: kill -9 at three points and a rerun create
each job once; planted credentials appear in nothing a launch or a component writes."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import requests as req
from support.components import run_component
from support.environment import subprocess_env
from support.manifests import entry, manifest, raw_job
from support.smrun_cli import launch_args, start_smrun
from support.stats import fetch_stats

pytestmark = pytest.mark.timeout(120)

# Credentials of the shapes AWS issues (an access key id, a 40-character secret, a session
# token), planted in the environment of every process below.
PLANTED = {
    "AWS_ACCESS_KEY_ID": "AKIAPLANTEDKEY000042",
    "AWS_SECRET_ACCESS_KEY": "Pl4nt3dS3cr3tK3yPl4nt3dS3cr3tK3yPl4nt3dX",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEPlantedSessionToken0123456789abcdefPLANTED",
}
assert len(PLANTED["AWS_SECRET_ACCESS_KEY"]) == 40


def launch_command(url: str, path: Path, out: Path) -> list[str]:
    return launch_args(url, path, out, "--concurrency", "8")


async def start(command: list[str], **env: str) -> asyncio.subprocess.Process:
    return await start_smrun(*command, env=subprocess_env(SMRUN_SWEEP_INTERVAL="0.5", **env))


async def until(condition: Callable[[], Any], within: float = 60.0) -> None:
    """Wait for another process's doing (there is nothing to await)."""
    async with asyncio.timeout(within):
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def small_batch(tmp_path: Path) -> Path:
    path = tmp_path / "batch.yaml"
    data = manifest(
        entry("fit", "training", raw_job("training", 0.8), count=14),
        entry("bad", "training", raw_job("training", 0.4, fail="AlgorithmError: boom"), count=2),
    )
    path.write_text(yaml.safe_dump(data))
    return path


async def created(emulator: Any) -> int:
    return int((await fetch_stats(emulator.url))["calls"].get("CreateTrainingJob", 0))


async def stops(emulator: Any) -> int:
    return int((await fetch_stats(emulator.url))["calls"].get("StopTrainingJob", 0))


@pytest.mark.parametrize("point", ["first-create", "shutdown"])
async def test_kill_9_then_rerun_creates_each_job_once(
    emulator: Any, tmp_path: Path, point: str
) -> None:
    """Killed as its first Create is answered, or while it sends Stops after a SIGTERM (the
    third point, mid-run, is tests/e2e/test_launch_cli.py); the rerun finishes the batch."""
    path, out = small_batch(tmp_path), tmp_path / "out"
    process = await start(launch_command(emulator.url, path, out))
    if point == "first-create":
        await until(lambda: _more_than(created(emulator), 0))
    else:
        await until(lambda: _more_than(created(emulator), 7))
        process.send_signal(signal.SIGTERM)
        await until(lambda: _more_than(stops(emulator), 0))
    process.kill()
    await process.communicate()
    assert process.returncode == -signal.SIGKILL

    rerun = await start(launch_command(emulator.url, path, out))
    stdout, stderr = await rerun.communicate()
    assert rerun.returncode == 1, stderr.decode()[-2000:]  # stopped or failed jobs, no error
    stats = await fetch_stats(emulator.url)
    names = [row["name"] for row in stats["jobs"]]
    assert len(names) == len(set(names)) == 16
    records = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    by_name = {row["name"]: row["status"] for row in stats["jobs"]}
    said = {"succeeded": "Completed", "failed": "Failed", "stopped": "Stopped"}
    assert {r["job_name"]: said[r["state"]] for r in records} == by_name
    assert "error" not in stdout.decode()


def files_under(directory: Path, but: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in directory.rglob("*") if p.is_file() and p != but}


async def _more_than(count: Any, floor: int) -> bool:
    return bool(await count > floor)


async def test_planted_credentials_appear_in_nothing_written(emulator: Any, tmp_path: Path) -> None:
    """A launch (readable log lines and its JSON events file) and a training component, each
    with a failing job, debug logging and the credentials in their environment."""
    path, out = small_batch(tmp_path), tmp_path / "out"
    launch = await start(launch_command(emulator.url, path, out), **PLANTED)
    stdout, stderr = await launch.communicate()
    assert launch.returncode == 1, stderr.decode()[-2000:]

    component_out = tmp_path / "component"
    args = [
        "--region", "us-east-1", "--endpoint_url", emulator.url,
        "--image", req.IMAGE, "--role", req.ROLE,
        "--channels", json.dumps([{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "s3://bucket/train", "S3DataType": "S3Prefix"}}}]),
        "--instance_type", "ml.m5.xlarge",
        "--model_artifact_path", "s3://bucket/out",
        "--tags", json.dumps({"emulator:duration-seconds": "0.3", "emulator:fail-reason": "AlgorithmError: boom"}),
    ]  # fmt: skip
    for output in ("model_artifact_url", "job_name", "training_image"):
        args += [f"--{output}_output_path", str(component_out / output)]
    code, c_stdout, c_stderr = await run_component("train", args, env=PLANTED)
    assert code != 0  # the job failed, and said so

    texts = files_under(tmp_path, but=path)
    assert len(texts) >= 20  # the journal, the reports, events, a log file per job
    texts |= {"launch stdout": stdout, "launch stderr": stderr}
    texts |= {"component stdout": c_stdout.encode(), "component stderr": c_stderr.encode()}
    leaks = [
        (where, name)
        for where, content in texts.items()
        for name, value in PLANTED.items()
        if value.encode() in content
    ]
    assert not leaks
