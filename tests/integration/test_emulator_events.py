"""SQS and EventBridge through aiobotocore against the emulator, and SageMaker's events in them.

Event timing is checked on a frozen emulator clock moved by hand (``FrozenClock``): what a
consumer sees at a given moment is exact, never a race between two threads.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError

from emulator.delivery import EventDelivery
from emulator.server import EmulatorServer
from emulator.state import Emulator, EmulatorConfig
from support import requests as req
from support.stats import fetch_stats

ACCOUNT = "123456789012"


class FrozenClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def allow_events(queue_arn: str, rule_arn: str) -> str:
    """The queue policy EventBridge needs (EventBridge User Guide, "Amazon SQS permissions")."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    error: dict[str, Any] = raised.value.response["Error"]
    return error


@pytest.fixture
async def sqs(client_factory: Callable[..., Any]) -> AsyncIterator[Any]:
    async with client_factory("sqs") as client:
        yield client


@pytest.fixture
async def events(client_factory: Callable[..., Any]) -> AsyncIterator[Any]:
    async with client_factory("events") as client:
        yield client


# --- SQS -------------------------------------------------------------------------------------


async def test_queue_lifecycle_and_its_errors(sqs: Any) -> None:
    url = (await sqs.create_queue(QueueName="q1", Attributes={"VisibilityTimeout": "5"}))[
        "QueueUrl"
    ]
    assert url.endswith(f"/{ACCOUNT}/q1")
    again = await sqs.create_queue(QueueName="q1", Attributes={"VisibilityTimeout": "5"})
    assert again["QueueUrl"] == url
    with pytest.raises(ClientError) as raised:
        await sqs.create_queue(QueueName="q1", Attributes={"VisibilityTimeout": "6"})
    assert error_of(raised)["Code"] == "QueueAlreadyExists"
    assert (await sqs.get_queue_url(QueueName="q1"))["QueueUrl"] == url
    attributes = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))[
        "Attributes"
    ]
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:q1"
    assert attributes["VisibilityTimeout"] == "5"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    await sqs.set_queue_attributes(QueueUrl=url, Attributes={"ReceiveMessageWaitTimeSeconds": "1"})
    with pytest.raises(ClientError) as raised:
        await sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99999"})
    assert error_of(raised)["Code"] == "InvalidAttributeValue"
    with pytest.raises(ClientError) as raised:
        await sqs.create_queue(QueueName="q1b", Attributes={"Colour": "blue"})
    assert error_of(raised)["Code"] in ("InvalidAttributeName", "ValidationException")
    await sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as gone:
        await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert error_of(gone)["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error_of(gone)["QueryErrorCode"] == "QueueDoesNotExist"
    with pytest.raises(ClientError) as raised:
        await sqs.create_queue(QueueName="q1")
    assert error_of(raised)["Code"] == "AWS.SimpleQueueService.QueueDeletedRecently"


async def test_messages_visibility_receipts_and_receive_counts(sqs: Any) -> None:
    url = (await sqs.create_queue(QueueName="q2"))["QueueUrl"]
    sent = await sqs.send_message(QueueUrl=url, MessageBody="hello")
    first = (
        await sqs.receive_message(
            QueueUrl=url, VisibilityTimeout=600, MessageSystemAttributeNames=["All"]
        )
    )["Messages"]
    assert [m["MessageId"] for m in first] == [sent["MessageId"]]
    assert first[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "Messages" not in await sqs.receive_message(QueueUrl=url)  # in flight
    await sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    second = (await sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"]))[
        "Messages"
    ]
    assert second[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second[0]["ReceiptHandle"] != first[0]["ReceiptHandle"]
    # An older receipt handle succeeds and deletes nothing (DeleteMessage's API reference).
    await sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    counts = (
        await sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )
    )["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    await sqs.delete_message(QueueUrl=url, ReceiptHandle=second[0]["ReceiptHandle"])
    with pytest.raises(ClientError) as raised:
        await sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=second[0]["ReceiptHandle"], VisibilityTimeout=5
        )
    assert error_of(raised)["Code"] == "AWS.SimpleQueueService.MessageNotInflight"
    with pytest.raises(ClientError) as raised:
        await sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert error_of(raised)["Code"] == "ReceiptHandleIsInvalid"
    with pytest.raises(ClientError) as raised:
        await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert error_of(raised)["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as raised:
        await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)
    assert error_of(raised)["Code"] == "InvalidParameterValue"


async def test_batch_calls_and_their_errors(sqs: Any) -> None:
    url = (await sqs.create_queue(QueueName="q3"))["QueueUrl"]
    for index in range(3):
        await sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
    received = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))["Messages"]
    assert sorted(m["Body"] for m in received) == ["m0", "m1", "m2"]
    entries = [{"Id": f"e{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
    changed = await sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{**entries[0], "VisibilityTimeout": 0}]
    )
    assert [s["Id"] for s in changed["Successful"]] == ["e0"]
    deleted = await sqs.delete_message_batch(
        QueueUrl=url, Entries=[*entries, {"Id": "bad", "ReceiptHandle": "nope"}]
    )
    assert sorted(s["Id"] for s in deleted["Successful"]) == ["e0", "e1", "e2"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in deleted["Failed"]] == [
        ("bad", "ReceiptHandleIsInvalid", True)
    ]
    for bad, code in (
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
        (
            [{"Id": f"x{i}", "ReceiptHandle": "h"} for i in range(11)],
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        (
            [{"Id": "same", "ReceiptHandle": "h"}] * 2,
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ),
        ([{"Id": "no spaces", "ReceiptHandle": "h"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
    ):
        with pytest.raises(ClientError) as raised:
            await sqs.delete_message_batch(QueueUrl=url, Entries=bad)
        assert error_of(raised)["Code"] == code


async def test_a_long_poll_answers_with_a_message_sent_while_it_waits(
    sqs: Any, client_factory: Callable[..., Any]
) -> None:
    import asyncio

    url = (await sqs.create_queue(QueueName="q4"))["QueueUrl"]
    async with client_factory("sqs") as sender:
        polling = asyncio.ensure_future(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20))
        await sender.send_message(QueueUrl=url, MessageBody="late")
        answer = await polling
    assert [m["Body"] for m in answer["Messages"]] == ["late"]


async def test_a_long_poll_on_an_empty_queue_answers_empty(sqs: Any) -> None:
    url = (await sqs.create_queue(QueueName="q5"))["QueueUrl"]
    answer = await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert "Messages" not in answer


# --- EventBridge -----------------------------------------------------------------------------


async def test_rules_targets_and_their_errors(events: Any) -> None:
    pattern = json.dumps({"source": ["aws.sagemaker"]})
    arn = (await events.put_rule(Name="r1", EventPattern=pattern))["RuleArn"]
    assert arn == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r1"
    described = await events.describe_rule(Name="r1")
    assert (described["State"], described["EventPattern"], described["EventBusName"]) == (
        "ENABLED",
        pattern,
        "default",
    )
    assert [r["Name"] for r in (await events.list_rules(NamePrefix="r"))["Rules"]] == ["r1"]
    target = {"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:feed"}
    assert (await events.put_targets(Rule="r1", Targets=[target]))["FailedEntryCount"] == 0
    assert (await events.list_targets_by_rule(Rule="r1"))["Targets"] == [target]
    with pytest.raises(ClientError) as raised:
        await events.delete_rule(Name="r1")
    assert error_of(raised)["Code"] == "ValidationException"
    removed = await events.remove_targets(Rule="r1", Ids=["q", "other"])
    assert removed["FailedEntryCount"] == 1
    await events.delete_rule(Name="r1")
    await events.delete_rule(Name="r1")  # "all calls will succeed"
    for call in (
        events.describe_rule(Name="r1"),
        events.list_targets_by_rule(Rule="r1"),
        events.put_targets(Rule="r1", Targets=[target]),
    ):
        with pytest.raises(events.exceptions.ResourceNotFoundException):
            await call
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        await events.put_rule(Name="bad", EventPattern=json.dumps({"source": "aws.sagemaker"}))
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        await events.put_rule(Name="bad", EventPattern=json.dumps({"a": [{"bogus": 1}]}))
    with pytest.raises(ClientError) as raised:
        await events.put_rule(Name="bad")
    assert error_of(raised)["Code"] == "ValidationException"
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        await events.describe_rule(Name="r1", EventBusName="custom")


async def test_put_events_reaches_a_queue_only_through_its_policy(sqs: Any, events: Any) -> None:
    url = (await sqs.create_queue(QueueName="feed"))["QueueUrl"]
    queue_arn = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]))[
        "Attributes"
    ]["QueueArn"]
    pattern = {"source": ["my.app"], "detail": {"name": [{"prefix": "smrun-"}]}}
    rule_arn = (await events.put_rule(Name="app", EventPattern=json.dumps(pattern)))["RuleArn"]
    await events.put_targets(Rule="app", Targets=[{"Id": "q", "Arn": queue_arn}])

    async def put(name: str) -> None:
        entry = {"Source": "my.app", "DetailType": "Thing", "Detail": json.dumps({"name": name})}
        answer = await events.put_events(Entries=[entry])
        assert answer["FailedEntryCount"] == 0

    await put("smrun-1")  # no policy yet: EventBridge may not send
    assert "Messages" not in await sqs.receive_message(QueueUrl=url)
    await sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": allow_events(queue_arn, rule_arn)}
    )
    await put("smrun-2")
    await put("other-3")  # does not match the pattern
    bodies = [
        json.loads(m["Body"])
        for m in (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))["Messages"]
    ]
    assert [(b["source"], b["detail-type"], b["detail"]) for b in bodies] == [
        ("my.app", "Thing", {"name": "smrun-2"})
    ]
    refused = await events.put_events(
        Entries=[
            {"Source": "aws.sagemaker", "DetailType": "x", "Detail": "{}"},
            {"Source": "my.app", "DetailType": "x", "Detail": "not json"},
        ]
    )
    assert refused["FailedEntryCount"] == 2
    assert [e["ErrorCode"] for e in refused["Entries"]] == [
        "NotAuthorizedForSourceException",
        "MalformedDetail",
    ]


