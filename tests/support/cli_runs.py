"""What the reliability tests share: a valid manifest to spoil, and the CLI run in process."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def dry_run(*args: str | Path) -> Sequence[str]:
    return ["launch", "--local", "--dry-run", *map(str, args)]
