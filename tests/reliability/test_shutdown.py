"""Shutdown in named phases, against the emulator (issue 16, points 1 and 2).

After SIGTERM: no Create goes out that was not already on the wire (every call slow, Creates
queued for their budget); a Create on the wire when it came is followed by its Stop; every
job's report is what SageMaker has, without a final Describe per stopped job; and the launch
returns within its shutdown timeout while jobs are still stopping and their log tails still
read, having journaled them Stopping.

The moment of the SIGTERM is never raced: it is sent from inside a Create's own request
(botocore's ``before-parameter-build`` event), so what was sent before it and what after is exact.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from emulator.server import EmulatorServer
from emulator.state import EmulatorConfig
from runner.config import Rate, RateLimits
from smrun.launcher.command import interrupted_line
from smrun.launcher.journal import Row
from smrun.launcher.launch import Launch, LaunchResult
from support import launching
from support.manifests import entry, manifest, raw_job
from support.stats import fetch_stats, set_faults

CREATE = "CreateTrainingJob"


@dataclass
class Creates:
    """Every CreateTrainingJob as botocore is about to send it, and whether the launch had been
    interrupted by then; ``interrupt_at``: the Create (1-based) whose sending interrupts it."""

    interrupt_at: int | None = None
    sent: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def after_sigterm(self) -> list[str]:
        return [name for name, interrupted in self.sent if interrupted]


async def launch(
    url: str,
    data: dict[str, Any],
    tmp_path: Path,
    *,
    creates: Creates | None = None,
    interrupt_when: Callable[[Launch], bool] | None = None,
    **options: Any,
) -> LaunchResult:
    """One launch of ``data``, interrupted ("SIGTERM") from inside the ``creates.interrupt_at``
    -th Create's sending, or once ``interrupt_when(launch)`` holds (looked at every 50 ms)."""

    async def watch_creates(run: Launch) -> None:
        assert creates is not None

        def before_create(params: dict[str, Any], **_: Any) -> None:
            creates.sent.append((params["TrainingJobName"], run.interrupted is not None))
            if len(creates.sent) == creates.interrupt_at:
                run.interrupt("SIGTERM")

        client = await run.runner.caller.clients.client("sagemaker")
        client.meta.events.register(f"before-parameter-build.sagemaker.{CREATE}", before_create)

    return await launching.launch(
        url,
        data,
        tmp_path,
        before=watch_creates if creates is not None else None,
        interrupt_when=(lambda run: "SIGTERM" if interrupt_when(run) else None)
        if interrupt_when is not None
        else None,
        **options,
    )


def by_name(rows: list[Row]) -> dict[str, Row]:
    """The rows of jobs that were sent, by job name."""
    return {row.job_name: row for row in rows if row.state not in ("pending", "error")}


def reported(row: Row) -> str:
    """What the journal (and so the report) says of a job, in SageMaker's words."""
    if row.state == "stopped":
        return "Stopped"
    if row.state in ("submitted", "running"):
        return "Stopping" if row.status == "Stopping" else "InProgress"
    return row.state


async def sagemaker_says(url: str) -> dict[str, str]:
    return {job["name"]: job["status"] for job in (await fetch_stats(url))["jobs"]}


async def test_no_job_is_created_after_sigterm_when_every_call_is_slow(
    emulator: Any, tmp_path: Path
) -> None:
    # Issue 16: with every call 0.5 s slow, 45 of 60 jobs were created after the SIGTERM by
    # submissions already admitted and waiting for the Create budget.
    await set_faults(emulator.url, latency_s=0.3, services=["sagemaker"])
    data = manifest(entry("slow", "training", raw_job("training", 60), count=30))
    creates = Creates(interrupt_at=3)
    result = await launch(
        emulator.url,
        data,
        tmp_path,
        budgets=RateLimits({"Create*": Rate(2, 1)}),
        creates=creates,
        concurrency=30,
    )
    assert creates.after_sigterm == []
    stats = await fetch_stats(emulator.url)
    assert stats["calls"][CREATE] == 3 == len(stats["jobs"])
    # The third Create was on the wire when the SIGTERM came: its job is stopped too.
    in_flight = creates.sent[-1][0]
    assert {job["name"]: job["status"] for job in stats["jobs"]}[in_flight] == "Stopped"
    states = [row.state for row in result.rows]
    assert states.count("stopped") == 3 and states.count("pending") == 27
    # Each abandoned Create says so on its entry; a resume sends it and clears the reason.
    pending = [row for row in result.rows if row.state == "pending"]
    assert all("not sent: shutting down" in (row.failure_reason or "") for row in pending)
    assert result.interrupted == "SIGTERM" and result.stopping == ()


