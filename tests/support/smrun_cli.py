"""``smrun`` as a user's shell runs it: a subprocess with the guard on and fake credentials."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from support.environment import subprocess_env


async def start_smrun(
    *args: str,
    env: dict[str, str] | None = None,
    stdout: Any = asyncio.subprocess.PIPE,
    stderr: Any = asyncio.subprocess.PIPE,
) -> asyncio.subprocess.Process:
    """``python -m smrun.cli *args``, sweeping every 0.5 s unless ``env`` says otherwise."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smrun.cli",
        *args,
        env=env or subprocess_env(SMRUN_SWEEP_INTERVAL="0.5"),
        stdout=stdout,
        stderr=stderr,
    )


def launch_args(url: str, manifest_path: Path, out: Path, *more: str) -> list[str]:
    """``launch`` of ``manifest_path`` against the SageMaker at ``url``, writing to ``out``."""
    return ["launch", str(manifest_path), "--endpoint-url", url, "--output", str(out), *more]
