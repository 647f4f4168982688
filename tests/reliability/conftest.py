"""Fixtures of the reliability tests: the CLI run in process, and figures for RELIABILITY.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smrun.cli import main
from support.cli_runs import Ran


@pytest.fixture
def smrun(capsys: pytest.CaptureFixture[str]) -> Any:
    """``smrun(*args)``: the CLI's exit code and stderr."""

    def run(*args: str | Path) -> Ran:
        code = main([str(a) for a in args])
        return Ran(code, capsys.readouterr().err)

    return run


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Any:
    """``figures(**values)``: the test's measured figures, appended as one JSON line to the file
    ``SMRUN_FIGURES`` names (``make reliability`` sets it and prints them); a no-op otherwise."""
    import os

    def record(**values: Any) -> None:
        target = os.environ.get("SMRUN_FIGURES")
        if target:
            with Path(target).open("a", encoding="utf-8") as out:
                out.write(json.dumps({"test": request.node.name, **values}) + "\n")

    return record
