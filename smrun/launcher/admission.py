"""Admission: when the launcher may submit its next job.

Three kinds of limit, checked together:

- ``concurrency``: jobs of the batch in flight at once;
- ``limits["training"]``: jobs of one kind in flight;
- ``limits["training:ml.p3.2xlarge"]``: *instances* of one type held by one kind's jobs, the
  way AWS's account quotas count them ("ml.p3.2xlarge for training job usage").

Waiting jobs are admitted in arrival (manifest) order, skipping those that do not fit, so one
saturated instance type never holds up the others.

``ResourceLimitExceeded`` is backpressure, not failure: the account has less room than our
limits allowed (other work shares the quota). The refused job gives its place back and the quota
it hit is *paused*: nothing more is admitted against it until one of our jobs holding it ends
(room was freed) or the back-off delay passes (room may have been freed outside the batch),
whichever comes first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.kinds import KINDS
from smrun.launcher.vocabulary import canonical_kind, kind_hint

__all__ = [
    "Admission",
    "AdmissionClosed",
    "Ticket",
    "canonical_limit",
    "limit_problem",
    "parse_limit",
]


class AdmissionClosed(Exception):
    """The batch is stopping: no more jobs are admitted."""


def canonical_limit(key: str) -> str:
    """``train:ml.p3.2xlarge`` -> ``training:ml.p3.2xlarge``: a limit key under the kind's own
    name (an unknown kind is left as written)."""
    kind, sep, instance_type = key.strip().partition(":")
    return f"{canonical_kind(kind) or kind}{sep}{instance_type}"


def limit_problem(key: str, value: Any) -> str | None:
    """What is wrong with limit ``key: value`` (``training: 20``, ``train: 20``,
    ``training:ml.p3.2xlarge: 8``), or None."""
    kind, _, instance_type = key.partition(":")
    if canonical_kind(kind) is None:
        hint = kind_hint(kind)
        return f"{kind!r} is not a job kind{hint} (valid: {', '.join(KINDS)})"
    if ":" in key and not instance_type.startswith("ml."):
        return f"{instance_type!r} is not an instance type (like ml.m5.xlarge)"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"must be a whole number of at least 1, got {value!r}"
    return None


def parse_limit(text: str) -> tuple[str, int]:
    """``"training=20"``, ``"train=20"`` or ``"training:ml.p3.2xlarge=8"`` -> ``(key, limit)``,
    the key under the kind's own name."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip().isdigit():
        raise ValueError(
            f"limit {text!r}: expected KIND=N or KIND:INSTANCE_TYPE=N with N a whole number"
        )
    problem = limit_problem(key.strip(), int(value))
    if problem:
        raise ValueError(f"limit {text!r}: {problem}")
    return canonical_limit(key), int(value)


@dataclass(eq=False)
class Ticket:
    """One job's claim: its kind and the instances (per type) it will hold while it runs."""

    entry_id: str
    kind: str
    usage: Mapping[str, int] = field(default_factory=dict)
    held: bool = False

    @property
    def type_keys(self) -> list[str]:
        return [f"{self.kind}:{instance_type}" for instance_type in self.usage]

    def amount(self, key: str) -> int:
        """How much of limit ``key`` this job takes: one job, or its instances of a type."""
        if key == self.kind:
            return 1
        kind, _, instance_type = key.partition(":")
        return self.usage.get(instance_type, 0) if kind == self.kind else 0


