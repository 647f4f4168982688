"""Run a component the way a KFP pod does: ``python -m components.<name> ARGS`` in a subprocess."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from support.environment import subprocess_env


def logs_endpoint_env(url: str) -> dict[str, str]:
    """Point CloudWatch Logs at ``url`` (the emulator serves Logs too) the way a user points
    any AWS SDK at a service's endpoint: botocore's ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``. A component's
    ``endpoint_url`` is SageMaker's alone, as in v1."""
    return {"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url}


def endpoint_url_of(args: Sequence[str]) -> str | None:
    """The ``--endpoint_url`` value among a component's arguments."""
    for flag, value in itertools.pairwise(args):
        if flag == "--endpoint_url":
            return value
    return None


def component_env(args: Sequence[str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A component's environment: its Logs endpoint where its SageMaker endpoint is (unless
    ``extra`` says otherwise), guard on."""
    url = endpoint_url_of(args)
    return subprocess_env(**{**(logs_endpoint_env(url) if url else {}), **(extra or {})})


async def start_container(
    command: Sequence[str], env: Mapping[str, str] | None, cwd: Path
) -> asyncio.subprocess.Process:
    """A container's ``python -m components.<name> ...`` command (as a pipeline spec writes
    it) started with this interpreter, the way a launcher runs a task: stderr piped."""
    assert command[0] in ("python3", "python"), command
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *command[1:],
        cwd=cwd,
        env=component_env(command, env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_component(
    name: str, args: list[str], env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``python -m components.<name> *args``, guard on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"components.{name}",
        *args,
        env=component_env(args, env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    return process.returncode or 0, stdout.decode(), stderr.decode()
