"""Sweeps on a service clock minutes off the machine's (issue 16, point 6).

The emulator's clock is a hand clock moved by ``clock_skew_s`` (SigV4 accepts requests up to 5
minutes off): its CreationTimes, its Date headers and its filters are on that clock. Only sweeps
can see these jobs (polls are set far out), so an end is seen at sweep-interval scale only if
the sweeps' windows are on the service's clock; a window on the local clock misses the jobs and
the runner falls back to Describing each one, which these tests count.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from emulator.server import EmulatorServer
from emulator.state import Emulator, EmulatorConfig
from runner.core import Runner
from support import requests as req
from support.clock import HandClock
from support.runner_setup import FAST_POLL, runner_config
from support.stats import fetch_stats

JOBS = 5
# Sweeps from the first job on, every 50 ms; a job's own Describe polls would come after 60 s.
SWEPT_ONLY = dataclasses.replace(
    FAST_POLL, delta_threshold=1, sweep_interval=0.05, initial=60.0, maximum=60.0
)


@pytest.mark.parametrize("skew", [-300.0, -60.0, 60.0, 300.0])
async def test_sweeps_see_every_end_on_a_skewed_service_clock(skew: float) -> None:
    clock = HandClock()
    config = EmulatorConfig(job_duration=10.0, stop_duration=1.0, clock_skew_s=skew)
    async with EmulatorServer(emulator=Emulator(config, clock=clock)) as server:
        async with Runner(runner_config(server.url, poll=SWEPT_ONLY)) as runner:
            handles = [
                await runner.submit("training", req.training(f"skewed-{i}")) for i in range(JOBS)
            ]
            # Until a sweep has listed each job (it then knows the job's CreationTime): the
            # service's clock stands still meanwhile, so every job is still InProgress.
            while any(handle.secondary_status is None for handle in handles):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            assert all(h.created_at == pytest.approx(clock.now + skew, abs=1) for h in handles)
            clock.advance(30)  # every job has Completed, on the service's clock
            outcomes = await asyncio.wait_for(runner.wait_all(handles), timeout=30)
            describe_only = runner._sweep_choices["training"].describe_only
        stats = await fetch_stats(server.url)
    assert [o.status for o in outcomes] == ["Completed"] * JOBS
    assert describe_only == set(), "a sweep's window missed jobs: they were Described instead"
    # One lookup before each Create and one final Describe for the outputs: no polls.
    assert stats["calls"]["DescribeTrainingJob"] == 2 * JOBS
