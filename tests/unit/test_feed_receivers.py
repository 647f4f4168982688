"""``FeedConsumer.run`` keeps ``FeedPolicy.receivers`` long polls in flight at once: one
ReceiveMessage brings at most 10 messages, so one loop alone caps the feed (the load benchmark
measured a backed-up queue at 4,697 events for 1,000 jobs with a single loop)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from runner.config import AwsTarget, FeedPolicy, RunnerConfig
from runner.feed import FeedConsumer
from runner.session import AwsCaller


class HeldReceives:
    """A fake SQS whose ReceiveMessage answers only once ``wanted`` of them are waiting at the
    same time: with fewer loops than that, the consumer would wait forever."""

    def __init__(self, config: RunnerConfig, wanted: int) -> None:
        self.config = config
        self.wanted = wanted
        self.waiting = 0
        self.most_at_once = 0
        self.all_in = asyncio.Event()

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        assert (service, operation) == ("sqs", "ReceiveMessage")
        if self.all_in.is_set():
            await asyncio.Event().wait()  # a long poll on an empty queue, until cancelled
        self.waiting += 1
        self.most_at_once = max(self.most_at_once, self.waiting)
        if self.waiting >= self.wanted:
            self.all_in.set()
        await self.all_in.wait()
        self.waiting -= 1
        return {}


def config_with(**feed: Any) -> RunnerConfig:
    config = RunnerConfig(aws=AwsTarget(region="us-east-1"))
    return replace(config, feed=replace(FeedPolicy(), **feed))


@contextlib.asynccontextmanager
async def consuming(config: RunnerConfig, fake: Any) -> AsyncIterator[None]:
    """A ``FeedConsumer.run`` whose calls go to ``fake``, for the block's length."""
    caller = AwsCaller(config)
    consumer = FeedConsumer(caller, "http://127.0.0.1:1/123456789012/q", lambda k, n: True)
    consumer._caller = fake
    task = asyncio.create_task(consumer.run(lambda change: None))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await caller.close()


@pytest.mark.parametrize("receivers", [1, 4])
async def test_the_consumer_keeps_its_receivers_in_flight_at_once(receivers: int) -> None:
    config = config_with(receivers=receivers)
    fake = HeldReceives(config, receivers)
    async with consuming(config, fake):
        await asyncio.wait_for(fake.all_in.wait(), timeout=30)
    assert fake.most_at_once == receivers


def test_receivers_is_bounded() -> None:
    with pytest.raises(ValueError, match="receivers"):
        FeedPolicy(receivers=0)


class CountedQueue:
    """A fake SQS with ``size`` messages for each of the first three receives (their bodies are
    no SageMaker event: each is deleted and ignored), counting the receives."""

    def __init__(self, config: RunnerConfig, size: int) -> None:
        self.config = config
        self.size = size
        self.receives = 0
        self.deleted = asyncio.Event()

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        if operation == "DeleteMessageBatch":
            self.deleted.set()
            return {"Successful": [{"Id": entry["Id"]} for entry in params["Entries"]]}
        assert operation == "ReceiveMessage"
        if self.receives == 3:
            await asyncio.Event().wait()  # then empty: a long poll, until cancelled
        self.receives += 1
        messages = [
            {"MessageId": f"m{self.receives}-{i}", "ReceiptHandle": f"r{i}", "Body": "{}"}
            for i in range(self.size)
        ]
        return {"Messages": messages}


@pytest.mark.parametrize(("size", "again"), [(3, False), (10, True)], ids=["partial", "full"])
async def test_a_partial_batch_waits_for_the_queue_to_fill_a_full_one_does_not(
    size: int, again: bool
) -> None:
    """At AWS's pace a long poll answers with the first message: without the wait, one call
    and one delete per message."""
    config = config_with(receivers=1, gather=3600.0)
    fake = CountedQueue(config, size)
    async with consuming(config, fake):
        await asyncio.wait_for(fake.deleted.wait(), timeout=30)
        for _ in range(200):  # the loop's turns, no clock: a receive again would come in a few
            await asyncio.sleep(0)
    assert (fake.receives > 1) is again


class SteadyQueue:
    """A fake SQS whose every receive brings ``size`` messages (bodies that are no SageMaker
    event), counting how many receives are in flight at once after the first ``settle``."""

    def __init__(self, config: RunnerConfig, size: int, settle: int = 8, until: int = 60) -> None:
        self.config = config
        self.size = size
        self.settle, self.until = settle, until
        self.receives = 0
        self.in_flight = 0
        self.most_at_once = 0
        self.done = asyncio.Event()

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        if operation == "DeleteMessageBatch":
            return {"Successful": [{"Id": entry["Id"]} for entry in params["Entries"]]}
        assert operation == "ReceiveMessage"
        if self.receives >= self.until:
            self.done.set()
            await asyncio.Event().wait()  # a long poll, until cancelled
        self.receives += 1
        self.in_flight += 1
        for _ in range(5):  # a round trip: the loop's other receivers may start theirs
            await asyncio.sleep(0)
        if self.receives > self.settle:
            self.most_at_once = max(self.most_at_once, self.in_flight)
        self.in_flight -= 1
        number = self.receives
        return {
            "Messages": [
                {"MessageId": f"m{number}-{i}", "ReceiptHandle": f"r{number}-{i}", "Body": "{}"}
                for i in range(self.size)
            ]
        }


@pytest.mark.parametrize(("size", "at_once"), [(3, 1), (10, 4)], ids=["partial", "full"])
async def test_receivers_beyond_the_first_go_only_while_batches_come_full(
    size: int, at_once: int
) -> None:
    """At AWS's pace receives bring a few messages: one receiver takes them, the others wait;
    a backlog (full batches) has every receiver in flight."""
    config = config_with(receivers=4, gather=0.0)
    fake = SteadyQueue(config, size)
    async with consuming(config, fake):
        await asyncio.wait_for(fake.done.wait(), timeout=30)
    assert fake.most_at_once == at_once


async def test_a_receive_loop_cancelled_while_it_ends_a_batch_stops() -> None:
    """The loop is cancelled as it lets go of a batch's visibility keeper: it must stop (a
    swallowed cancellation kept the loop, and the process, alive after the runner closed)."""
    from runner.feed.consumer import Batch

    config = config_with(receivers=1)
    caller = AwsCaller(config)
    consumer = FeedConsumer(caller, "http://127.0.0.1:1/123456789012/q", lambda k, n: True)
    batch = Batch()
    batch.receipts["m1"] = "r1"

    async def loop() -> None:
        async with consumer._kept_invisible(batch):
            pass
        await asyncio.sleep(3600)  # where a swallowed cancellation would leave it

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # it now waits for its keeper to end
    task.cancel()
    try:
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
    finally:
        await caller.close()
