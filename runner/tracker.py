"""What the runner knows of each job: its last status, why it was stopped, its outcome.

A ``TrackedJob`` is updated from Describe answers and List summaries alike (``observe``), and
emits ``job.status_changed`` / ``job.secondary_status`` only when something really changed,
so that overlapping delta sweeps never report a transition twice. Its ``Outcome`` is set once.

How the runner follows a job is one explicit state, ``Follow``, whose every legal move is in
``FOLLOW_TRANSITIONS`` (as the launcher journal's ``TRANSITIONS`` is for entries); a move the
table does not allow raises ``FollowStateError``, a bug caught where it happens rather than a
job silently never looked at again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from runner.backoff import Backoff
from runner.kinds import JobKind
from runner.naming import Identity

_JOB_LOG = structlog.get_logger("runner.job")


class Follow(enum.Enum):
    SUBMITTING = "submitting"  # the lookup or Create has not answered yet
    POLLED = "polled"  # followed by its own Describe polls
    SWEPT = "swept"  # followed by its kind's List sweep
    RULES = "rules"  # ended well; Described until its Debugger/Profiler rules end
    FINISHING = "finishing"  # its final Describe and outputs are being read
    DONE = "done"  # its outcome is set


# Which state may follow which. POLLED and RULES move to themselves when a poll is re-armed;
# FINISHING goes back to POLLED when a sweep saw an end that a Describe does not show yet.
FOLLOW_TRANSITIONS: dict[Follow, frozenset[Follow]] = {
    Follow.SUBMITTING: frozenset({Follow.POLLED, Follow.SWEPT, Follow.FINISHING, Follow.DONE}),
    Follow.POLLED: frozenset({Follow.POLLED, Follow.SWEPT, Follow.FINISHING, Follow.DONE}),
    Follow.SWEPT: frozenset({Follow.POLLED, Follow.FINISHING, Follow.DONE}),
    Follow.RULES: frozenset({Follow.RULES, Follow.FINISHING, Follow.DONE}),
    Follow.FINISHING: frozenset({Follow.POLLED, Follow.RULES, Follow.DONE}),
    Follow.DONE: frozenset(),
}


class FollowStateError(RuntimeError):
    """A move ``FOLLOW_TRANSITIONS`` does not allow: a bug in the runner, not in the job."""


@dataclass(frozen=True)
class Outcome:
    """How one job ended. Failures are values, never exceptions: one job never sinks another."""

    kind: str
    name: str
    status: str  # SageMaker's final status, or "Error" when the runner could not follow the job
    succeeded: bool
    arn: str | None = None
    failure_reason: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)
    description: Mapping[str, Any] = field(default_factory=dict)
    stopped_by_runner: bool = False
    stop_reason: str | None = None
    attached: bool = False  # the job already existed and the runner re-attached to it
    submitted_at: float | None = None  # epoch seconds
    ended_at: float | None = None
    stop_accepted_at: float | None = None  # when SageMaker accepted the runner's Stop


@dataclass(eq=False)
class TrackedJob:
    kind: JobKind
    name: str
    request: dict[str, Any]
    digest: str
    identity: Identity | None = None
    arn: str | None = None
    attached: bool = False
    created_by_runner: bool = False
    status: str | None = None
    secondary: str | None = None
    last_modified: dt.datetime | None = None
    created_at: float | None = None  # SageMaker's CreationTime, once an answer has shown it
    follow: Follow = Follow.SUBMITTING
    stop_reason: str | None = None  # why the runner asked SageMaker to stop it
    polls: Backoff | None = None  # its Describe polls' delay, while it is polled
    stop_asked_at: float | None = None  # epoch seconds: when the runner was asked to stop it
    stop_accepted_at: float | None = None  # epoch seconds: when SageMaker accepted the Stop
    # True once a Stop asked for is accepted or refused, or none is needed (the job ended).
    stop_settled: bool = False
    submitted_at: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.monotonic)
    outcome: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    # Made only when a shutdown waits for the Stop (an Event per job is ~850 bytes).
    _stop_waiter: asyncio.Future[None] | None = field(default=None, repr=False)

    @property
    def log(self) -> structlog.typing.FilteringBoundLogger:
        """Bound on each use: a bound logger kept per job costs ~500 bytes (its context and a
        logger of its own), 5 MB at 10,000 jobs, for a few events over a job's life."""
        bound: structlog.typing.FilteringBoundLogger = _JOB_LOG.bind(
            job=self.name, kind=self.kind.key
        )
        return bound

    @property
    def done(self) -> bool:
        return self.follow is Follow.DONE

    def move(self, to: Follow) -> None:
        """Enter ``to``; raises ``FollowStateError`` if the table does not allow it."""
        if to not in FOLLOW_TRANSITIONS[self.follow]:
            raise FollowStateError(
                f"{self.kind.key} {self.name}: cannot go from {self.follow.value} to {to.value}"
            )
        self.follow = to

    def observe(self, answer: Mapping[str, Any]) -> bool:
        """Take in a Describe answer or a List summary; True when the status changed."""
        self.last_seen = time.monotonic()
        status = self.kind.status_of(answer)
        secondary = answer.get("SecondaryStatus")
        modified = answer.get("LastModifiedTime")
        if isinstance(modified, dt.datetime):
            self.last_modified = modified
        created = answer.get("CreationTime")
        if isinstance(created, dt.datetime):
            self.created_at = created.timestamp()
        changed = status != self.status
        if changed:
            self.log.info("job.status_changed", status=status, previous=self.status)
            self.status = status
        if secondary and secondary != self.secondary:
            self.secondary = secondary
            message = _secondary_message(answer, secondary)
            self.log.info("job.secondary_status", secondary_status=secondary, message=message)
            changed = True
        return changed

    def settle_stop(self) -> None:
        """No Stop of this job is waited for any more (accepted, refused or not needed)."""
        self.stop_settled = True
        if self._stop_waiter is not None and not self._stop_waiter.done():
            self._stop_waiter.set_result(None)

    def stop_settling(self) -> asyncio.Future[None]:
        """Resolves once ``stop_settled``; shared by every waiter, never to be cancelled."""
        if self._stop_waiter is None:
            self._stop_waiter = asyncio.get_running_loop().create_future()
            if self.stop_settled:
                self._stop_waiter.set_result(None)
        return self._stop_waiter

    def finish(self, outcome: Outcome) -> None:
        if self.done:
            return
        self.move(Follow.DONE)
        self.settle_stop()
        if not self.outcome.done():
            self.outcome.set_result(outcome)
        if outcome.succeeded:
            self.log.info("job.succeeded", status=outcome.status)
        else:
            self.log.warning(
                "job.failed",
                status=outcome.status,
                failure_reason=outcome.failure_reason,
                stopped_by_runner=outcome.stopped_by_runner,
            )