# --- SageMaker's events ----------------------------------------------------------------------


class Feed:
    """A queue, a rule for SageMaker's events and the policy between them, on a frozen clock."""

    def __init__(self, server: EmulatorServer, clock: FrozenClock, sqs: Any, events: Any) -> None:
        self.server, self.clock, self.sqs, self.events = server, clock, sqs, events
        self.url = ""

    async def setup(self, pattern: dict[str, Any] | None = None) -> None:
        self.url = (await self.sqs.create_queue(QueueName="sagemaker-events"))["QueueUrl"]
        queue_arn = (
            await self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        )["Attributes"]["QueueArn"]
        rule = pattern or {"source": ["aws.sagemaker"]}
        rule_arn = (await self.events.put_rule(Name="sm", EventPattern=json.dumps(rule)))["RuleArn"]
        await self.sqs.set_queue_attributes(
            QueueUrl=self.url, Attributes={"Policy": allow_events(queue_arn, rule_arn)}
        )
        await self.events.put_targets(Rule="sm", Targets=[{"Id": "q", "Arn": queue_arn}])

    async def drain(self) -> list[dict[str, Any]]:
        """Every event visible now, deleted as read, in the order received."""
        bodies = []
        while True:
            answer = await self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                await self.sqs.delete_message(
                    QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"]
                )


