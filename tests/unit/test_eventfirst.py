"""Which end events settle a job without a Describe, the event's detail as a Describe answer,
and the feed's usability (quiet matters only with jobs in flight)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from structlog.testing import capture_logs

from runner.eventfirst import EventFeed, describe_spelling, description_of, settles
from runner.feed.changes import Change
from runner.feed.consumer import FeedHealth, FeedState
from runner.kinds import ENDPOINT, LABELING, PROCESSING, TRAINING, TRANSFORM

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
