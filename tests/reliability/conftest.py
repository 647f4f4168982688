"""Helpers for the hostile-input and damaged-journal tests: the CLI run in-process."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from smrun.cli import main
from support import manifests
from support.manifests import raw_job


def good_manifest(**overrides: Any) -> dict[str, Any]:
    """A valid one-job manifest; ``overrides`` replace fields of its one entry."""
    job = {"name": "prep", "kind": "processing", "request": raw_job("processing", 1.0)}
    job.update(overrides)
    return manifests.manifest(job, batch="hostile")


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))  # JSON is YAML too
    return path


class Ran:
    def __init__(self, code: int, err: str) -> None:
        self.code = code
        self.err = err

    @property
    def problems(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("  - ")]


@pytest.fixture
def smrun(capsys: pytest.CaptureFixture[str]) -> Any:
    """``smrun(*args)``: the CLI's exit code and stderr."""

    def run(*args: str | Path) -> Ran:
        code = main([str(a) for a in args])
        return Ran(code, capsys.readouterr().err)

    return run


def dry_run(*args: str | Path) -> Sequence[str]:
    return ["launch", "--local", "--dry-run", *map(str, args)]


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
