"""EventBridge pattern matching and the queue-policy check, as the EventBridge User Guide says."""

from __future__ import annotations

import json

import pytest

from emulator import errors, patterns, policies

EVENT = {
    "source": "aws.sagemaker",
    "detail-type": "SageMaker Training Job State Change",
    "resources": ["arn:aws:sagemaker:us-east-1:1:training-job/smrun-a"],
    "detail": {"TrainingJobName": "smrun-a", "TrainingJobStatus": "Completed", "Count": 3},
}


@pytest.mark.parametrize(
    ("pattern", "matched"),
    [
        ({"source": ["aws.sagemaker"]}, True),
        ({"source": ["aws.s3"]}, False),
        ({"detail": {"TrainingJobName": [{"prefix": "smrun-"}]}}, True),
        ({"detail": {"TrainingJobName": [{"suffix": "-a"}]}}, True),
        ({"detail": {"TrainingJobStatus": [{"anything-but": ["InProgress", "Stopping"]}]}}, True),
        ({"detail": {"TrainingJobStatus": [{"anything-but": {"prefix": "Comp"}}]}}, False),
        ({"detail": {"TrainingJobStatus": [{"equals-ignore-case": "completed"}]}}, True),
        ({"detail": {"Count": [{"numeric": [">", 2, "<=", 3]}]}}, True),
        ({"detail": {"Count": [{"numeric": [">", 3]}]}}, False),
        ({"detail": {"Missing": [{"exists": False}]}}, True),
        ({"detail": {"Missing": [{"exists": True}]}}, False),
        ({"detail": {"Missing": ["x"]}}, False),
        ({"resources": [{"wildcard": "*training-job/smrun-*"}]}, True),
        ({"detail": {"Count": [3.0]}}, True),
        ({"detail": {"Count": ["3"]}}, False),
    ],
)
def test_patterns_match_as_eventbridge_does(pattern: dict[str, object], matched: bool) -> None:
    assert patterns.matches(patterns.parse(json.dumps(pattern)), EVENT) is matched


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        "{}",
        '{"source": "aws.sagemaker"}',
        '{"a": []}',
        '{"a": [{"nope": 1}]}',
        '{"a": [{"numeric": [">"]}]}',
        '{"a": [{"exists": "yes"}]}',
    ],
)
def test_bad_patterns_are_refused(text: str) -> None:
    with pytest.raises(errors.AwsError) as raised:
        patterns.parse(text)
    assert raised.value.code == "InvalidEventPatternException"


QUEUE = "arn:aws:sqs:us-east-1:1:feed"
RULE = "arn:aws:events:us-east-1:1:rule/sm"


def statement(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE,
        "Condition": {"ArnEquals": {"aws:SourceArn": RULE}},
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ([statement()], True),
        ([], False),
        ([statement(Principal={"Service": "sns.amazonaws.com"})], False),
        ([statement(Action="sqs:ReceiveMessage")], False),
        ([statement(Action="sqs:*")], True),
        ([statement(Condition={"ArnEquals": {"aws:SourceArn": RULE + "x"}})], False),
        ([statement(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:events:*"}})], True),
        ([statement(), statement(Effect="Deny", Condition={})], False),
        ([statement(Resource="arn:aws:sqs:us-east-1:1:other")], False),
    ],
)
def test_only_a_policy_that_allows_eventbridge_lets_it_send(
    statements: list[dict[str, object]], allowed: bool
) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    context = {"aws:SourceArn": RULE, "aws:SourceAccount": "1"}
    assert policies.allows_events(policy, QUEUE, context) is allowed
    assert policies.allows_events(None, QUEUE, context) is False
