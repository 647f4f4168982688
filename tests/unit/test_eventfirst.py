"""Which end events settle a job without a Describe, the event's detail as a Describe answer,
and the feed's usability (quiet matters only with jobs in flight)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from structlog.testing import capture_logs

from runner import eventfirst
from runner.core import followed_fields
from runner.eventfirst import EventFeed, describe_spelling, description_of, settles
from runner.feed.changes import Change
from runner.feed.consumer import FeedHealth, FeedState
from runner.kinds import ENDPOINT, LABELING, PROCESSING, TRAINING, TRANSFORM, kind_named

DONE = {
    "TrainingJobStatus": "Completed",
    "ModelArtifacts": {"S3ModelArtifacts": "s3://b/m.tar.gz"},
    "AlgorithmSpecification": {"TrainingImage": "img"},
}


def test_a_training_end_settles_only_with_what_its_outcome_reads() -> None:
    assert settles(TRAINING, {}, DONE)
    assert not settles(TRAINING, {}, {**DONE, "ModelArtifacts": None})
    with_metrics = {**DONE, "AlgorithmSpecification": {"MetricDefinitions": [{"Name": "auc"}]}}
    assert not settles(TRAINING, {}, with_metrics)  # AWS's schema has no FinalMetricDataList
    assert settles(TRAINING, {}, {**with_metrics, "FinalMetricDataList": [{"MetricName": "auc"}]})
    ruled = {"DebugRuleConfigurations": [{"RuleConfigurationName": "loss"}]}
    assert not settles(TRAINING, ruled, DONE)
    failed = {"TrainingJobStatus": "Failed"}
    assert not settles(TRAINING, {}, failed)
    assert settles(TRAINING, {}, {**failed, "FailureReason": "OOM"})
    assert settles(TRAINING, {}, {"TrainingJobStatus": "Stopped"})
    assert not settles(TRAINING, {}, {**DONE, "TrainingJobStatus": "InProgress"})


def test_kinds_settle_by_their_own_outputs_and_endpoints_never() -> None:
    outputs = {"ProcessingOutputConfig": {"Outputs": []}}
    assert not settles(PROCESSING, outputs, {"ProcessingJobStatus": "Completed"})
    assert settles(PROCESSING, outputs, {"ProcessingJobStatus": "Completed", **outputs})
    assert settles(PROCESSING, {}, {"ProcessingJobStatus": "Completed"})
    assert not settles(TRANSFORM, {}, {"TransformJobStatus": "Completed"})
    assert not settles(ENDPOINT, {}, {"EndpointStatus": "InService", "EndpointName": "e"})
    assert not settles(LABELING, {}, {"LabelingJobStatus": "Completed"})


def test_an_events_detail_reads_as_a_describe_answer() -> None:
    change = Change(
        "endpoint",
        "e",
        "IN_SERVICE",
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        {
            "EndpointName": "e",
            "EndpointStatus": "IN_SERVICE",
            "CreationTime": 1704320199000,
            "ProductionVariants": [{"DeployedImages": [{"ResolutionTime": "1704320199000"}]}],
            "Tags": {"a": "b"},
        },
    )
    answer: dict[str, Any] = description_of(change, ENDPOINT)
    assert answer["EndpointStatus"] == "InService"
    assert answer["CreationTime"] == dt.datetime.fromtimestamp(1704320199, dt.UTC)
    resolved = answer["ProductionVariants"][0]["DeployedImages"][0]["ResolutionTime"]
    assert isinstance(resolved, dt.datetime)
    assert "Tags" not in answer
    assert [describe_spelling(s) for s in ("OUT_OF_SERVICE", "CREATING", "InService")] == [
        "OutOfService",
        "Creating",
        "InService",
    ]


def test_quiet_matters_only_with_jobs_in_flight_and_each_change_is_logged_once() -> None:
    in_flight = [0]
    seen: list[bool] = []
    feed = EventFeed.__new__(EventFeed)
    feed._in_flight = lambda: in_flight[0]
    feed._health = FeedHealth(FeedState.HEALTHY)
    feed.usable = True
    feed._on_usable = seen.append

    class Consumer:
        queue_url = "q"

    feed.consumer = Consumer()  # type: ignore[assignment]
    with capture_logs() as logs:
        feed._health = FeedHealth(FeedState.QUIET, "no message for 120 s")
        feed.judge()  # nothing runs: a silent feed is not a broken one
        in_flight[0] = 3
        feed.judge()
        feed.judge()
        feed._health = FeedHealth(FeedState.HEALTHY)
        feed.judge()
        feed._health = FeedHealth(FeedState.UNHEALTHY, "the queue q does not exist")
        feed.judge()
    assert seen == [False, True, False]
    assert [(e["event"], e.get("why")) for e in logs] == [
        ("feed.unhealthy", "no message for 120 s"),
        ("feed.healthy", None),
        ("feed.unhealthy", "the queue q does not exist"),
    ]


@pytest.mark.parametrize("kind_key", sorted(eventfirst.NEEDS))
def test_an_end_event_is_judged_the_same_on_the_request_the_runner_keeps(kind_key: str) -> None:
    """Once a job exists the runner keeps only ``followed_fields`` of its request: whether an
    end event settles the job must not depend on anything it let go."""
    kind = kind_named(kind_key)
    request = {
        "DebugRuleConfigurations": [{"RuleConfigurationName": "r"}],
        "ProfilerRuleConfigurations": [{"RuleConfigurationName": "p"}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "o", "S3Output": {}}]},
        "HyperParameters": {"eta": "0.1"},
        "Tags": [{"Key": "smrun:run-id", "Value": "r-1"}],
    }
    kept = {k: v for k, v in request.items() if k in followed_fields(kind)}
    assert "HyperParameters" not in kept
    everything = ("ModelArtifacts", "AlgorithmSpecification", "BestTrainingJob")
    for status in sorted(kind.states.terminal):
        rules = ("DebugRuleEvaluationStatuses", "ProfilerRuleEvaluationStatuses")
        for fields in ((), everything, (*everything, *rules, "ProcessingOutputConfig")):
            description = {kind.status_field: status, **{f: {"x": 1} for f in fields}}
            assert eventfirst.settles(kind, kept, description) == eventfirst.settles(
                kind, request, description
            ), (status, fields)