class Admission:
    def __init__(self, concurrency: int, limits: Mapping[str, int] | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.limits = dict(limits or {})
        for key, limit in self.limits.items():
            if limit < 1:
                raise ValueError(f"limit {key}: must be at least 1, got {limit}")
        self.in_flight = 0
        self._used: dict[str, int] = {}  # limit key -> jobs or instances held
        self._paused: dict[str, float] = {}  # limit key -> monotonic time the pause ends
        self._resumed: dict[str, asyncio.Event] = {}  # set when a paused key is freed
        self._waiters: list[tuple[Ticket, asyncio.Future[None]]] = []
        self._closed = False
        self._timers: list[asyncio.TimerHandle] = []

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def paused(self) -> list[str]:
        now = time.monotonic()
        return sorted(key for key, until in self._paused.items() if until > now)

    def in_use(self, key: str) -> int:
        """Jobs (a kind's key) or instances (a type's key) the batch holds under ``key``."""
        return self._used.get(key, 0)

    def _keys(self, ticket: Ticket) -> list[str]:
        return [ticket.kind, *ticket.type_keys]

    def _fits(self, ticket: Ticket, now: float) -> bool:
        if self.in_flight >= self.concurrency:
            return False
        for key in self._keys(ticket):
            if self._paused.get(key, 0.0) > now:
                return False
            limit = self.limits.get(key)
            # A job bigger than the whole limit still runs, alone, rather than never.
            used = self._used.get(key, 0)
            if limit is not None and used > 0 and used + ticket.amount(key) > limit:
                return False
        return True

    def _take(self, ticket: Ticket) -> None:
        ticket.held = True
        self.in_flight += 1
        for key in self._keys(ticket):
            self._used[key] = self._used.get(key, 0) + ticket.amount(key)

    async def acquire(self, ticket: Ticket, *, force: bool = False) -> None:
        """Wait for room, then hold it. ``force``: hold it now (a job already running in
        SageMaker, re-attached on resume, counts whatever the limits say)."""
        if self._closed:
            raise AdmissionClosed()
        if ticket.held:
            return
        if force or (not self._waiters and self._fits(ticket, time.monotonic())):
            self._take(ticket)
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiters.append((ticket, granted))
        self._grant()  # those ahead may be blocked on a limit this one is not
        try:
            await granted
        except BaseException:
            self._waiters = [(t, f) for t, f in self._waiters if t is not ticket]
            if ticket.held:
                self.release(ticket)  # granted, but the waiter was cancelled meanwhile
            raise

    def release(self, ticket: Ticket) -> None:
        """The job ended (or was never created): its room goes to the next waiters."""
        if not ticket.held:
            return
        ticket.held = False
        self.in_flight -= 1
        for key in self._keys(ticket):
            self._used[key] -= ticket.amount(key)
            if key in self._paused:  # one of ours freed room under this quota
                del self._paused[key]
                self._resumed.pop(key, asyncio.Event()).set()
        self._grant()

    async def refused(self, ticket: Ticket, delay: float, message: str = "") -> None:
        """SageMaker refused the job for a quota: give the room back, pause the quota the
        message names (the instance type's, else the kind's) for ``delay`` seconds or until
        one of ours holding it ends, and wait for that."""
        self.release(ticket)
        keys = [key for key in ticket.type_keys if key.partition(":")[2] in message]
        keys = keys or [ticket.kind]
        until = time.monotonic() + delay
        for key in keys:
            self._paused[key] = max(self._paused.get(key, 0.0), until)
            self._resumed.setdefault(key, asyncio.Event())
        self._wake_at(until)
        waits = [asyncio.ensure_future(self._resumed[key].wait()) for key in keys]
        try:
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        for key in keys:
            if self._paused.get(key, 0.0) <= time.monotonic():
                self._paused.pop(key, None)
                self._resumed.pop(key, None)

    def close(self) -> None:
        """Admit nothing more; every waiter gets AdmissionClosed."""
        self._closed = True
        waiters, self._waiters = self._waiters, []
        for _, granted in waiters:
            if not granted.done():
                granted.set_exception(AdmissionClosed())
        for timer in self._timers:
            timer.cancel()

    def _grant(self) -> None:
        now = time.monotonic()
        remaining: list[tuple[Ticket, asyncio.Future[None]]] = []
        for position, (ticket, granted) in enumerate(self._waiters):
            if self.in_flight >= self.concurrency:  # no one else fits: stop scanning
                remaining.extend(self._waiters[position:])
                break
            if granted.done():
                continue
            if self._fits(ticket, now):
                self._take(ticket)
                granted.set_result(None)
            else:
                remaining.append((ticket, granted))
        self._waiters = remaining

    def _wake_at(self, when: float) -> None:
        """Look at the waiters again when a pause ends (pauses are rare: a timer each)."""
        loop = asyncio.get_running_loop()
        timer = loop.call_later(max(when - time.monotonic(), 0.0) + 0.001, self._grant)
        self._timers = [t for t in self._timers if not t.cancelled() and t.when() > loop.time()]
        self._timers.append(timer)
