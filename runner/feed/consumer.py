"""The change feed's reader: SageMaker's events from an SQS queue, as ordered, unique changes.

One ``FeedConsumer`` long-polls the queue that ``runner.feed.setup`` points EventBridge at
(ReceiveMessage with ``WaitTimeSeconds`` 20 and up to 10 messages: SQS's own limits, in its API
reference), reads each message's body as an EventBridge event (``runner.feed.changes``), and
hands the changes of the resources its caller follows, oldest first, to an async iterator or a
callback. It knows nothing of the Runner: the caller says which (kind, name) it follows.

Every message is deleted once it has been dealt with (DeleteMessageBatch, 10 at a time):
malformed ones at once (logged, never raised), those of resources not followed or of kinds
not followed at once, duplicates and late arrivals at once, and a new change after its
handler returned. A change whose handler failed is not deleted: SQS delivers it again after
the visibility timeout, which is kept extended (ChangeMessageVisibilityBatch) while a batch
is being handled. The feed is ``unhealthy`` when the queue is gone or a receive keeps failing,
and ``quiet`` when no message came for a while: either way the caller's polling takes over.

IAM: ``sqs:ReceiveMessage``, ``sqs:DeleteMessage`` (DeleteMessageBatch is authorised by it)
and ``sqs:ChangeMessageVisibility`` on the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import structlog
from botocore.exceptions import BotoCoreError

from runner.config import FeedPolicy
from runner.errors import AwsCallFailed
from runner.feed.changes import Change, ChangeOrder, MalformedEvent, order_key, parse_change
from runner.session import AwsCaller

log = structlog.get_logger("runner.feed")

Follows = Callable[[str, str], bool]  # (kind, name) -> whether the caller follows it
# What SQS answers for a queue that does not exist: the JSON protocol's code, and the query
# protocol's, which botocore reports for SQS (awsQueryCompatible) when the service sends it.
_QUEUE_GONE = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"})
_SQS_BATCH = 10  # DeleteMessageBatch / ChangeMessageVisibilityBatch: at most 10 entries


class FeedState(enum.StrEnum):
    HEALTHY = "healthy"
    QUIET = "quiet"  # no message for FeedPolicy.quiet_after seconds
    UNHEALTHY = "unhealthy"  # the queue is gone, or receiving keeps failing


@dataclass(frozen=True)
class FeedHealth:
    state: FeedState
    reason: str = ""

    @property
    def usable(self) -> bool:
        """Whether the caller may rely on the feed (and poll rarely)."""
        return self.state is FeedState.HEALTHY


@dataclass
class Batch:
    """What one ReceiveMessage brought: the new changes, oldest first, and every message's
    receipt. ``settle`` deletes the messages of the changes marked handled and the rest."""

    changes: list[Change] = field(default_factory=list)
    receipts: dict[str, str] = field(default_factory=dict)  # message id -> receipt handle
    change_messages: dict[int, str] = field(default_factory=dict)  # id(change) -> message id
    unhandled: set[str] = field(default_factory=set)  # message ids not to delete


class FeedConsumer:
    """``async for change in FeedConsumer(caller, queue_url, follows).changes(): ...``"""

    def __init__(
        self,
        caller: AwsCaller,
        queue_url: str,
        follows: Follows,
        policy: FeedPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue_url = queue_url
        self.policy = policy or caller.config.feed
        self._follows = follows
        self._clock = clock
        # The caller's clients, with retries cut short: a feed that errors for a minute is
        # reported unhealthy (the caller falls back to polling), not retried for 15.
        retry = replace(caller.config.retry, max_elapsed=self.policy.unhealthy_after)
        self._caller = AwsCaller(replace(caller.config, retry=retry), clients=caller.clients)
        self._order = ChangeOrder(self.policy.remembered_jobs)
        self._last_message = clock()
        self._failure = ""
        self._reported = FeedHealth(FeedState.HEALTHY)
        self.counts: Counter[str] = Counter()
        # Set while receives come back full: the receivers beyond the first wait for it.
        self._busy = asyncio.Event()
        self._busy.set()  # at the start a backlog may be waiting: every receiver goes

    # --- health ----------------------------------------------------------------------------

    @property
    def health(self) -> FeedHealth:
        if self._failure:
            return FeedHealth(FeedState.UNHEALTHY, self._failure)
        silent = self._clock() - self._last_message
        if silent >= self.policy.quiet_after:
            return FeedHealth(FeedState.QUIET, f"no message for {silent:.0f} s")
        return FeedHealth(FeedState.HEALTHY)

    def _health_changed(self) -> FeedHealth | None:
        """The health, when it is not what was last reported (and logged)."""
        now = self.health
        if now.state is self._reported.state:
            return None
        self._reported = now
        event = log.warning if now.state is FeedState.UNHEALTHY else log.info
        event("feed.health_changed", state=str(now.state), reason=now.reason, queue=self.queue_url)
        return now

    def expect(self) -> None:
        """Count the feed's silence from now: jobs were just started, their events are to come
        (a feed silent while nothing ran is not quiet)."""
        self._last_message = self._clock()

    def forget(self, kind: str, name: str) -> None:
        """Stop remembering a resource the caller no longer follows."""
        self._order.forget(kind, name)

    # --- receiving -------------------------------------------------------------------------

    async def receive(self) -> Batch:
        """One ReceiveMessage, sorted out; an empty batch when the feed is unhealthy."""
        policy = self.policy
        # The long poll must end before the HTTP read timeout does.
        wait = max(0, min(policy.wait_seconds, int(self._caller.config.retry.call_timeout) - 5))
        try:
            answer = await self._caller.call(
                "sqs",
                "ReceiveMessage",
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=policy.batch,
                WaitTimeSeconds=wait,
                VisibilityTimeout=policy.visibility_timeout,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        except AwsCallFailed as error:
            self._failure = (
                f"the queue {self.queue_url} does not exist"
                if error.code in _QUEUE_GONE
                else f"ReceiveMessage failed: {error.code}: {error.aws_message}"
            )
            return Batch()
        except (BotoCoreError, aiohttp.ClientError, OSError, TimeoutError) as error:
            self._failure = f"ReceiveMessage failed: {type(error).__name__}: {error}"
            return Batch()
        self._failure = ""
        messages = answer.get("Messages") or []
        if messages:
            self._last_message = self._clock()
        return self._sort_out(messages)

    def _sort_out(self, messages: Sequence[Mapping[str, Any]]) -> Batch:
        """The batch's new changes: per resource only the newest (what it supersedes is
        dropped), all of them oldest first."""
        batch = Batch()
        newest: dict[tuple[str, str], tuple[Change, str]] = {}
        for message in messages:
            message_id = str(message.get("MessageId", ""))
            batch.receipts[message_id] = str(message.get("ReceiptHandle", ""))
            change = self._read(message_id, message.get("Body"))
            if change is None:
                continue
            key = (change.kind, change.name)
            if key in newest and order_key(change) <= order_key(newest[key][0]):
                self.counts["duplicate"] += 1
                continue
            if key in newest:
                self.counts["superseded"] += 1
            newest[key] = (change, message_id)
        for change, message_id in sorted(newest.values(), key=lambda n: n[0].last_modified):
            batch.changes.append(change)
            batch.change_messages[id(change)] = message_id
        self.counts["received"] += len(messages)
        return batch

    def _read(self, message_id: str, body: object) -> Change | None:
        """The message's change if it is new and followed; None (counted) otherwise."""
        try:
            change = parse_change(json.loads(body) if isinstance(body, str) else None)
        except (ValueError, MalformedEvent) as error:  # json's errors are ValueErrors
            reason = str(error) if isinstance(error, MalformedEvent) else "its body is not JSON"
            log.warning("feed.message_malformed", message_id=message_id, reason=reason)
            self.counts["malformed"] += 1
            return None
        if change is None or not self._follows(change.kind, change.name):
            self.counts["ignored"] += 1
            return None
        if not self._order.is_new(change):
            log.debug("feed.change_stale", kind=change.kind, job=change.name, status=change.status)
            self.counts["duplicate"] += 1
            return None
        return change

    # --- settling --------------------------------------------------------------------------

    async def settle(self, batch: Batch) -> None:
        """Record the batch's handled changes and delete their messages and the others'."""
        for change in batch.changes:
            if batch.change_messages.get(id(change)) not in batch.unhandled:
                self._order.admit(change)
                self.counts["changes"] += 1
        done = [
            (message_id, receipt)
            for message_id, receipt in batch.receipts.items()
            if message_id not in batch.unhandled
        ]
        for start in range(0, len(done), _SQS_BATCH):
            await self._delete(done[start : start + _SQS_BATCH])

    async def _delete(self, messages: Sequence[tuple[str, str]]) -> None:
        entries = [{"Id": str(n), "ReceiptHandle": r} for n, (_, r) in enumerate(messages)]
        try:
            answer = await self._caller.call(
                "sqs", "DeleteMessageBatch", QueueUrl=self.queue_url, Entries=entries
            )
        except (AwsCallFailed, BotoCoreError, aiohttp.ClientError, OSError, TimeoutError) as error:
            # Not deleted: delivered again later, and dropped then as a duplicate.
            log.warning("feed.delete_failed", count=len(entries), error=str(error))
            return
        for failed in answer.get("Failed") or []:
            log.warning("feed.delete_failed", count=1, code=failed.get("Code"))

    @contextlib.asynccontextmanager
    async def _kept_invisible(self, batch: Batch) -> AsyncIterator[None]:
        """While the batch is handled, keep its messages hidden from other readers."""
        timeout = self.policy.visibility_timeout
        if not batch.receipts or timeout < 2:
            yield
            return
        task = asyncio.create_task(self._extend_visibility(batch))
        try:
            yield
        finally:
            task.cancel()
            # gather, not a suppressed CancelledError: a cancellation of this loop that comes
            # while it waits here must go on (suppressed, the loop lived on after the runner
            # closed, and the process never exited).
            await asyncio.gather(task, return_exceptions=True)

    async def _extend_visibility(self, batch: Batch) -> None:
        timeout = self.policy.visibility_timeout
        while True:
            await asyncio.sleep(timeout / 2)
            receipts = list(batch.receipts.values())
            for start in range(0, len(receipts), _SQS_BATCH):
                entries = [
                    {"Id": str(n), "ReceiptHandle": r, "VisibilityTimeout": timeout}
                    for n, r in enumerate(receipts[start : start + _SQS_BATCH])
                ]
                with contextlib.suppress(AwsCallFailed, BotoCoreError, aiohttp.ClientError):
                    await self._caller.call(
                        "sqs",
                        "ChangeMessageVisibilityBatch",
                        QueueUrl=self.queue_url,
                        Entries=entries,
                    )

    # --- the loops -------------------------------------------------------------------------

    async def changes(self) -> AsyncIterator[Change]:
        """Every new change, oldest first, for as long as the caller iterates. A batch's
        messages are deleted when the caller asks for the change after its last one."""
        while True:
            batch = await self.receive()
            self._health_changed()
            async with self._kept_invisible(batch):
                for change in batch.changes:
                    yield change
            await self.settle(batch)
            await self._pause_after(batch)

    async def run(
        self,
        on_change: Callable[[Change], Awaitable[None] | None],
        on_health: Callable[[FeedHealth], None] | None = None,
    ) -> None:
        """Call ``on_change`` for every new change until cancelled; ``on_health`` when the
        feed becomes healthy, quiet or unhealthy. A change whose handler raises is logged
        and left in the queue, to be delivered again after the visibility timeout.

        Up to ``FeedPolicy.receivers`` receive loops run at once: one ReceiveMessage brings at
        most 10 messages, so a single loop caps the feed at 10 messages a round trip (SQS's own
        advice for throughput is more receivers in parallel: "Increasing throughput using
        horizontal scaling and action batching", the SQS Developer Guide). The loops beyond the
        first receive only while receives come back full: at AWS's pace each would otherwise
        bring a few messages a call (with 4 receivers at 56 changes a second, 10 receives a
        second where 6 would do). Changes from two loops may arrive in either order: the change
        order (a job's last status and time) drops what is stale, as for any reordered
        delivery."""
        if self.policy.receivers == 1:
            await self._receive_loop(on_change, on_health)
            return
        async with asyncio.TaskGroup() as loops:
            for number in range(self.policy.receivers):
                loops.create_task(self._receive_loop(on_change, on_health, first=number == 0))

    async def _receive_loop(
        self,
        on_change: Callable[[Change], Awaitable[None] | None],
        on_health: Callable[[FeedHealth], None] | None,
        *,
        first: bool = True,
    ) -> None:
        while True:
            if not first:
                await self._busy.wait()
            batch = await self.receive()
            if len(batch.receipts) >= self.policy.batch:
                self._busy.set()
            else:
                self._busy.clear()
            changed = self._health_changed()
            if changed is not None and on_health is not None:
                on_health(changed)
            async with self._kept_invisible(batch):
                for change in batch.changes:
                    await self._handle(change, batch, on_change)
            await self.settle(batch)
            await self._pause_after(batch)

    async def _pause_after(self, batch: Batch) -> None:
        """Between two receives of one loop: the retry interval after a failure; after a
        partial batch, ``gather`` seconds for the next to fill; after a full one, none."""
        if self._failure:
            await asyncio.sleep(self.policy.retry_interval)
        elif 0 < len(batch.receipts) < self.policy.batch:
            await asyncio.sleep(self.policy.gather)

    async def _handle(
        self, change: Change, batch: Batch, on_change: Callable[[Change], Awaitable[None] | None]
    ) -> None:
        try:
            result = on_change(change)
            if result is not None:
                await result
        except Exception as error:  # the caller's handler: never the feed's end
            log.warning("feed.handler_failed", kind=change.kind, job=change.name, error=repr(error))
            batch.unhandled.add(batch.change_messages[id(change)])
