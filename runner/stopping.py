"""Stops at the Stop quota's pace, and when each was accepted.

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
import time
from collections.abc import Sequence

import structlog

from runner.tracker import TrackedJob

log = structlog.get_logger("runner")


def asked(job: TrackedJob) -> None:
    job.stop_asked_at = time.time()


def accepted(job: TrackedJob) -> None:
    """SageMaker accepted the Stop of ``job``."""
    job.stop_accepted_at = time.time()
    waited = job.stop_accepted_at - (job.stop_asked_at or job.stop_accepted_at)
    job.log.info("job.stop_accepted", waited_s=round(waited, 3))
    job.stop_settled.set()


def settled(job: TrackedJob) -> None:
    """No Stop of ``job`` will be accepted (refused, not needed, or it could not be sent)."""
    job.stop_settled.set()


async def wait_until_settled(jobs: Sequence[TrackedJob], bound: float | None) -> list[TrackedJob]:
    """Wait until the Stop of every one of ``jobs`` is settled, or ``bound`` seconds (None: no bound);
    the jobs still waiting for theirs."""
    waiting = [job for job in jobs if not job.stop_settled.is_set()]
    if waiting:
        waits = [asyncio.ensure_future(job.stop_settled.wait()) for job in waiting]
        try:
            await asyncio.wait(waits, timeout=bound)
        finally:
            for wait in waits:
                wait.cancel()
    left = [job for job in jobs if not job.stop_settled.is_set()]
    stamps = [job.stop_accepted_at for job in jobs if job.stop_accepted_at is not None]
    log.info(
        "runner.stops_settled",
        accepted=len(stamps),
        settled=len(jobs) - len(left),
        waiting=len(left),
        last_accepted_at=max(stamps) if stamps else None,
    )
    return left
