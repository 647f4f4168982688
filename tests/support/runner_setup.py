"""A RunnerConfig for tests: fast polls, tiny retry waits, no client-side rate limits."""

from __future__ import annotations

import dataclasses
from typing import Any

from runner.config import AwsTarget, PollPolicy, RateLimits, RetryPolicy, RunnerConfig

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
