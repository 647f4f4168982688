"""Shutdown in named phases; Stops at the Stop quota's pace, and when each was accepted.

``Runner.shutdown`` goes through ``ShutdownPhase`` in order, each logged once as a
``shutdown.phase`` event (the shape of Temporal's worker shutdown: stop polling for work, then
let what runs end within a graceful timeout, then report what was left):

1. ``cancel_submissions``: admit nothing more; a Create still waiting for its budget or a
   retry is abandoned at once (``runner.gate``: the entry is "not sent: shutting down"); one on
   the wire is let answer, and its job is stopped as soon as the answer names it.
2. ``send_stops``: a Stop for every job in flight, at the Stop budget's pace, the first before
   any per-job log line is written.
3. ``settle``: each job's end, from what the Stop answers and the sweeps, events and polls
   already say: a job whose Stop was accepted and that is seen Stopped is settled Stopped, no
   final Describe (``Runner._stopped_as_asked``).
4. ``done``: the bound ran out or every job ended; what is left is said (still stopping: Stop
   accepted, not yet Stopped; not stopped: no Stop accepted) for the caller to record.

A shutdown asks for a Stop for every job in flight at once; the calls go out at the pace of
the Stop budget (``RateLimits``' ``Stop*`` bucket, which starts full: the first Stops leave
at once), so that none is throttled and retried. A job whose Create had been sent but not
answered is stopped once the answer names it (``Runner.submit``). Each Stop SageMaker accepts
is reported as a ``job.stop_accepted`` event and in the job's ``Outcome`` and handle
(``stop_accepted_at``); a shutdown that is told to can wait for every one, however long the
budget makes that take (the launcher: until a second signal).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Sequence
from typing import Any

import structlog

from runner.config import RateLimits
from runner.tracker import TrackedJob

log = structlog.get_logger("runner")


class ShutdownPhase(enum.Enum):
    CANCEL_SUBMISSIONS = "cancel_submissions"
    SEND_STOPS = "send_stops"
    SETTLE = "settle"
    DONE = "done"


def enter(phase: ShutdownPhase, **facts: Any) -> None:
    log.info("shutdown.phase", phase=phase.value, **facts)


def left_over(jobs: Sequence[TrackedJob]) -> dict[str, list[str]]:
    """The jobs of ``jobs`` not ended yet, by what their Stop has come to: ``still_stopping``
    (accepted) and ``not_stopped`` (asked, not accepted: queued for the budget or refused
    for a reason that is not an end)."""
    open_jobs = [job for job in jobs if not job.done]
    return {
        "still_stopping": [job.name for job in open_jobs if job.stop_accepted_at is not None],
        "not_stopped": [job.name for job in open_jobs if job.stop_accepted_at is None],
    }


def senders(limits: RateLimits, stops: int, connections: int) -> int:
    """How many Stops a shutdown keeps in hand at once: the Stop budget's burst and one
    second of its rate (more would only wait for a token), at most a connection pool's."""
    rate = limits.rate_for("Stop")
    wanted = connections if rate is None else rate.burst + max(int(rate.per_second), 1)
    return max(min(stops, wanted, connections), 1)


def asked(job: TrackedJob) -> None:
    job.stop_asked_at = time.time()


def accepted(job: TrackedJob, **facts: Any) -> None:
    """SageMaker accepted the Stop of ``job``."""
    job.stop_accepted_at = time.time()
    waited = job.stop_accepted_at - (job.stop_asked_at or job.stop_accepted_at)
    job.log.info("job.stop_accepted", waited_s=round(waited, 3), **facts)
    job.settle_stop()


def settled(job: TrackedJob) -> None:
    """No Stop of ``job`` will be accepted (refused, not needed, or it could not be sent)."""
    job.settle_stop()


async def wait_until_settled(jobs: Sequence[TrackedJob], bound: float | None) -> list[TrackedJob]:
    """Wait until the Stop of every one of ``jobs`` is settled, or ``bound`` seconds (None: no bound);
    the jobs still waiting for theirs."""
    waiting = [job.stop_settling() for job in jobs if not job.stop_settled]
    if waiting:
        await asyncio.wait(waiting, timeout=bound)
    left = [job for job in jobs if not job.stop_settled]
    stamps = [job.stop_accepted_at for job in jobs if job.stop_accepted_at is not None]
    log.info(
        "runner.stops_settled",
        accepted=len(stamps),
        settled=len(jobs) - len(left),
        waiting=len(left),
        last_accepted_at=max(stamps) if stamps else None,
    )
    return left
