"""One task owns every timer.

Instead of a ``while True: sleep(30)`` per job, every poll, sweep and reconciliation is a keyed
timer in one due-heap on the monotonic clock. Re-arming a key replaces its timer (the old heap
entry goes stale and is skipped), so a job never has two polls pending. Due actions run as
tasks, at most ``max_concurrency`` at once. An action that raises never stops the loop: its
timer's ``on_error`` is told (the runner ends the job with an outcome that says why), and without
one the error is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Hashable

import structlog

Action = Callable[[], Awaitable[None]]
OnError = Callable[[Exception], None]
log = structlog.get_logger("runner.scheduler")


class Scheduler:
    def __init__(self, max_concurrency: int = 64) -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        self._timers: dict[Hashable, tuple[int, Action, OnError | None]] = {}
        self._sequence = itertools.count()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: dict[Hashable, asyncio.Task[None]] = {}  # key -> its action, running
        self._slots = asyncio.Semaphore(max_concurrency)
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="smrun-scheduler")

    def call_later(
        self, delay: float, key: Hashable, action: Action, *, on_error: OnError | None = None
    ) -> None:
        """Run ``action`` in ``delay`` seconds, replacing any timer already under ``key``;
        ``on_error`` is called with any exception it raises."""
        due = time.monotonic() + max(delay, 0.0)
        sequence = next(self._sequence)
        self._timers[key] = (sequence, action, on_error)
        earliest = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (due, sequence, key))
        if earliest is None or due < earliest:
            self._wake.set()

    def cancel(self, key: Hashable, *, running: bool = False) -> None:
        """Drop ``key``'s timer; with ``running``, cancel its action too if it runs now (a
        poll waiting for its Describe budget once a sweep follows the job: it would hold a
        slot that the sweep needs)."""
        self._timers.pop(key, None)
        task = self._running.get(key) if running else None
        if task is not None:
            task.cancel()

    def pending(self, key: Hashable) -> bool:
        return key in self._timers

    @property
    def running_actions(self) -> int:
        return len(self._tasks)

    async def _run(self) -> None:
        while True:
            now = time.monotonic()
            self._spawn_due(now)
            timeout = self._heap[0][0] - now if self._heap else None
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # lands just as the event is set, and close() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def _spawn_due(self, now: float) -> None:
        """Start every timer due by ``now`` (a function of its own: the loop keeps no timer,
        and so no ended job, alive between rounds)."""
        while self._heap and self._heap[0][0] <= now:
            _, sequence, key = heapq.heappop(self._heap)
            timer = self._timers.get(key)
            if timer is None or timer[0] != sequence:
                continue  # cancelled or replaced
            del self._timers[key]
            self._spawn(key, timer[1], timer[2])

    def _spawn(self, key: Hashable, action: Action, on_error: OnError | None) -> None:
        async def guarded() -> None:
            async with self._slots:
                try:
                    await action()
                except Exception as error:
                    if on_error is None:
                        raise
                    on_error(error)

        task = asyncio.create_task(guarded(), name=f"smrun:{key}")
        self._tasks.add(task)
        self._running[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))

    def _finished(self, key: Hashable, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error(
                "scheduler.action_failed", action=task.get_name(), error=repr(error), exc_info=error
            )

    async def close(self) -> None:
        tasks = list(self._tasks)
        if self._loop_task is not None:
            tasks.append(self._loop_task)
            self._loop_task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._timers.clear()
        self._heap.clear()
