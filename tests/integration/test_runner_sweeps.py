"""Bounded sweeps on an account with a deep history, and Stops at the Stop quota's pace, against
the emulator over HTTP. Pages are counted from the emulator's stats and the runner's
``sweep.done`` events, never timed."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Any

import pytest
from structlog.testing import capture_logs

from emulator.listing import EXACT_PAGING, Paging
from emulator.quotas import Quotas
from emulator.quotas import Rate as QuotaRate
from emulator.server import EmulatorServer
from emulator.state import EmulatorConfig
from runner.config import DEFAULT_RATES, Rate, RateLimits
from runner.core import Runner
from runner.naming import Identity
from support import requests as req
from support.runner_setup import FAST_POLL, runner_config
from support.stats import fetch_stats

HISTORY = 1500  # ended jobs of every kind: 15 pages of training jobs before ours
PAGINGS = {
    "aws": Paging(),
    "creation_time_bounds_scan": Paging(creation_time_bounds_scan=True),
    "exact": EXACT_PAGING,
}


def duration(seconds: float) -> list[dict[str, str]]:
    return req.tags(**{"emulator:duration-seconds": seconds})


async def run_batch(url: str, count: int, *, prefix: str, **config: Any) -> list[Any]:
    async with Runner(runner_config(url, **config)) as runner:
        handles = await asyncio.gather(
            *(
                runner.submit(
                    "training", req.training(f"{prefix}-{i:03d}", Tags=duration(1.5 + i % 5 * 0.3))
                )
                for i in range(count)
            )
        )
        return await runner.wait_all(handles)


def sweeps_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "sweep.done" and e["kind"] == "training"]


@pytest.mark.parametrize("paging", list(PAGINGS))
async def test_a_sweep_on_a_deep_history_costs_the_batch_not_the_account(paging: str) -> None:
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2, history=HISTORY)
    config.paging = PAGINGS[paging]
    async with EmulatorServer(config) as emulator:
        with capture_logs() as events:
            outcomes = await run_batch(emulator.url, 150, prefix=f"deep-{paging[:3]}")
        stats = await fetch_stats(emulator.url)
    assert [o.status for o in outcomes] == ["Completed"] * 150  # every end detected
    sweeps = sweeps_of(events)
    assert sweeps, "the kind was never swept"
    # 150 of ours: at most 2 full pages and the one that reaches the floor, never the history's
    # 15 more; the emulator's count agrees with the runner's.
    assert max(s["pages"] for s in sweeps) <= math.ceil(150 / 100) + 1
    assert all(s["complete"] for s in sweeps)
    listing = stats["listing"]["ListTrainingJobs"]
    assert listing["pages"] == sum(s["pages"] for s in sweeps)
    assert listing["pages"] < len(sweeps) * (HISTORY / 100)


async def test_jobs_past_the_page_cap_are_described_to_their_end() -> None:
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2, history=HISTORY)
    async with EmulatorServer(config) as emulator:
        with capture_logs() as events:
            outcomes = await run_batch(
                emulator.url,
                160,
                prefix="capped",
                poll=dataclasses.replace(FAST_POLL, sweep_page_cap=1),
            )
        stats = await fetch_stats(emulator.url)
    assert [o.status for o in outcomes] == ["Completed"] * 160
    sweeps = sweeps_of(events)
    assert all(s["pages"] == 1 for s in sweeps)
    # The first sweep reached the newest 100; the 60 older ones went to Describe.
    assert sum(s["to_describe"] for s in sweeps) >= 60
    assert stats["listing"]["ListTrainingJobs"]["pages"] == len(sweeps)


async def test_every_job_ends_when_describe_is_the_cheapest_way(emulator: Any) -> None:
    # A List budget so slow that one page costs more than a Describe per job.
    limits = RateLimits(rates={"List*": Rate(0.01, 1)})
    with capture_logs() as events:
        outcomes = await run_batch(emulator.url, 8, prefix="described", limits=limits)
    assert [o.status for o in outcomes] == ["Completed"] * 8
    chosen = [e["strategy"] for e in events if e["event"] == "sweep.strategy_chosen"]
    assert chosen == ["describe"]
    assert "ListTrainingJobs" not in (await fetch_stats(emulator.url))["calls"]


async def test_search_by_the_run_tag_replaces_a_listing_crowded_by_other_jobs(
    emulator: Any, sagemaker: Any
) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        identity = Identity("run-crowded", "step-000")
        first = await runner.submit(
            "training", req.training("", Tags=duration(4.0)), identity=identity
        )
        # Someone else's 250 jobs, created after ours: a List sweep must walk them.
        for i in range(250):
            await sagemaker.create_training_job(**req.training(f"other-{i:03d}", Tags=duration(30)))
        with capture_logs() as events:
            rest = [
                await runner.submit(
                    "training",
                    req.training("", Tags=duration(2.0 + i % 3 * 0.2)),
                    identity=Identity("run-crowded", f"step-{i:03d}"),
                )
                for i in range(1, 12)
            ]
            outcomes = await runner.wait_all([first, *rest])
    assert [o.status for o in outcomes] == ["Completed"] * 12
    chosen = [e for e in events if e["event"] == "sweep.strategy_chosen"]
    assert chosen[-1]["strategy"] == "search"
    assert chosen[-1]["list_pages"] >= 3  # measured: ours and the 250 others
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["Search"] > 0


async def test_shutdown_sends_every_stop_at_the_quotas_pace_none_throttled(emulator: Any) -> None:
    # The emulator's Stop quota is AWS-like (10/s, a burst of 20); the rest of it is free.
    emulator.emulator.quotas = Quotas({"sagemaker:Stop*": QuotaRate(10, 20)})
    names = [f"paced-{i:03d}" for i in range(45)]
    # One connection: the Stops reach the emulator in the order the budget lets them go.
    limits = RateLimits(rates={"Stop*": DEFAULT_RATES["Stop*"]})
    async with Runner(runner_config(emulator.url, limits=limits, max_connections=1)) as runner:
        handles = [
            await runner.submit("training", req.training(name, Tags=duration(120)))
            for name in names
        ]
        with capture_logs() as events:
            outcomes = await runner.shutdown(grace=10, until_stops_accepted=True)
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["StopTrainingJob"] == 45  # each once: none throttled and retried
    assert stats["throttled"].get("StopTrainingJob", 0) == 0
    rows = sorted(stats["jobs"], key=lambda row: row["stop_requested_at"])
    assert [row["name"] for row in rows] == names  # in the order the jobs were submitted
    accepted = [e["job"] for e in events if e["event"] == "job.stop_accepted"]
    assert sorted(accepted) == names
    assert all(h.stop_accepted_at is not None for h in handles)
    assert all(o.stop_accepted_at is not None and o.stopped_by_runner for o in outcomes)
    (settled,) = [e for e in events if e["event"] == "runner.stops_settled"]
    assert settled["accepted"] == 45 and settled["waiting"] == 0
