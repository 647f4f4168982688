"""``runner.feed.changes``: SageMaker's events read as AWS's examples write them, and ordered.

The events are built on the examples of AWS's developer guide (tests/support/sagemaker_events.py
names the page): times as epoch-millisecond strings, numbers and ISO strings; a transform
detail without LastModifiedTime. AWS warns that an event may come several times and out of
order, which ``ChangeOrder`` must absorb.
"""

from __future__ import annotations

import datetime as dt

import pytest

from runner.feed.changes import (
    DETAIL_TYPES,
    Change,
    ChangeOrder,
    MalformedEvent,
    parse_change,
    parse_time,
    status_rank,
)
from runner.feed.setup import event_pattern
from support import sagemaker_events as ev

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1583831889050", dt.datetime(2020, 3, 10, 9, 18, 9, 50_000, tzinfo=dt.UTC)),
        (1592411994287.0, dt.datetime(2020, 6, 17, 16, 39, 54, 287_000, tzinfo=dt.UTC)),
        ("2021-02-24T17:00:14Z", dt.datetime(2021, 2, 24, 17, 0, 14, tzinfo=dt.UTC)),
        ("2021-02-24T17:00:14", dt.datetime(2021, 2, 24, 17, 0, 14, tzinfo=dt.UTC)),
        (1583831889, dt.datetime(2020, 3, 10, 9, 18, 9, tzinfo=dt.UTC)),  # seconds
    ],
)
def test_every_time_form_of_awss_examples_is_read(value: object, expected: dt.datetime) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", [None, "", "soon", True, -5, float("nan"), {}, "1e400"])
def test_what_is_not_a_time_is_none(value: object) -> None:
    assert parse_time(value) is None


def test_a_training_event_is_read_whole() -> None:
    event = ev.training_event("fit-1", "Completed", at(30), tags={"smrun:kind": "training"})
    change = parse_change(event)
    assert change is not None
    assert (change.kind, change.name, change.status) == ("training", "fit-1", "Completed")
    assert change.last_modified == at(30)
    assert change.detail["OutputDataConfig"]["S3OutputPath"] == "s3://bucket/output"
    assert change.event_id == event["id"]


def test_a_transform_event_without_last_modified_time_is_ordered_by_the_events_time() -> None:
    change = parse_change(ev.transform_event("score-1", "Completed", at(7)))
    assert change is not None and change.kind == "transform" and change.last_modified == at(7)


def test_an_endpoint_event_serves_the_endpoint_kind() -> None:
    change = parse_change(ev.endpoint_event("Serve", "InService", at(1)))
    assert change is not None and (change.kind, change.status) == ("endpoint", "InService")


def test_events_not_followed_are_none() -> None:
    event = ev.envelope("SageMaker Model State Change", "arn:x", {"ModelName": "m"}, "t")
    assert parse_change(event) is None
    other = ev.training_event("fit", "Completed", at(0)) | {"source": "my.app"}
    assert parse_change(other) is None


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ([1, 2], "not a JSON object"),
        ({"detail": {}}, "not an EventBridge event"),
        (ev.training_event("fit", "Completed", at(0)) | {"detail": "x"}, "detail is not an object"),
        (
            ev.envelope(
                "SageMaker Training Job State Change", "arn", {"TrainingJobStatus": "X"}, ""
            ),
            "no TrainingJobName",
        ),
        (
            ev.envelope("SageMaker Training Job State Change", "arn", {"TrainingJobName": "n"}, ""),
            "no TrainingJobStatus",
        ),
        (
            ev.envelope(
                "SageMaker Training Job State Change",
                "arn",
                {"TrainingJobName": "n", "TrainingJobStatus": "Completed"},
                "whenever",
            ),
            "no readable LastModifiedTime or time",
        ),
    ],
)
def test_malformed_events_say_why(event: object, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        parse_change(event)


def change(status: str, seconds: float, kind: str = "training", name: str = "job") -> Change:
    return Change(kind, name, status, at(seconds), {})


def test_an_end_is_never_undone_by_a_late_or_later_in_progress() -> None:
    order = ChangeOrder()
    assert order.admit(change("InProgress", 1))
    assert order.admit(change("Completed", 5))
    assert not order.admit(change("InProgress", 3))  # arrived late
    assert not order.admit(change("InProgress", 9))  # a skewed clock: still not undone
    assert not order.admit(change("Completed", 5))  # the same event again
    assert not order.admit(change("Stopping", 6))


def test_changes_move_forward_by_time_within_a_rank() -> None:
    order = ChangeOrder()
    assert order.admit(change("InProgress", 1))
    assert order.admit(change("InProgress", 2))  # a secondary status changed
    assert not order.admit(change("InProgress", 2))
    assert order.admit(change("Stopping", 2))
    assert order.admit(change("Stopped", 3))


def test_endpoint_statuses_go_back_and_forth_by_time_alone() -> None:
    order = ChangeOrder()
    assert order.admit(change("InService", 1, kind="endpoint"))
    assert order.admit(change("Updating", 2, kind="endpoint"))
    assert order.admit(change("InService", 3, kind="endpoint"))
    assert not order.admit(change("Updating", 2, kind="endpoint"))
    assert status_rank("endpoint", "Failed") == 0 and status_rank("training", "Failed") == 2


def test_the_order_forgets_the_least_recently_changed_beyond_its_capacity() -> None:
    order = ChangeOrder(capacity=2)
    for name in ("a", "b", "c"):
        order.admit(change("Completed", 1, name=name))
    assert len(order) == 2
    assert order.admit(change("Completed", 1, name="a"))  # forgotten, so new again
    order.forget("training", "a")
    assert order.is_new(change("Completed", 1, name="a"))


def test_the_rule_matches_every_detail_type_the_feed_reads() -> None:
    assert event_pattern()["detail-type"] == sorted(DETAIL_TYPES)
    assert event_pattern()["source"] == ["aws.sagemaker"] and "detail" not in event_pattern()
    tagged = event_pattern(tagged_only=True)["detail"]
    assert tagged == {"Tags": {"smrun:kind": [{"exists": True}]}}
    assert "labeling" not in DETAIL_TYPES.values()
