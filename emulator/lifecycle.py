"""A job's life as a schedule of transitions on the emulator's wall clock.

Nothing runs in the background: a job is created with the list of transitions it will go
through (``InProgress/Starting`` at creation, ``Completed`` after its duration, ``Failed``
part-way when a failure is planned), and every request reads the job's state *at that
moment* by bisecting the schedule. A Stop call rewrites the tail of the schedule
(``Stopping`` now, ``Stopped`` a little later). This keeps ten thousand jobs as cheap as one:
no timers, no tasks, and every answer is consistent with every other answer at that instant.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Transition:
    """From ``at`` (epoch seconds) the job has ``status`` (and ``secondary`` status)."""

    at: float
    status: str
    secondary: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Phase:
    """One step of a kind's normal life, starting at ``fraction`` of the job's duration."""

    fraction: float
    status: str
    secondary: str | None = None
    message: str = ""


@dataclass(eq=False)
class Schedule:
    """The transitions of one job, sorted by time; the first is at creation."""

    transitions: list[Transition]
    terminal: frozenset[str]
    _times: list[float] = field(init=False, repr=False)
    # Called after ``cut`` changes the transitions (the job store's indexes listen).
    on_change: Callable[[], None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._times = [t.at for t in self.transitions]

    @property
    def times(self) -> list[float]:
        """The times of the transitions, in order (do not modify)."""
        return self._times

    def at(self, now: float) -> Transition:
        index = bisect.bisect_right(self._times, now) - 1
        return self.transitions[max(index, 0)]

    def history(self, now: float) -> list[Transition]:
        """Every transition that has happened by ``now``, oldest first."""
        return self.transitions[: max(bisect.bisect_right(self._times, now), 1)]

    def ended_at(self, now: float) -> float | None:
        current = self.at(now)
        return current.at if current.status in self.terminal else None

    def planned_end(self) -> float:
        return self.transitions[-1].at

    def first(self, status: str, secondary: str | None = None) -> Transition | None:
        for transition in self.transitions:
            if transition.status == status and (
                secondary is None or transition.secondary == secondary
            ):
                return transition
        return None

    def cut(self, now: float, tail: list[Transition]) -> None:
        """Drop what has not happened by ``now`` and append ``tail`` instead."""
        kept = self.history(now)
        self.transitions = [*kept, *tail]
        self._times = [t.at for t in self.transitions]
        if self.on_change is not None:
            self.on_change()


def plan(
    created_at: float,
    duration: float,
    phases: tuple[Phase, ...],
    *,
    fail_at: float | None = None,
    failed: Transition | None = None,
) -> list[Transition]:
    """The transitions of a normal life; with ``fail_at`` (a fraction), it ends ``failed`` there."""
    transitions: list[Transition] = []
    for phase in phases:
        if fail_at is not None and phase.fraction >= fail_at:
            break
        transitions.append(
            Transition(
                created_at + phase.fraction * duration, phase.status, phase.secondary, phase.message
            )
        )
    if fail_at is not None and failed is not None:
        when = created_at + fail_at * duration
        transitions.append(Transition(when, failed.status, failed.secondary, failed.message))
    return transitions


def tag_dict(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """SageMaker's ``[{"Key": k, "Value": v}]`` as a plain mapping."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}