@pytest.fixture
async def frozen_feed(client_factory: Callable[..., Any]) -> AsyncIterator[Feed]:
    clock = FrozenClock()
    config = EmulatorConfig(job_duration=10.0, stop_duration=2.0, check_responses=True)
    emulator = Emulator(config, clock=clock)
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(EmulatorServer(emulator=emulator))
        from aiobotocore.session import get_session

        session = get_session()
        clients = [
            await stack.enter_async_context(
                session.create_client(service, region_name="us-east-1", endpoint_url=server.url)
            )
            for service in ("sqs", "events", "sagemaker")
        ]
        feed = Feed(server, clock, clients[0], clients[1])
        feed.sagemaker = clients[2]  # type: ignore[attr-defined]
        yield feed


async def test_training_job_events_carry_its_description_at_each_transition(
    frozen_feed: Feed,
) -> None:
    feed, sagemaker = frozen_feed, frozen_feed.sagemaker  # type: ignore[attr-defined]
    await feed.setup()
    created_at = feed.clock.now
    await sagemaker.create_training_job(**req.training("evented-1"))
    feed.clock.now += 5
    early = await feed.drain()
    feed.clock.now += 10
    late = await feed.drain()
    statuses = [
        (e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"]) for e in early + late
    ]
    assert statuses[0] == ("InProgress", "Starting")
    assert statuses[-1] == ("Completed", "Completed")
    assert len(statuses) == len(set(statuses)) and len(early) >= 2 and late
    last = late[-1]
    assert last["detail-type"] == "SageMaker Training Job State Change"
    assert last["source"] == "aws.sagemaker" and last["version"] == "0"
    assert last["account"] == ACCOUNT and last["region"] == "us-east-1"
    assert last["resources"] == [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/evented-1"]
    detail = last["detail"]
    assert detail["TrainingJobName"] == "evented-1"
    assert detail["ModelArtifacts"]["S3ModelArtifacts"].endswith("/evented-1/output/model.tar.gz")
    assert detail["CreationTime"] == round(created_at * 1000)
    assert detail["TrainingEndTime"] >= detail["TrainingStartTime"] >= detail["CreationTime"]
    assert detail["Tags"] == {}
    assert all(isinstance(t["StartTime"], int) for t in detail["SecondaryStatusTransitions"])


async def test_a_stop_sends_stopping_and_stopped_even_at_the_same_instant(
    frozen_feed: Feed,
) -> None:
    feed, sagemaker = frozen_feed, frozen_feed.sagemaker  # type: ignore[attr-defined]
    await feed.setup({"detail": {"TrainingJobStatus": ["Stopping", "Stopped"]}})
    await sagemaker.create_training_job(**req.training("stopped-1"))
    feed.clock.now += 1
    assert await feed.drain() == []
    await sagemaker.stop_training_job(TrainingJobName="stopped-1")  # same instant as the drain
    stopping = await feed.drain()
    feed.clock.now += 3
    stopped = await feed.drain()
    assert [e["detail"]["TrainingJobStatus"] for e in stopping + stopped] == [
        "Stopping",
        "Stopped",
    ]


async def test_a_long_poll_answers_with_the_event_of_a_job_created_while_it_waits(
    frozen_feed: Feed,
) -> None:
    import asyncio

    feed, sagemaker = frozen_feed, frozen_feed.sagemaker  # type: ignore[attr-defined]
    await feed.setup()
    polling = asyncio.ensure_future(
        feed.sqs.receive_message(QueueUrl=feed.url, WaitTimeSeconds=20, MaxNumberOfMessages=10)
    )
    queue = feed.server.emulator.sqs.by_name["sagemaker-events"]
    # Until the poll waits (it holds the queue's change event): the emulator offers no hook.
    while queue._changed is None:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    await sagemaker.create_training_job(**req.training("woken-1"))
    # Without the wake-up the poll sleeps out its 20 s (and, on this frozen clock, again).
    answer = await asyncio.wait_for(polling, timeout=15)
    [message] = answer["Messages"]
    assert json.loads(message["Body"])["detail"]["TrainingJobName"] == "woken-1"


async def test_every_kind_sends_its_detail_type(frozen_feed: Feed) -> None:
    feed, sagemaker = frozen_feed, frozen_feed.sagemaker  # type: ignore[attr-defined]
    await feed.setup(
        {
            "source": ["aws.sagemaker"],
            "detail-type": [{"anything-but": "SageMaker Training Job State Change"}],
        }
    )
    await sagemaker.create_processing_job(**req.processing("p-1"))
    await sagemaker.create_model(**req.model("m-1"))
    await sagemaker.create_transform_job(**req.transform("x-1", "m-1"))
    await sagemaker.create_hyper_parameter_tuning_job(**req.tuning("h-1"))
    await sagemaker.create_endpoint_config(
        EndpointConfigName="c-1",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "m-1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    await sagemaker.create_endpoint(EndpointName="e-1", EndpointConfigName="c-1")
    feed.clock.now += 3600
    seen = await feed.drain()
    last_status: dict[str, str] = {}
    for event in seen:
        status = next(
            v for k, v in event["detail"].items() if k.endswith("Status") and k != "SecondaryStatus"
        )
        last_status[event["detail-type"]] = status
    assert last_status == {
        "SageMaker Processing Job State Change": "Completed",
        "SageMaker Transform Job State Change": "Completed",
        "SageMaker HyperParameter Tuning Job State Change": "Completed",
        "SageMaker Endpoint State Change": "IN_SERVICE",
    }


async def test_delivery_delay_duplicates_and_reordering(frozen_feed: Feed) -> None:
    feed, sagemaker = frozen_feed, frozen_feed.sagemaker  # type: ignore[attr-defined]
    await feed.setup()
    async with aiohttp.ClientSession() as session:
        bad = await session.post(
            f"{feed.server.url}/_emulator/events", json={"delay_s": -1, "x": 1}
        )
        assert bad.status == 400 and "unknown key 'x'" in (await bad.json())["error"]
        ok = await session.post(
            f"{feed.server.url}/_emulator/events",
            json={"delay_s": 30, "duplicate_rate": 1.0, "reorder_s": 20, "seed": 3},
        )
        assert ok.status == 200
    start = feed.clock.now
    await sagemaker.create_training_job(**req.training("late-1"))
    feed.clock.now = start + 29.9
    assert await feed.drain() == []
    feed.clock.now = start + 10 + 30 + 20.1  # past every event, delay and jitter
    seen = await feed.drain()
    ids = [e["id"] for e in seen]
    assert len(ids) == 2 * len(set(ids)) == 10  # five transitions, each delivered twice
    times = [e["detail"]["LastModifiedTime"] for e in seen]
    assert times != sorted(times)  # seeded jitter swapped some
    stats = (await fetch_stats(feed.server.url))["events"]
    assert (stats["published"], stats["delivered"], stats["duplicated"]) == (5, 10, 5)


def test_delivery_settings_are_range_checked() -> None:
    with pytest.raises(ValueError, match="duplicate_rate"):
        EventDelivery(duplicate_rate=1.5)
    with pytest.raises(ValueError, match="delay_s"):
        EventDelivery(delay_s=float("nan"))
