"""A RunnerConfig for tests (fast polls, tiny retry waits, no client-side rate limits), and a
wait until a runner is at rest."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from typing import TYPE_CHECKING, Any

from runner.config import AwsTarget, PollPolicy, RateLimits, RetryPolicy, RunnerConfig

if TYPE_CHECKING:
    from runner.core import Runner

FAST_POLL = PollPolicy(
    initial=0.2, maximum=1.0, jitter=0.2, delta_threshold=4, sweep_interval=0.5, sweep_overlap=2.0
)


def runner_config(url: str, **changes: Any) -> RunnerConfig:
    config = RunnerConfig(
        aws=AwsTarget(region="us-east-1", endpoint_url=url),
        poll=FAST_POLL,
        retry=RetryPolicy(initial=0.05, maximum=0.5, call_timeout=10),
        limits=RateLimits.none(),
        max_connections=64,
        stop_grace=10,
    )
    return dataclasses.replace(config, **changes)


async def at_rest(runner: Runner) -> None:
    """Until ``runner``'s scheduler runs no action and the callbacks already due have run, then
    a collection: what is left in memory is what something still holds."""
    async with asyncio.timeout(10):
        while runner.scheduler.running_actions:  # noqa: ASYNC110 (no event says "idle")
            await asyncio.sleep(0.01)
    for _ in range(5):  # futures' done callbacks, already scheduled
        await asyncio.sleep(0)
    gc.collect()