async def test_a_create_on_the_wire_at_sigterm_is_followed_by_its_stop(
    emulator: Any, tmp_path: Path
) -> None:
    await set_faults(emulator.url, latency_s=0.3, services=["sagemaker"])
    data = manifest(entry("one", "training", raw_job("training", 60)))
    creates = Creates(interrupt_at=1)  # the SIGTERM comes while the only Create is sent
    result = await launch(emulator.url, data, tmp_path, creates=creates)
    stats = await fetch_stats(emulator.url)
    [job] = stats["jobs"]
    assert job["status"] == "Stopped" and job["stop_requested_at"] is not None
    [row] = result.rows
    assert row.state == "stopped" and "stopped by the runner (SIGTERM)" in (
        row.failure_reason or ""
    )


async def test_a_create_whose_answer_was_lost_at_sigterm_is_looked_up_and_stopped(
    emulator: Any, tmp_path: Path
) -> None:
    # Every Create is served and its answer lost: the job exists, the runner cannot know.
    await set_faults(emulator.url, lose_answer_rate=1.0, operations=[CREATE])
    data = manifest(entry("lost", "training", raw_job("training", 60)))
    creates = Creates(interrupt_at=1)  # the SIGTERM comes while the first attempt is out
    result = await launch(emulator.url, data, tmp_path, creates=creates)
    assert len(creates.sent) == 1  # not retried after the SIGTERM: looked up instead
    [job] = (await fetch_stats(emulator.url))["jobs"]
    assert job["status"] == "Stopped" and job["stop_requested_at"] is not None
    [row] = result.rows
    assert row.state == "stopped" and row.job_name == job["name"]


def all_running(count: int) -> Callable[[Launch], bool]:
    return lambda run: run.tally.counts.get("running", 0) >= count


async def test_after_sigterm_the_report_is_what_sagemaker_has_without_a_describe_per_job(
    emulator: Any, tmp_path: Path
) -> None:
    # One Describe a second: 40 final Describes would take 40 s, twice the shutdown timeout.
    # Each Stopped comes from what the sweeps already say.
    data = manifest(entry("many", "training", raw_job("training", 60), count=40))
    result = await launch(
        emulator.url,
        data,
        tmp_path,
        budgets=RateLimits({"Describe*": Rate(1, 1)}),
        interrupt_when=all_running(40),
        concurrency=40,
        shutdown_timeout=20,
    )
    sagemaker = await sagemaker_says(emulator.url)
    journal = {name: reported(row) for name, row in by_name(result.rows).items()}
    assert journal == sagemaker
    assert set(sagemaker.values()) == {"Stopped"}
    assert result.stopping == ()


@pytest.mark.heavy
async def test_after_sigterm_at_1000_jobs_the_report_is_what_sagemaker_has(
    tmp_path: Path, figures: Any
) -> None:
    # Issue 16: 1,000 Stops arrived within 0.84 s and SageMaker stopped all 1,000, but the
    # report said 722 running. The Describe budget is the default one (10/s).
    config = EmulatorConfig(job_duration=600, stop_duration=1.0, late_event_delay=0.2)
    async with EmulatorServer(config) as emulator:
        data = manifest(entry("many", "training", raw_job("training", 600), count=1000))
        signalled: list[float] = []

        def when_all_running(run: Launch) -> bool:
            if all_running(1000)(run):
                signalled.append(time.monotonic())
                return True
            return False

        result = await launch(
            emulator.url,
            data,
            tmp_path,
            budgets=RateLimits({"Describe*": Rate(10, 20), "Stop*": Rate(200, 200)}),
            interrupt_when=when_all_running,
            concurrency=1000,
            job_logs=False,
        )
        exit_s = time.monotonic() - signalled[0]
        sagemaker = await sagemaker_says(emulator.url)
    journal = {name: reported(row) for name, row in by_name(result.rows).items()}
    differs = sum(1 for name, status in sagemaker.items() if journal.get(name) != status)
    figures(jobs=1000, report_differs_from_sagemaker=differs, exit_after_sigterm_s=round(exit_s, 2))
    assert len(journal) == 1000
    assert journal == sagemaker


async def test_the_launch_returns_within_its_shutdown_timeout_with_jobs_still_stopping(
    tmp_path: Path,
) -> None:
    # SageMaker takes its time to stop them (a training job may take minutes), and their
    # log tails are still being read: the launch returns within its bound anyway, with the
    # jobs journaled as SageMaker has them, Stopping.
    config = EmulatorConfig(job_duration=600, stop_duration=600, late_event_delay=0.2)
    async with EmulatorServer(config) as emulator:
        data = manifest(entry("stuck", "training", raw_job("training", 600), count=5))
        bound = 3.0
        async with asyncio.timeout(bound + 5):  # the bound, with room for a loaded machine
            result = await launch(
                emulator.url, data, tmp_path, interrupt_when=all_running(5), shutdown_timeout=bound
            )
        sagemaker = await sagemaker_says(emulator.url)
    assert set(sagemaker.values()) == {"Stopping"}
    journal = {name: reported(row) for name, row in by_name(result.rows).items()}
    assert journal == sagemaker
    assert sorted(result.stopping) == sorted(row.id for row in result.rows)
    line = interrupted_line(result)
    assert "5 job(s) still stopping" in line and "run the same command again" in line
