"""What already holds, kept holding: under throttling, 5xx, dropped connections and lost Create
answers, through an outage, a job is created once, ends as SageMaker says, and every log line
reaches its file exactly once. The same at 1,000 jobs is ``make reliability`` (heavy).

Each run's faults are drawn from a fixed seed; nothing here waits on a timing: the outage
starts once jobs are in flight and ends once the runner has met it on enough calls."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from emulator.server import EmulatorServer
from emulator.state import EmulatorConfig
from smrun.launcher.launch import Launch, LaunchResult
from support.launching import launch
from support.manifests import entry, manifest, raw_job
from support.stats import fetch_stats, set_faults

# What the launcher journals for what SageMaker says.
SAGEMAKER_STATUS = {"succeeded": "Completed", "failed": "Failed", "stopped": "Stopped"}
TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
# The field report's matrix (issue 16): 30% throttled, 5% 5xx, 2% dropped, plus lost answers.
FAULT_MATRIX = {
    "throttle_rate": 0.3,
    "error_rate": 0.05,
    "drop_rate": 0.02,
    "services": ["sagemaker", "logs"],
}


def batch(size: int) -> dict[str, Any]:
    """``size`` jobs: training that succeeds, some that fail, and processing."""
    failing, processing = max(1, size // 10), max(1, size // 5)
    return manifest(
        entry(
            "fit",
            "training",
            raw_job("training", 0.5, log_lines=6),
            count=size - failing - processing,
        ),
        entry(
            "bad", "training", raw_job("training", 0.3, fail="AlgorithmError: NaN"), count=failing
        ),
        entry("prep", "processing", raw_job("processing", 0.4), count=processing),
    )


def assert_matches_sagemaker(result: LaunchResult, stats: dict[str, Any], size: int) -> None:
    """One job per entry, and each entry's outcome the one SageMaker has."""
    names = [row["name"] for row in stats["jobs"]]
    assert len(names) == len(set(names)) == size
    sagemaker = {row["name"]: row["status"] for row in stats["jobs"]}
    journaled = {row.job_name: SAGEMAKER_STATUS.get(row.state, row.state) for row in result.rows}
    assert journaled == sagemaker
    assert result.reports is not None


def assert_every_log_line_once(emulator: EmulatorServer, out: Path) -> int:
    """Each training job's log file holds each line its streams had, once; returns the lines."""
    store, checked = emulator.emulator.logs, 0
    for job in emulator.emulator.jobs["training"].values():
        planned = Counter(
            message
            for stream in store.streams_of(job)
            for _, message in store.events(TRAINING_GROUP, stream)
        )
        written = (out / "logs" / f"{job.name}.log").read_text().splitlines()
        assert Counter(written) == planned, job.name
        checked += len(written)
    return checked


def in_flight(run: Launch) -> int:
    """Jobs created and not seen to end (a short job may never be seen running)."""
    return run.tally.counts.get("submitted", 0) + run.tally.counts.get("running", 0)


async def calls_served(emulator: EmulatorServer) -> int:
    return sum((await fetch_stats(emulator.url))["calls"].values())


def quick_emulator() -> EmulatorServer:
    return EmulatorServer(
        EmulatorConfig(
            job_duration=1.0, stop_duration=0.2, late_event_delay=0.2, check_responses=True
        )
    )


@pytest.mark.parametrize(
    "size", [40, pytest.param(1000, marks=[pytest.mark.heavy, pytest.mark.timeout(900)])]
)
async def test_the_fault_matrix_with_lost_create_answers_changes_no_outcome(
    tmp_path: Path, size: int, figures: Any
) -> None:
    async with quick_emulator() as emulator:
        await set_faults(emulator.url, **FAULT_MATRIX, lose_answer_rate=0.02, seed=16)
        result = await launch(emulator.url, batch(size), tmp_path, concurrency=min(size, 200))
        await set_faults(emulator.url)
        stats = await fetch_stats(emulator.url)
        assert_matches_sagemaker(result, stats, size)
        assert sum(stats["throttled"].values()) > 0
        lines = assert_every_log_line_once(emulator, tmp_path / "out")
        assert lines > 0
        figures(
            jobs=size,
            created_twice=0,
            outcomes_unlike_sagemaker=0,
            log_lines_checked=lines,
            log_lines_lost_or_doubled=0,
            throttled=sum(stats["throttled"].values()),
            lost_answers=sum(stats["lost_answers"].values()),
            calls=sum(stats["calls"].values()),
        )


async def test_lost_create_answers_are_reattached_never_created_twice(tmp_path: Path) -> None:
    async with quick_emulator() as emulator:
        # Half of all Create answers lost: each is retried, refused as already there, re-attached.
        await set_faults(
            emulator.url, lose_answer_rate=0.5, operations=["CreateTrainingJob"], seed=3
        )
        result = await launch(emulator.url, batch(20), tmp_path, concurrency=20)
        stats = await fetch_stats(emulator.url)
        assert stats["lost_answers"]["CreateTrainingJob"] >= 5
        assert_matches_sagemaker(result, stats, 20)


@pytest.mark.parametrize(
    "size", [30, pytest.param(1000, marks=[pytest.mark.heavy, pytest.mark.timeout(900)])]
)
async def test_an_outage_in_mid_run_is_ridden_out(tmp_path: Path, size: int, figures: Any) -> None:
    async with quick_emulator() as emulator:
        outage: dict[str, float] = {}
        # The small run's outage is counted in calls; the heavy one lasts the field report's 30 s.
        dropped, lasting = (50, 0.0) if size < 100 else (2000, 30.0)

        async def cut_then_restore(run: Launch) -> None:
            while in_flight(run) < 10:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            await set_faults(emulator.url, drop_rate=1.0, services=["sagemaker", "logs"])
            began, before = time.monotonic(), await calls_served(emulator)
            # The runner meets the outage on that many calls (every one dropped), then it ends.
            while (  # noqa: ASYNC110
                await calls_served(emulator) < before + dropped
                or time.monotonic() - began < lasting
            ):
                await asyncio.sleep(0.05)
            await set_faults(emulator.url)
            outage["calls"] = await calls_served(emulator) - before
            outage["seconds"] = time.monotonic() - began  # reported, never asserted

        result = await launch(
            emulator.url, batch(size), tmp_path, concurrency=min(size, 200), during=cut_then_restore
        )
        assert outage["calls"] >= dropped
        stats = await fetch_stats(emulator.url)
        assert_matches_sagemaker(result, stats, size)
        lines = assert_every_log_line_once(emulator, tmp_path / "out")
        figures(
            jobs=size,
            outage_calls_dropped=outage["calls"],
            outage_s=round(outage["seconds"], 1),
            created_twice=0,
            outcomes_unlike_sagemaker=0,
            log_lines_checked=lines,
        )
