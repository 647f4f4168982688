"""Run a component the way a KFP pod does: ``python -m components.<name> ARGS`` in a subprocess."""

from __future__ import annotations

import asyncio
import sys

from support.environment import subprocess_env


async def run_component(name: str, args: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``python -m components.<name> *args``, guard on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"components.{name}",
        *args,
        env=subprocess_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    return process.returncode or 0, stdout.decode(), stderr.decode()
