"""The slot of the "ours with events" strategy (``ours-events``): issue 12's change feed.

That strategy is the runner as ``ours`` runs it, plus the change feed: the benchmark emulator
publishes SageMaker's state-change events to EventBridge, a rule delivers them to an SQS queue,
and the runner consumes that queue (``--events QUEUE_URL`` in the launcher) so that it sweeps
and Describes rarely. It needs two things that are built on other branches: the emulator's SQS
and EventBridge (``emulator.state.SERVICES`` naming ``sqs`` and ``events``), the feed's
consumer (``runner.feed``) and a ``Runner`` that follows its jobs by it (``runner.core``
using ``FeedConsumer``).

Until both are on the branch being measured, ``unavailable`` says so and the harness records
the strategy as not run, with that reason, in the results and the report. Once they are, the
strategy still needs its wiring here (the emulator's delivery settings, ``smrun events setup``
against the emulator, the queue URL into the runner's config): until that is written the run
fails with ``NOT_WIRED``, visibly, and never falls back to measuring ``ours`` under its name.
The wiring also adds the delivery delay to ``workload.Profile`` as ``event_delay``, which the
target "p99 within 3 s of the delivery delay" reads (``targets.with_events``).
"""

from __future__ import annotations

import importlib.util
import inspect

STRATEGY = "ours-events"
NOT_WIRED = (
    "the change feed is on this branch, but the benchmark's wiring of it is not written: "
    "see benchmarks/load/events.py"
)


def unavailable() -> str | None:
    """Why ``ours-events`` cannot run on this code, or None once the feed is here."""
    from emulator.state import SERVICES

    missing = [
        what
        for what, present in (
            ("the emulator's SQS and EventBridge", {"sqs", "events"} <= set(SERVICES)),
            ("the change-feed consumer (runner.feed)", _module_exists("runner.feed")),
            ("a Runner that follows its jobs by it (runner.core)", _runner_takes_feed()),
        )
        if not present
    ]
    if not missing:
        return None
    return "not on this code yet: " + " and ".join(missing) + " (issue 12, item 1)"


def _runner_takes_feed() -> bool:
    """Whether the core follows jobs by the feed: ``runner.feed`` alone "knows nothing of the
    Runner" (its docstring), and ``RunnerConfig.feed`` is only how a queue is read, so the
    sign is the core using the consumer, whatever the option that names the queue is called."""
    import runner.core

    return "FeedConsumer" in inspect.getsource(runner.core)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
