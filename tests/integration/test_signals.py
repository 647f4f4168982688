"""StopOnSignal: a SIGTERM stops every job first, and the entry point exits 128 + signal."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

from runner.core import Runner
from smrun.signals import StopOnSignal
from support import requests as req
from support.runner_setup import runner_config
from support.stats import fetch_stats


async def test_sigterm_stops_every_job_then_reports_143(emulator: Any) -> None:
    long_running = req.tags(**{"emulator:duration-seconds": 60})
    async with Runner(runner_config(emulator.url)) as runner:
        handles = [
            await runner.submit("training", req.training(f"sig-{i}", Tags=long_running))
            for i in range(5)
        ]
        with StopOnSignal(runner, grace=10) as signals:
            loop = asyncio.get_running_loop()
            sent_at = time.time()
            loop.call_later(0.2, os.kill, os.getpid(), signal.SIGTERM)
            outcomes = await runner.wait_all(handles)
            await signals.wait_for_shutdown()
    assert signals.received is signal.SIGTERM and signals.exit_code == 143
    assert {o.status for o in outcomes} == {"Stopped"}
    assert all(o.stopped_by_runner and o.stop_reason == "SIGTERM" for o in outcomes)
    stats = await fetch_stats(emulator.url)
    last_stop = max(job["stop_requested_at"] for job in stats["jobs"])
    print(f"\nSIGTERM to last Stop request: {last_stop - sent_at - 0.2:.3f}s")


async def test_no_signal_means_exit_code_zero(emulator: Any) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        with StopOnSignal(runner) as signals:
            handle = await runner.submit(
                "training",
                req.training("sig-none", Tags=req.tags(**{"emulator:duration-seconds": 0.3})),
            )
            assert (await handle.wait()).succeeded
    assert signals.received is None and signals.exit_code == 0
