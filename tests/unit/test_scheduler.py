"""``runner.scheduler``: one due-heap, keyed timers, bounded concurrency, clean shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from runner.scheduler import Scheduler

WAIT = 5.0  # generous upper bound for anything that should happen "soon"


@pytest.fixture(autouse=True)
def default_structlog() -> Iterator[None]:
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture
async def scheduler() -> AsyncIterator[Scheduler]:
    scheduler = Scheduler()
    scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.close()


class Recorder:
    """Actions that record their key when they run; ``wait_for(n)`` until n have run."""

    def __init__(self) -> None:
        self.ran: list[Hashable] = []
        self._changed = asyncio.Condition()

    def action(self, key: Hashable) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async with self._changed:
                self.ran.append(key)
                self._changed.notify_all()

        return run

    async def wait_for(self, count: int) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.ran) >= count), WAIT)


async def test_timers_fire_in_due_order(scheduler: Scheduler) -> None:
    recorder = Recorder()
    for key, delay in [("c", 0.06), ("a", 0.0), ("d", 0.08), ("b", 0.03)]:
        scheduler.call_later(delay, key, recorder.action(key))
    await recorder.wait_for(4)
    assert recorder.ran == ["a", "b", "c", "d"]


async def test_timers_due_together_keep_their_order_of_arming(scheduler: Scheduler) -> None:
    recorder = Recorder()
    keys = [f"k{i}" for i in range(20)]
    for key in keys:
        scheduler.call_later(0.0, key, recorder.action(key))
    await recorder.wait_for(20)
    assert recorder.ran == keys


async def test_a_sooner_timer_armed_later_wakes_the_loop(scheduler: Scheduler) -> None:
    recorder = Recorder()
    scheduler.call_later(60.0, "late", recorder.action("late"))
    await asyncio.sleep(0.01)  # the loop now sleeps until the late timer
    scheduler.call_later(0.01, "soon", recorder.action("soon"))
    await recorder.wait_for(1)
    assert recorder.ran == ["soon"]
    assert scheduler.pending("late")


async def test_rearming_a_key_replaces_its_timer(scheduler: Scheduler) -> None:
    recorder = Recorder()
    scheduler.call_later(0.01, "poll", recorder.action("first"))
    scheduler.call_later(0.05, "poll", recorder.action("second"))
    scheduler.call_later(0.0, "other", recorder.action("other"))
    await recorder.wait_for(2)
    await asyncio.sleep(0.1)  # the stale first entry came due meanwhile, and was skipped
    assert recorder.ran == ["other", "second"]
    assert not scheduler.pending("poll")


async def test_rearming_sooner_fires_once_at_the_new_time(scheduler: Scheduler) -> None:
    recorder = Recorder()
    scheduler.call_later(0.2, "poll", recorder.action("late"))
    scheduler.call_later(0.0, "poll", recorder.action("soon"))
    await recorder.wait_for(1)
    await asyncio.sleep(0.3)
    assert recorder.ran == ["soon"]


async def test_many_rearms_fire_once(scheduler: Scheduler) -> None:
    recorder = Recorder()
    for i in range(100):
        scheduler.call_later(0.001 * (i % 7), "job", recorder.action(i))
    scheduler.call_later(0.05, "marker", recorder.action("marker"))
    await recorder.wait_for(2)
    await asyncio.sleep(0.02)
    assert recorder.ran == [99, "marker"]


async def test_cancel(scheduler: Scheduler) -> None:
    recorder = Recorder()
    scheduler.call_later(0.02, "doomed", recorder.action("doomed"))
    scheduler.call_later(0.05, "kept", recorder.action("kept"))
    assert scheduler.pending("doomed")
    scheduler.cancel("doomed")
    scheduler.cancel("never-armed")  # harmless
    assert not scheduler.pending("doomed")
    await recorder.wait_for(1)
    await asyncio.sleep(0.05)
    assert recorder.ran == ["kept"]


async def test_a_key_can_be_armed_again_after_it_fired_or_was_cancelled(
    scheduler: Scheduler,
) -> None:
    recorder = Recorder()
    scheduler.call_later(0.0, "k", recorder.action(1))
    await recorder.wait_for(1)
    scheduler.call_later(0.0, "k", recorder.action(2))
    await recorder.wait_for(2)
    scheduler.call_later(0.05, "k", recorder.action("cancelled"))
    scheduler.cancel("k")
    scheduler.call_later(0.0, "k", recorder.action(3))
    await recorder.wait_for(3)
    await asyncio.sleep(0.1)
    assert recorder.ran == [1, 2, 3]


async def test_an_action_that_raises_does_not_stop_the_loop(scheduler: Scheduler) -> None:
    recorder = Recorder()

    async def boom() -> None:
        raise RuntimeError("poll went wrong")

    with capture_logs() as logs:
        scheduler.call_later(0.0, ("poll", "training", "bad"), boom)
        scheduler.call_later(0.02, "after", recorder.action("after"))
        await recorder.wait_for(1)
        scheduler.call_later(0.0, "later", recorder.action("later"))
        await recorder.wait_for(2)
    assert recorder.ran == ["after", "later"]
    failures = [entry for entry in logs if entry["event"] == "scheduler.action_failed"]
    assert len(failures) == 1
    assert failures[0]["log_level"] == "error"
    assert "poll went wrong" in failures[0]["error"]
    assert "bad" in failures[0]["action"]


async def test_concurrency_is_bounded() -> None:
    scheduler = Scheduler(max_concurrency=3)
    scheduler.start()
    running = peak = finished = 0
    all_done = asyncio.Event()

    def action() -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            nonlocal running, peak, finished
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.02)
            running -= 1
            finished += 1
            if finished == 12:
                all_done.set()

        return run

    try:
        for i in range(12):
            scheduler.call_later(0.0, i, action())
        await asyncio.wait_for(all_done.wait(), WAIT)
    finally:
        await scheduler.close()
    assert peak == 3
    assert finished == 12


async def test_running_actions_are_counted(scheduler: Scheduler) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def hold() -> None:
        started.set()
        await release.wait()

    scheduler.call_later(0.0, "held", hold)
    await asyncio.wait_for(started.wait(), WAIT)
    assert scheduler.running_actions == 1
    release.set()
    for _ in range(100):
        if scheduler.running_actions == 0:
            break
        await asyncio.sleep(0.01)
    assert scheduler.running_actions == 0


async def test_close_cancels_running_actions_and_pending_timers() -> None:
    scheduler = Scheduler()
    scheduler.start()
    started = asyncio.Event()
    cancelled: list[str] = []
    recorder = Recorder()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("forever")
            raise

    scheduler.call_later(0.0, "forever", forever)
    scheduler.call_later(0.05, "pending", recorder.action("pending"))
    await asyncio.wait_for(started.wait(), WAIT)
    await asyncio.wait_for(scheduler.close(), WAIT)
    assert cancelled == ["forever"]
    assert scheduler.running_actions == 0
    assert not scheduler.pending("pending")
    await asyncio.sleep(0.1)
    assert recorder.ran == []
    await scheduler.close()  # a second close is harmless


async def test_start_is_idempotent() -> None:
    scheduler = Scheduler()
    scheduler.start()
    scheduler.start()
    recorder = Recorder()
    try:
        scheduler.call_later(0.0, "once", recorder.action("once"))
        await recorder.wait_for(1)
        await asyncio.sleep(0.02)
        assert recorder.ran == ["once"]
    finally:
        await scheduler.close()
    loops = [task for task in asyncio.all_tasks() if task.get_name() == "smrun-scheduler"]
    assert loops == []


async def test_timers_armed_before_start_fire_after_start() -> None:
    scheduler = Scheduler()
    recorder = Recorder()
    scheduler.call_later(0.0, "early", recorder.action("early"))
    await asyncio.sleep(0.02)
    assert recorder.ran == []
    scheduler.start()
    try:
        await recorder.wait_for(1)
    finally:
        await scheduler.close()
    assert recorder.ran == ["early"]


async def test_cancelling_a_running_action_frees_its_slot_for_the_next() -> None:
    # A poll waiting for its Describe budget once a sweep follows its job: cancelled with
    # its timer, so that the sweep gets the slot.
    scheduler = Scheduler(max_concurrency=1)
    scheduler.start()
    started, swept = asyncio.Event(), asyncio.Event()

    async def poll() -> None:
        started.set()
        await asyncio.Event().wait()  # a token that never comes

    async def sweep() -> None:
        swept.set()

    try:
        scheduler.call_later(0.0, "poll", poll)
        await asyncio.wait_for(started.wait(), WAIT)
        scheduler.call_later(0.0, "sweep", sweep)
        scheduler.cancel("poll")  # the timer only: the poll keeps its slot
        await asyncio.sleep(0)
        assert not swept.is_set()
        scheduler.cancel("poll", running=True)
        await asyncio.wait_for(swept.wait(), WAIT)
    finally:
        await scheduler.close()