def _secondary_message(answer: Mapping[str, Any], secondary: str) -> str:
    """SageMaker's own wording: "Downloading - Downloading input data"."""
    transitions = answer.get("SecondaryStatusTransitions") or []
    for transition in reversed(transitions):
        if transition.get("Status") == secondary and transition.get("StatusMessage"):
            return f"{secondary} - {transition['StatusMessage']}"
    return secondary


class JobHandle:
    """The caller's view of a submitted job."""

    def __init__(self, job: TrackedJob, stopper: Any) -> None:
        self._job = job
        self._stopper = stopper

    @property
    def name(self) -> str:
        return self._job.name

    @property
    def kind(self) -> str:
        return self._job.kind.key

    @property
    def arn(self) -> str | None:
        return self._job.arn

    @property
    def attached(self) -> bool:
        return self._job.attached

    @property
    def status(self) -> str | None:
        return self._job.status

    @property
    def secondary_status(self) -> str | None:
        """SageMaker's SecondaryStatus (Downloading, Training, ...), for kinds that have one."""
        return self._job.secondary

    @property
    def created_at(self) -> float:
        """When the job was created (SageMaker's CreationTime once seen), epoch seconds."""
        return self._job.created_at or self._job.submitted_at

    @property
    def done(self) -> bool:
        return self._job.outcome.done()

    async def wait(self) -> Outcome:
        return await self.ended()

    def ended(self) -> asyncio.Future[Outcome]:
        """A future of the outcome that its waiter may cancel (the job's own is shielded): to
        wait beside other things without a task per job."""
        return asyncio.shield(self._job.outcome)

    def when_ended(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once the job has ended (or its following was cancelled): unlike
        ``ended()``, nothing is made for it but the callback (a shield is an outer future and
        two callbacks, ~1 KB a job that 10,000 log tails would hold)."""
        self._job.outcome.add_done_callback(lambda _: callback())

    @property
    def stop_requested(self) -> bool:
        """Whether a Stop was asked for the job (sent, or sent once its Create answers)."""
        return self._job.stop_reason is not None

    @property
    def stop_accepted_at(self) -> float | None:
        """When SageMaker accepted the runner's Stop (epoch seconds); None until it has."""
        return self._job.stop_accepted_at

    async def stop(self, reason: str = "requested") -> None:
        await self._stopper(self._job, reason)

    def __repr__(self) -> str:
        return f"<JobHandle {self.kind} {self.name} {self.status}>"
