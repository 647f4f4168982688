"""The Runner follows jobs by the emulator's change feed first: late, repeated and reordered
events, a queue that goes quiet, a deleted queue, malformed messages. Calls are counted by the
emulator's stats, never timed; a job that ends proves the path it took (the safety net's
interval, 300 s, is far past every test's timeout)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any

import pytest
from structlog.testing import capture_logs

from emulator.delivery import EventDelivery
from emulator.server import EmulatorServer
from emulator.state import EmulatorConfig
from runner.config import FeedPolicy
from runner.core import Runner
from runner.feed import setup_feed
from runner.session import AwsCaller
from support import requests as req
from support.runner_setup import runner_config
from support.stats import fetch_stats

pytestmark = pytest.mark.timeout(120)

# Quiet only after 15 s without a message: far past any gap between a test's events, however
# loaded the machine (jobs last about a second); the quiet queue's test uses QUIET_SOON.
FEED = FeedPolicy(wait_seconds=1, quiet_after=15.0, retry_interval=0.5, safety_interval=300.0)
QUIET_SOON = dataclasses.replace(FEED, quiet_after=2.0)
METRICS = [{"Name": "validation:auc", "Regex": "auc=([0-9.]+)"}]


async def queue_on(url: str, name: str = "feed") -> str:
    caller = AwsCaller(runner_config(url))
    try:
        return (await setup_feed(caller, name)).queue_url
    finally:
        await caller.close()


def batch(prefix: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    jobs: list[tuple[str, dict[str, Any]]] = []
    for i in range(count):
        name = f"{prefix}-{i:02d}"
        if i % 3 == 0:
            jobs.append(("processing", req.processing(name)))
        elif i % 3 == 1:
            spec = {"TrainingImage": req.IMAGE, "TrainingInputMode": "File"}
            jobs.append(("training", req.training(name, AlgorithmSpecification=spec)))
        else:
            spec = {"TrainingImage": req.IMAGE, "TrainingInputMode": "File"}
            spec["MetricDefinitions"] = METRICS
            jobs.append(("training", req.training(name, AlgorithmSpecification=spec)))
    return jobs


async def run(
    url: str, jobs: list[tuple[str, dict[str, Any]]], feed: FeedPolicy = FEED, **config: Any
) -> list[Any]:
    async with Runner(runner_config(url, feed=feed, **config)) as runner:
        handles = await asyncio.gather(
            *(runner.submit(kind, body, known_new=True) for kind, body in jobs)
        )
        return await runner.wait_all(handles)


def describes(stats: dict[str, Any]) -> int:
    """SageMaker's Describe calls (the feed's setup calls EventBridge's DescribeRule)."""
    return sum(
        n for op, n in stats["calls"].items() if op.startswith("Describe") and op != "DescribeRule"
    )


def lists(stats: dict[str, Any]) -> int:
    """SageMaker's List and Search calls (the feed's setup calls ListTargetsByRule)."""
    return sum(
        n
        for op, n in stats["calls"].items()
        if op.startswith(("List", "Search")) and op != "ListTargetsByRule"
    )


@pytest.mark.parametrize(
    "delivery",
    [
        EventDelivery(),
        EventDelivery(delay_s=0.3, duplicate_rate=0.5, reorder_s=0.6, seed=7),
    ],
    ids=["prompt", "late-repeated-reordered"],
)
async def test_events_first_makes_far_fewer_status_calls_than_polling(
    delivery: EventDelivery,
) -> None:
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2, events=delivery)
    async with EmulatorServer(config) as emulator:
        polled = await run(emulator.url, batch("polled", 12))
        polled_stats = await fetch_stats(emulator.url)
    async with EmulatorServer(config) as emulator:
        queue = await queue_on(emulator.url)
        with capture_logs() as logs:
            evented = await run(emulator.url, batch("evented", 12), events_queue=queue)
        stats = await fetch_stats(emulator.url)
    # Every job ends, with the outputs polling found (names aside).
    assert [o.status for o in evented] == ["Completed"] * 12
    for by_events, by_polls in zip(evented, polled, strict=True):
        assert by_events.outputs.keys() == by_polls.outputs.keys()
        assert (
            by_events.outputs.get("metrics", {}).keys()
            == by_polls.outputs.get("metrics", {}).keys()
        )
    assert evented[2].outputs["metrics"] and evented[2].outputs["model_artifact_url"]
    # Polling Describes every job at least at its end; event-first Describes none of them (no
    # lookup: known new; no final Describe: each end event carries its outcome) and takes at
    # most the first sweep tick per kind.
    assert describes(polled_stats) >= 12
    assert describes(stats) == 0
    assert lists(stats) <= 2 < lists(polled_stats) + describes(polled_stats)
    settled = [e for e in logs if e["event"] == "job.settled_by_event"]
    assert len(settled) == 12
    assert not [e for e in logs if e["event"] == "feed.unhealthy"]


