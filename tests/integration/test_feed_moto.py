"""The change feed against moto's SQS and EventBridge (moto delivers PutEvents to SQS targets).

Events are AWS-format SageMaker events (tests/support/sagemaker_events.py, built on the
developer guide's examples), sent either through EventBridge (PutEvents, so the rule's pattern
decides) or straight to the queue (SendMessage, for duplicates, reordering and bodies that
EventBridge would never send). Moto's state is shared by the session: every test has its own
queue name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from runner.config import AwsTarget, FeedPolicy, RetryPolicy, RunnerConfig
from runner.feed import FeedConsumer, FeedReport, FeedState, setup_feed, teardown_feed
from runner.feed.changes import Change
from runner.feed.setup import rule_name
from runner.session import AwsCaller
from smrun import cli
from support import sagemaker_events as ev

pytestmark = pytest.mark.moto

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
QUICK = FeedPolicy(wait_seconds=0, unhealthy_after=2.0, retry_interval=0.1)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
async def caller(moto_url: str) -> AsyncIterator[AwsCaller]:
    config = RunnerConfig(aws=AwsTarget.local(moto_url), retry=RetryPolicy(max_elapsed=5))
    caller = AwsCaller(config)
    yield caller
    await caller.close()


@pytest.fixture
def queue() -> str:
    return f"feed-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def feed(caller: AwsCaller, queue: str) -> AsyncIterator[FeedReport]:
    """The feed's resources, set up for the test and torn down after it."""
    yield await setup_feed(caller, queue)
    await teardown_feed(caller, queue)


async def send(caller: AwsCaller, url: str, *bodies: str) -> None:
    for body in bodies:
        await caller.call("sqs", "SendMessage", QueueUrl=url, MessageBody=body)


async def put_events(caller: AwsCaller, *events: dict[str, Any]) -> None:
    entries = [
        {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"],
        }
        for event in events
    ]
    answer = await caller.call("events", "PutEvents", Entries=entries)
    assert answer["FailedEntryCount"] == 0


async def waiting(caller: AwsCaller, url: str) -> int:
    """Messages in the queue, visible or in flight."""
    answer = await caller.call(
        "sqs",
        "GetQueueAttributes",
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )
    return sum(int(value) for value in answer["Attributes"].values())


async def drain(consumer: FeedConsumer, rounds: int = 3) -> list[Change]:
    """Receive until the queue answers empty ``rounds`` times in a row; every new change."""
    seen: list[Change] = []
    empty = 0
    while empty < rounds:
        batch = await consumer.receive()
        seen.extend(batch.changes)
        await consumer.settle(batch)
        empty = empty + 1 if not batch.receipts else 0
    return seen


def following(*names: str) -> Any:
    return lambda kind, name: name in names


# --- setup and teardown -----------------------------------------------------------------------


async def test_setup_twice_changes_nothing_and_teardown_removes_it_all(
    caller: AwsCaller, queue: str
) -> None:
    first = await setup_feed(caller, queue)
    assert [(s.resource, s.action) for s in first.steps] == [
        ("queue", "created"),
        ("rule", "created"),
        ("target", "created"),
        ("queue policy", "created"),
    ]
    again = await setup_feed(caller, queue)
    assert {s.action for s in again.steps} == {"found"} and not again.changed
    assert again.queue_url == first.queue_url and again.rule_arn == first.rule_arn

    rule = await caller.call("events", "DescribeRule", Name=rule_name(queue))
    assert json.loads(rule["EventPattern"])["source"] == ["aws.sagemaker"]
    attributes = await caller.call(
        "sqs", "GetQueueAttributes", QueueUrl=first.queue_url, AttributeNames=["Policy"]
    )
    (statement,) = json.loads(attributes["Attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": first.rule_arn}}

    gone = await teardown_feed(caller, queue)
    assert [(s.resource, s.action) for s in gone.steps] == [
        ("target", "removed"),
        ("rule", "removed"),
        ("queue", "removed"),
    ]
    assert {s.action for s in (await teardown_feed(caller, queue)).steps} == {"absent"}
    rules = await caller.call("events", "ListRules", NamePrefix=rule_name(queue))
    assert rules["Rules"] == []


async def test_a_changed_pattern_is_updated_in_place(caller: AwsCaller, queue: str) -> None:
    await setup_feed(caller, queue)
    narrowed = await setup_feed(caller, queue, tagged_only=True)
    assert [(s.resource, s.action) for s in narrowed.steps if s.action != "found"] == [
        ("rule", "updated")
    ]
    rule = await caller.call("events", "DescribeRule", Name=rule_name(queue))
    assert "Tags" in json.loads(rule["EventPattern"])["detail"]
    await teardown_feed(caller, queue)


