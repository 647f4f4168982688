"""The change feed's AWS resources: an SQS queue, an EventBridge rule and its target, and the
queue policy that lets the rule deliver; made once, idempotently, and removed exactly.

``setup_feed`` looks before it makes: a resource that is already as wanted is *found*, one
that differs is *updated*, a missing one is *created*; a second run changes nothing and says
so. The queue and rule it creates carry the tag ``smrun:feed`` (the queue's name), and
``teardown_feed`` deletes only what carries it: a queue that was there before setup keeps its
messages and loses only the policy statement setup added, and a rule that has targets setup
did not add is left with them.

The rule is on the default event bus (where AWS services send their events) and matches the
SageMaker detail-types in ``runner.feed.changes.DETAIL_TYPES``. With ``tagged_only`` it also
requires the tag ``smrun:kind`` (which the runner puts on every resource it creates) in the
event's ``detail.Tags``: AWS's examples of the training, tuning, transform and endpoint events
carry the resource's tags as a map there (the developer guide's "Events that Amazon SageMaker
AI sends to Amazon EventBridge", and the CDK's generated ``SageMakerTrainingJobStateChange``
pattern has a ``tags`` field). AWS publishes no example of the processing event's detail: if
it lacks ``Tags``, a tagged-only rule drops processing events and polling follows those jobs.

The queue policy lets ``events.amazonaws.com`` call ``sqs:SendMessage`` on the queue only for
this rule (``aws:SourceArn``), as the EventBridge user guide's "Amazon SQS permissions" shows.

IAM for ``setup_feed``: sqs:GetQueueUrl, sqs:CreateQueue, sqs:TagQueue, sqs:GetQueueAttributes,
sqs:SetQueueAttributes; events:DescribeRule, events:PutRule, events:TagResource,
events:ListTargetsByRule, events:PutTargets. For ``teardown_feed``: sqs:GetQueueUrl,
sqs:GetQueueAttributes, sqs:SetQueueAttributes, sqs:ListQueueTags, sqs:DeleteQueue;
events:DescribeRule, events:ListTagsForResource, events:ListTargetsByRule,
events:RemoveTargets, events:DeleteRule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.config import DEFAULT_FEED_QUEUE as DEFAULT_QUEUE
from runner.errors import AwsCallFailed
from runner.feed.changes import DETAIL_TYPES, SOURCE
from runner.naming import KIND_TAG
from runner.session import AwsCaller

FEED_TAG = "smrun:feed"
TARGET_ID = "smrun-feed-queue"
# Messages wait at most a day: past that the runner's reconcile sweep has long caught up.
QUEUE_ATTRIBUTES: Mapping[str, str] = {
    "MessageRetentionPeriod": "86400",
    "ReceiveMessageWaitTimeSeconds": "20",
    "VisibilityTimeout": "60",
}
_QUEUE_GONE = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"})


def rule_name(queue: str) -> str:
    """The rule that feeds ``queue`` (rule names allow 64 characters, queue names 80)."""
    return f"smrun-feed-{queue}"[:64]


def event_pattern(tagged_only: bool = False) -> dict[str, Any]:
    pattern: dict[str, Any] = {"source": [SOURCE], "detail-type": sorted(DETAIL_TYPES)}
    if tagged_only:
        pattern["detail"] = {"Tags": {KIND_TAG: [{"exists": True}]}}
    return pattern


def statement_id(rule: str) -> str:
    return f"{rule}-delivers"[:100]


def policy_statement(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    return {
        "Sid": statement_id(rule_arn.rpartition("/")[2]),
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
    }


@dataclass(frozen=True)
class Step:
    resource: str  # "queue", "rule", "target", "queue policy"
    action: str  # created, found, updated, removed, absent, kept
    name: str
    note: str = ""

    def line(self) -> str:
        return f"{self.resource} {self.name}: {self.action}" + (
            f" ({self.note})" if self.note else ""
        )


@dataclass
class FeedReport:
    queue_url: str = ""
    queue_arn: str = ""
    rule_arn: str = ""
    steps: list[Step] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(step.action not in ("found", "absent", "kept") for step in self.steps)


# --- setup ------------------------------------------------------------------------------------


async def setup_feed(
    caller: AwsCaller, queue: str = DEFAULT_QUEUE, tagged_only: bool = False
) -> FeedReport:
    """Make (or find) the queue, the rule, its target and the queue policy."""
    report = FeedReport()
    await _ensure_queue(caller, queue, report)
    await _ensure_rule(caller, queue, tagged_only, report)
    await _ensure_target(caller, queue, report)
    await _ensure_policy(caller, report)
    return report


async def _queue_url(caller: AwsCaller, queue: str) -> str | None:
    try:
        answer = await caller.call("sqs", "GetQueueUrl", QueueName=queue)
    except AwsCallFailed as error:
        if error.code in _QUEUE_GONE:
            return None
        raise
    return str(answer["QueueUrl"])


async def _ensure_queue(caller: AwsCaller, queue: str, report: FeedReport) -> None:
    url = await _queue_url(caller, queue)
    if url is None:
        answer = await caller.call(
            "sqs",
            "CreateQueue",
            QueueName=queue,
            Attributes=dict(QUEUE_ATTRIBUTES),
            tags={FEED_TAG: queue},
        )
        url = str(answer["QueueUrl"])
        report.steps.append(Step("queue", "created", queue, url))
    else:
        report.steps.append(Step("queue", "found", queue, url))
    attributes = await caller.call(
        "sqs", "GetQueueAttributes", QueueUrl=url, AttributeNames=["QueueArn"]
    )
    report.queue_url, report.queue_arn = url, str(attributes["Attributes"]["QueueArn"])


async def _ensure_rule(
    caller: AwsCaller, queue: str, tagged_only: bool, report: FeedReport
) -> None:
    name = rule_name(queue)
    pattern = event_pattern(tagged_only)
    existing = await _describe_rule(caller, name)
    if (
        existing is not None
        and json.loads(existing.get("EventPattern") or "{}") == pattern
        and existing.get("State") == "ENABLED"
    ):
        report.rule_arn = str(existing["Arn"])
        report.steps.append(Step("rule", "found", name))
        return
    answer = await caller.call(
        "events",
        "PutRule",
        Name=name,
        EventPattern=json.dumps(pattern),
        State="ENABLED",
        Description=f"SageMaker state changes for smrun, to the SQS queue {queue}",
        **({} if existing else {"Tags": [{"Key": FEED_TAG, "Value": queue}]}),
    )
    report.rule_arn = str(answer["RuleArn"])
    note = "tagged-only" if tagged_only else "every SageMaker job"
    report.steps.append(Step("rule", "updated" if existing else "created", name, note))


async def _describe_rule(caller: AwsCaller, name: str) -> dict[str, Any] | None:
    try:
        return await caller.call("events", "DescribeRule", Name=name)
    except AwsCallFailed as error:
        if error.code == "ResourceNotFoundException":
            return None
        raise


async def _ensure_target(caller: AwsCaller, queue: str, report: FeedReport) -> None:
    name = rule_name(queue)
    targets = await _targets(caller, name)
    ours = next((t for t in targets if t.get("Id") == TARGET_ID), None)
    if ours is not None and ours.get("Arn") == report.queue_arn:
        report.steps.append(Step("target", "found", TARGET_ID))
        return
    answer = await caller.call(
        "events", "PutTargets", Rule=name, Targets=[{"Id": TARGET_ID, "Arn": report.queue_arn}]
    )
    for failed in answer.get("FailedEntries") or []:
        raise AwsCallFailed(
            "PutTargets", str(failed.get("ErrorCode")), str(failed.get("ErrorMessage"))
        )
    report.steps.append(
        Step("target", "updated" if ours else "created", TARGET_ID, report.queue_arn)
    )


async def _targets(caller: AwsCaller, rule: str) -> list[dict[str, Any]]:
    return [target async for target in caller.paginate("events", "ListTargetsByRule", Rule=rule)]


async def _queue_policy(caller: AwsCaller, url: str) -> dict[str, Any]:
    answer = await caller.call("sqs", "GetQueueAttributes", QueueUrl=url, AttributeNames=["Policy"])
    text = (answer.get("Attributes") or {}).get("Policy")
    return json.loads(text) if text else {"Version": "2012-10-17", "Statement": []}


async def _ensure_policy(caller: AwsCaller, report: FeedReport) -> None:
    wanted = policy_statement(report.queue_arn, report.rule_arn)
    policy = await _queue_policy(caller, report.queue_url)
    statements = _statements(policy)
    if wanted in statements:
        report.steps.append(Step("queue policy", "found", wanted["Sid"]))
        return
    others = [s for s in statements if s.get("Sid") != wanted["Sid"]]
    action = "updated" if len(others) < len(statements) else "created"
    policy["Statement"] = [*others, wanted]
    await caller.call(
        "sqs",
        "SetQueueAttributes",
        QueueUrl=report.queue_url,
        Attributes={"Policy": json.dumps(policy)},
    )
    report.steps.append(
        Step("queue policy", action, wanted["Sid"], "events.amazonaws.com may send")
    )


def _statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement") or []
    return [statements] if isinstance(statements, dict) else list(statements)


# --- teardown ---------------------------------------------------------------------------------


async def teardown_feed(caller: AwsCaller, queue: str = DEFAULT_QUEUE) -> FeedReport:
    """Remove what ``setup_feed`` made for ``queue``, and only that."""
    report = FeedReport()
    url = await _queue_url(caller, queue)
    await _remove_rule(caller, queue, report)
    if url is None:
        report.steps.append(Step("queue", "absent", queue))
        return report
    report.queue_url = url
    tags = (await caller.call("sqs", "ListQueueTags", QueueUrl=url)).get("Tags") or {}
    if tags.get(FEED_TAG) == queue:
        await caller.call("sqs", "DeleteQueue", QueueUrl=url)
        report.steps.append(Step("queue", "removed", queue, url))
    else:
        await _remove_statement(caller, url, rule_name(queue), report)
        report.steps.append(Step("queue", "kept", queue, "not made by smrun events setup"))
    return report


async def _remove_rule(caller: AwsCaller, queue: str, report: FeedReport) -> None:
    name = rule_name(queue)
    rule = await _describe_rule(caller, name)
    if rule is None:
        report.steps.append(Step("rule", "absent", name))
        return
    report.rule_arn = str(rule["Arn"])
    targets = await _targets(caller, name)
    if any(t.get("Id") == TARGET_ID for t in targets):
        await caller.call("events", "RemoveTargets", Rule=name, Ids=[TARGET_ID])
        report.steps.append(Step("target", "removed", TARGET_ID))
    else:
        report.steps.append(Step("target", "absent", TARGET_ID))
    tags = await caller.call("events", "ListTagsForResource", ResourceARN=report.rule_arn)
    ours = any(t.get("Key") == FEED_TAG for t in tags.get("Tags") or [])
    others = [t for t in targets if t.get("Id") != TARGET_ID]
    if ours and not others:
        await caller.call("events", "DeleteRule", Name=name)
        report.steps.append(Step("rule", "removed", name))
    else:
        why = "it has other targets" if others else "not made by smrun events setup"
        report.steps.append(Step("rule", "kept", name, why))


async def _remove_statement(caller: AwsCaller, url: str, rule: str, report: FeedReport) -> None:
    policy = await _queue_policy(caller, url)
    statements = _statements(policy)
    sid = statement_id(rule)
    kept = [s for s in statements if s.get("Sid") != sid]
    if len(kept) == len(statements):
        report.steps.append(Step("queue policy", "absent", sid))
        return
    policy["Statement"] = kept
    await caller.call(
        "sqs",
        "SetQueueAttributes",
        QueueUrl=url,
        Attributes={"Policy": json.dumps(policy) if kept else ""},
    )
    report.steps.append(Step("queue policy", "removed", sid))
