"""What the runner knows of each job: its last status, why it was stopped, its outcome.

A ``TrackedJob`` is updated from Describe answers and List summaries alike (``observe``), and
emits ``job.status_changed`` / ``job.secondary_status`` only when something really changed,
so that overlapping delta sweeps never report a transition twice. Its ``Outcome`` is set once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from runner.kinds import JobKind
from runner.naming import Identity


class Phase(enum.Enum):
    RUNNING = "running"  # polled until a terminal status
    STOPPING = "stopping"  # Stop requested by the runner
    DONE = "done"


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
    phase: Phase = Phase.RUNNING
    stop_reason: str | None = None
    waiting_for_rules: bool = False
    swept: bool = False  # followed by its kind's List sweep rather than its own Describe polls
    submitting: bool = True  # Create (or the lookup before it) has not answered yet
    stop_asked_at: float | None = None  # epoch seconds: when the runner was asked to stop it
    stop_accepted_at: float | None = None  # epoch seconds: when SageMaker accepted the Stop
    # Set once a Stop asked for is accepted or refused, or none is needed (the job ended).
    stop_settled: asyncio.Event = field(default_factory=asyncio.Event)
    interval: float = 0.0  # current per-job poll interval
    submitted_at: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.monotonic)
    outcome: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def __post_init__(self) -> None:
        self.log = structlog.get_logger("runner.job").bind(job=self.name, kind=self.kind.key)

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

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

    def finish(self, outcome: Outcome) -> None:
        if self.phase is Phase.DONE:
            return
        self.phase = Phase.DONE
        self.stop_settled.set()
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
        return await asyncio.shield(self._job.outcome)

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