async def test_teardown_keeps_a_queue_it_did_not_make_and_its_other_statements(
    caller: AwsCaller, queue: str
) -> None:
    made = await caller.call("sqs", "CreateQueue", QueueName=queue)
    theirs = {"Sid": "theirs", "Effect": "Allow", "Principal": "*", "Action": "sqs:GetQueueUrl"}
    policy = {"Version": "2012-10-17", "Statement": [theirs]}
    await caller.call(
        "sqs",
        "SetQueueAttributes",
        QueueUrl=made["QueueUrl"],
        Attributes={"Policy": json.dumps(policy)},
    )
    report = await setup_feed(caller, queue)
    assert report.steps[0].action == "found"
    await teardown_feed(caller, queue)
    attributes = await caller.call(
        "sqs", "GetQueueAttributes", QueueUrl=made["QueueUrl"], AttributeNames=["Policy"]
    )
    assert json.loads(attributes["Attributes"]["Policy"])["Statement"] == [theirs]
    await caller.call("sqs", "DeleteQueue", QueueUrl=made["QueueUrl"])


async def test_the_cli_prints_what_it_did_and_refuses_bad_flags(
    moto_url: str, queue: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--region", "us-east-1", "--endpoint-url", moto_url, "--queue", queue]
    assert await asyncio.to_thread(cli.main, ["events", "setup", *where]) == 0
    assert "queue url: http://" in capsys.readouterr().out
    assert await asyncio.to_thread(cli.main, ["events", "setup", *where]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert await asyncio.to_thread(cli.main, ["events", "teardown", *where]) == 0
    assert f"queue {queue}: removed" in capsys.readouterr().out
    bad = ["events", "setup", "--queue", "x.fifo", "--endpoint-url", "localhost:1"]
    assert await asyncio.to_thread(cli.main, bad) == 2
    err = capsys.readouterr().err
    assert "--queue: 'x.fifo'" in err and "--endpoint-url: must be an http" in err
    assert "got 'localhost:1'" in err


# --- the consumer -----------------------------------------------------------------------------


async def test_events_flow_from_eventbridge_and_the_tagged_only_rule_narrows(
    caller: AwsCaller, queue: str
) -> None:
    report = await setup_feed(caller, queue, tagged_only=True)
    ours = ev.training_event("fit-ours", "Completed", at(5), tags={"smrun:kind": "training"})
    other = ev.training_event("fit-other", "Completed", at(5))  # not tagged by smrun
    await put_events(caller, ours, other)
    consumer = FeedConsumer(caller, report.queue_url, lambda kind, name: True, QUICK)
    changes = await drain(consumer)
    assert [(c.kind, c.name, c.status) for c in changes] == [("training", "fit-ours", "Completed")]
    assert changes[0].detail["Tags"] == {"smrun:kind": "training"}
    assert await waiting(caller, report.queue_url) == 0
    await teardown_feed(caller, queue)


async def test_duplicates_and_reordering_yield_each_change_once_in_order(
    caller: AwsCaller, feed: FeedReport
) -> None:
    """AWS: "SageMaker AI may send multiple events to EventBridge for each state change", and
    neither EventBridge nor an SQS standard queue keeps order."""
    report = feed
    consumer = FeedConsumer(caller, report.queue_url, following("fit-a", "fit-b"), QUICK)
    started = ev.body(ev.training_event("fit-a", "InProgress", at(1)))
    completed = ev.body(ev.training_event("fit-a", "Completed", at(9)))
    await send(caller, report.queue_url, started, completed, completed)
    first = await drain(consumer)
    # Within one receive only the newest change of a job is handed on (what it supersedes is
    # dropped); either way the last word is Completed, once.
    assert [c.status for c in first][-1:] == ["Completed"]
    assert [c.status for c in first].count("Completed") == 1

    late = ev.body(ev.training_event("fit-a", "InProgress", at(4)))
    b_stopping = ev.body(ev.training_event("fit-b", "Stopping", at(3)))
    b_started = ev.body(ev.training_event("fit-b", "InProgress", at(2)))
    await send(caller, report.queue_url, late, completed, b_stopping)
    await drain(consumer)
    await send(caller, report.queue_url, b_started)
    assert await drain(consumer) == []  # older than fit-b's Stopping
    assert consumer.counts["duplicate"] >= 3
    assert await waiting(caller, report.queue_url) == 0


async def test_malformed_and_unfollowed_messages_are_deleted_and_logged(
    caller: AwsCaller, feed: FeedReport
) -> None:
    report = feed
    consumer = FeedConsumer(caller, report.queue_url, following("fit-mine"), QUICK)
    no_name = ev.training_event("x", "Completed", at(1))
    del no_name["detail"]["TrainingJobName"]
    await send(
        caller,
        report.queue_url,
        "not json {",
        json.dumps(["a", "list"]),
        ev.body(no_name),
        ev.body(ev.training_event("fit-someone-elses", "Completed", at(1))),
        ev.body(ev.envelope("SageMaker Model State Change", "arn", {"ModelName": "m"}, "t")),
        ev.body(ev.training_event("fit-mine", "Completed", at(2))),
    )
    with capture_logs() as logs:
        changes = await drain(consumer)
    assert [c.name for c in changes] == ["fit-mine"]
    reasons = [e["reason"] for e in logs if e["event"] == "feed.message_malformed"]
    assert sorted(reasons) == sorted(
        ["its body is not JSON", "it is not a JSON object", "its detail has no TrainingJobName"]
    )
    assert consumer.counts["malformed"] == 3 and consumer.counts["ignored"] == 2
    assert await waiting(caller, report.queue_url) == 0


async def test_a_deleted_queue_makes_the_feed_unhealthy_until_it_is_back(
    caller: AwsCaller, queue: str
) -> None:
    report = await setup_feed(caller, queue)
    consumer = FeedConsumer(caller, report.queue_url, following("fit"), QUICK)
    await consumer.receive()
    assert consumer.health.usable
    await caller.call("sqs", "DeleteQueue", QueueUrl=report.queue_url)
    with capture_logs() as logs:
        batch = await consumer.receive()
        consumer._health_changed()
    assert batch.changes == []
    assert consumer.health.state is FeedState.UNHEALTHY
    assert "does not exist" in consumer.health.reason
    assert [e["state"] for e in logs if e["event"] == "feed.health_changed"] == ["unhealthy"]

    back = await setup_feed(caller, queue)
    assert back.queue_url == report.queue_url
    await send(caller, back.queue_url, ev.body(ev.training_event("fit", "Completed", at(1))))
    assert [c.status for c in await drain(consumer)] == ["Completed"]
    assert consumer.health.usable
    await teardown_feed(caller, queue)


async def test_a_queue_that_goes_quiet_is_reported_quiet(
    caller: AwsCaller, feed: FeedReport
) -> None:
    report = feed
    now = [1000.0]
    policy = FeedPolicy(wait_seconds=0, quiet_after=60)
    consumer = FeedConsumer(
        caller, report.queue_url, following("fit"), policy, clock=lambda: now[0]
    )
    await send(caller, report.queue_url, ev.body(ev.training_event("fit", "InProgress", at(1))))
    await drain(consumer, rounds=1)
    now[0] += 59
    await consumer.receive()
    assert consumer.health.state is FeedState.HEALTHY
    now[0] += 1
    await consumer.receive()
    assert consumer.health.state is FeedState.QUIET and not consumer.health.usable
    await send(caller, report.queue_url, ev.body(ev.training_event("fit", "Completed", at(2))))
    await drain(consumer, rounds=1)
    assert consumer.health.state is FeedState.HEALTHY


async def test_a_change_whose_handler_fails_is_delivered_again(
    caller: AwsCaller, feed: FeedReport
) -> None:
    report = feed
    # Visibility 0: a message not deleted is visible again at once (no waiting in the test).
    policy = FeedPolicy(wait_seconds=0, visibility_timeout=0, retry_interval=0.1)
    consumer = FeedConsumer(caller, report.queue_url, following("fit"), policy)
    await send(caller, report.queue_url, ev.body(ev.training_event("fit", "Completed", at(1))))
    calls: list[str] = []
    handled = asyncio.Event()

    def on_change(change: Change) -> None:
        calls.append(change.status)
        if len(calls) == 1:
            raise RuntimeError("the caller's bug")
        handled.set()

    task = asyncio.create_task(consumer.run(on_change))
    try:
        with capture_logs() as logs:
            await asyncio.wait_for(handled.wait(), timeout=30)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert calls == ["Completed", "Completed"]
    assert any(e["event"] == "feed.handler_failed" for e in logs)
    await drain(consumer, rounds=1)
    assert await waiting(caller, report.queue_url) == 0
