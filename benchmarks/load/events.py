"""The "ours with events" strategy (``ours-events``): the runner of ``ours``, fed by issue 12's
change feed.

The benchmark emulator publishes SageMaker's state-change events to EventBridge and delivers
them ``Profile.event_delay`` seconds late (``--event-delay``) to the rules' targets. Before
its first job, the strategy process sets up the queue, the rule, its target and the queue
policy on that emulator exactly as ``smrun launch --local`` does (``runner.feed.setup`` through
``smrun.launcher.command.local_events``) and gives the queue's URL to the ``Runner``
(``RunnerConfig.events_queue``), which then follows its jobs by the feed first and polls only
as the safety net (``runner.eventfirst``). Everything else (jobs, budgets, log tailing,
figures) is ``strategy_ours``'s: the two strategies differ by the feed alone.
"""

from __future__ import annotations

import dataclasses

from runner.config import AwsTarget, RunnerConfig

STRATEGY = "ours-events"


def with_feed(config: RunnerConfig, url: str) -> RunnerConfig:
    """``config`` following jobs by a feed set up, idempotently, on the emulator at ``url``."""
    from smrun.launcher.command import local_events

    queue = local_events(AwsTarget.local(url))
    return dataclasses.replace(config, events_queue=queue)
