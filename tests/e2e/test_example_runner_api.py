"""examples/runner_api.py runs as written (against an embedded emulator, and against one at a
given URL, where a second run re-attaches instead of creating), and README's Python API
snippet is that example's code, line for line."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from support.environment import subprocess_env
from support.stats import fetch_stats

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "runner_api.py"

pytestmark = pytest.mark.timeout(120)


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


def test_the_example_runs_against_an_embedded_emulator() -> None:
    done = run_example()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    finished = re.findall(r"^(TrainingJob-fit-\d-\w+): Completed", done.stdout, re.MULTILINE)
    assert len(finished) == 3
    assert "[host algo-1]" in done.stdout  # the first job's logs, streamed
    assert "/output/model.tar.gz" in done.stdout


async def test_a_second_run_with_the_same_run_id_reattaches(emulator: Any) -> None:
    for _ in range(2):  # the emulator runs in this loop: the example runs beside it
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLE),
            "--endpoint-url",
            emulator.url,
            "--run-id",
            "twice",
            env=subprocess_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()[-2000:]
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["CreateTrainingJob"] == 3


def test_readmes_snippet_is_the_examples_code() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    source = EXAMPLE.read_text()
    code = source.split("# snippet: start\n", 1)[1].split("    # snippet: end", 1)[0]
    assert snippet == textwrap.dedent(code)
