"""Launcher manifests for tests: raw-request entries of emulated jobs with planned fates."""

from __future__ import annotations

from typing import Any

from support import requests as req


def raw_job(
    kind: str,
    seconds: float,
    *,
    fail: str | None = None,
    instance_count: int = 1,
    instance_type: str = "ml.m5.xlarge",
    log_lines: int | None = None,
) -> dict[str, Any]:
    """A ``training`` or ``processing`` request without a name (the launcher derives it) that
    the emulator runs for ``seconds`` and, with ``fail``, ends in Failed with that reason."""
    build = req.training if kind == "training" else req.processing
    request = build("unused", instance_count=instance_count)
    del request["TrainingJobName" if kind == "training" else "ProcessingJobName"]
    resources = (
        request["ResourceConfig"]
        if kind == "training"
        else request["ProcessingResources"]["ClusterConfig"]
    )
    resources["InstanceType"] = instance_type
    planned: dict[str, Any] = {"emulator:duration-seconds": seconds}
    if fail:
        planned["emulator:fail-reason"] = fail
    if log_lines is not None:
        planned["emulator:log-lines"] = log_lines
    request["Tags"] = req.tags(**planned)
    return request


def manifest(*entries: dict[str, Any], batch: str = "test-batch") -> dict[str, Any]:
    return {"batch": batch, "jobs": list(entries)}


def entry(
    name: str, kind: str, request: dict[str, Any], count: int | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "kind": kind, "request": request}
    if count is not None:
        item["count"] = count
    return item


def most_at_once(rows: list[dict[str, Any]], weight: Any = None) -> int:
    """The most jobs (or, with ``weight(row)``, instances) the emulator had running at once,
    from its stats rows (``created_at``/``ended_at``)."""
    points: list[tuple[float, int]] = []
    for row in rows:
        amount = weight(row) if weight else 1
        points.append((row["created_at"], amount))
        points.append((row["ended_at"] if row["ended_at"] is not None else float("inf"), -amount))
    # At the same instant an end comes before a start: a freed slot may be reused at once.
    points.sort(key=lambda p: (p[0], p[1]))
    best = current = 0
    for _, delta in points:
        current += delta
        best = max(best, current)
    return best