async def test_rules_still_running_at_the_end_event_are_described_to_their_end() -> None:
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2)
    async with EmulatorServer(config) as emulator:
        queue = await queue_on(emulator.url)
        # A Debugger rule runs on after the job: the end event shows it InProgress, so the job
        # is Described (polled as without a feed: no event tells a rule's end) until it ends.
        rules = [
            {
                "RuleConfigurationName": "loss",
                "RuleEvaluatorImage": req.IMAGE,
            }
        ]
        body = req.training("ruled", DebugRuleConfigurations=rules)
        with capture_logs() as logs:
            (outcome,) = await run(emulator.url, [("training", body)], events_queue=queue)
        stats = await fetch_stats(emulator.url)
    assert outcome.status == "Completed"
    assert stats["calls"].get("DescribeTrainingJob", 0) >= 1
    assert [e["event"] for e in logs if e["event"] == "job.waiting_for_rules"]
    assert outcome.description["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"] != (
        "InProgress"
    )


async def test_a_quiet_queue_falls_back_to_polling() -> None:
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2)
    async with EmulatorServer(config) as emulator:
        caller = AwsCaller(runner_config(emulator.url))
        quiet = (await caller.call("sqs", "CreateQueue", QueueName="no-rule"))["QueueUrl"]
        await caller.close()
        with capture_logs() as logs:
            outcomes = await run(
                emulator.url, batch("quiet", 6), feed=QUIET_SOON, events_queue=quiet
            )
    assert [o.status for o in outcomes] == ["Completed"] * 6
    unhealthy = [e for e in logs if e["event"] == "feed.unhealthy"]
    assert len(unhealthy) == 1 and unhealthy[0]["state"] == "quiet"


async def test_a_deleted_queue_falls_back_to_polling_and_says_why() -> None:
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2)
    async with EmulatorServer(config) as emulator:
        queue = await queue_on(emulator.url)
        caller = AwsCaller(runner_config(emulator.url))
        await caller.call("sqs", "DeleteQueue", QueueUrl=queue)
        await caller.close()
        with capture_logs() as logs:
            outcomes = await run(emulator.url, batch("deleted", 6), events_queue=queue)
    assert [o.status for o in outcomes] == ["Completed"] * 6
    unhealthy = [e for e in logs if e["event"] == "feed.unhealthy"]
    assert len(unhealthy) == 1
    assert unhealthy[0]["state"] == "unhealthy" and "does not exist" in unhealthy[0]["why"]


async def test_malformed_and_unfollowed_messages_are_deleted_and_ignored() -> None:
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2)
    async with EmulatorServer(config) as emulator:
        queue = await queue_on(emulator.url)
        caller = AwsCaller(runner_config(emulator.url))
        for body in ("not json", "[1, 2]", '{"source": "aws.sagemaker"}'):
            await caller.call("sqs", "SendMessage", QueueUrl=queue, MessageBody=body)
        # Someone else's job: its events come and are dropped.
        await caller.sagemaker("CreateTrainingJob", **req.training("not-ours"))
        await caller.close()
        with capture_logs() as logs:
            outcomes = await run(emulator.url, batch("mixed", 4), events_queue=queue)
        stats = await fetch_stats(emulator.url)
    assert [o.status for o in outcomes] == ["Completed"] * 4
    events = Counter(e["event"] for e in logs)
    assert events["feed.message_malformed"] == 3
    assert events["job.settled_by_event"] == 4
    assert describes(stats) == 0


async def test_without_a_feed_nothing_changes() -> None:
    config = EmulatorConfig(job_duration=1.0, stop_duration=0.2)
    async with EmulatorServer(config) as emulator:
        outcomes = await run(emulator.url, batch("plain", 3))
        stats = await fetch_stats(emulator.url)
    assert [o.status for o in outcomes] == ["Completed"] * 3
    assert "ReceiveMessage" not in stats["calls"]
    assert dataclasses.replace(FEED).safety_interval == 300.0


async def test_teardown_on_the_emulator_removes_what_setup_made() -> None:
    """As against moto (tests/integration/test_feed_moto.py): the emulator answers every call
    teardown makes, ListTagsForResource included."""
    from runner.feed import teardown_feed

    async with EmulatorServer(EmulatorConfig()) as emulator:
        await queue_on(emulator.url, "torn")
        caller = AwsCaller(runner_config(emulator.url))
        try:
            gone = await teardown_feed(caller, "torn")
            again = await teardown_feed(caller, "torn")
        finally:
            await caller.close()
    assert [(s.resource, s.action) for s in gone.steps] == [
        ("target", "removed"),
        ("rule", "removed"),
        ("queue", "removed"),
    ]
    assert {s.action for s in again.steps} == {"absent"}
