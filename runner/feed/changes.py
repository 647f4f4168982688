"""SageMaker's state-change events, read into typed changes, and the order between them.

The events' format is AWS's "Events that Amazon SageMaker AI sends to Amazon EventBridge"
(https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html):
an EventBridge envelope (``id``, ``detail-type``, ``source`` "aws.sagemaker", ``time``,
``resources``) whose ``detail`` is the resource's description: ``TrainingJobName``,
``TrainingJobStatus``, ``SecondaryStatus``, ``ModelArtifacts``, ``LastModifiedTime``, ``Tags``
(a map) and so on. The guide's own examples write times three ways (epoch milliseconds as a
string, "1583831889050"; as a number, 1592411994287.0; ISO 8601, "2021-02-24T17:00:14Z"), and
its transform example has no ``LastModifiedTime`` at all: every form is read, and a detail
without one is ordered by the envelope's ``time``.

The same page warns that "SageMaker AI may send multiple events to EventBridge for each state
change". EventBridge guarantees no order (an AWS expert's answer on re:Post, "Amazon
EventBridge does not guarantee the order of the events", repost.aws QUDxAa0fS4TNus4mLxZpUjEw),
retries a target's delivery for up to 24 hours (https://docs.aws.amazon.com/eventbridge/latest/
userguide/eb-rule-retry-policy.html), and an SQS standard queue delivers "at least once" and in
"best-effort ordering" (the SQS developer guide, "Amazon SQS standard queues"). So
``ChangeOrder`` ranks a change by its status first (a job's end outranks anything before it: a
late ``InProgress`` never undoes a ``Completed``), then by ``LastModifiedTime``, and keeps
only changes newer than the last one.

Labeling jobs are not followed by events: the only Ground Truth event AWS documents is per
*task* ("SageMaker Ground Truth Labeling Job Task Status Change", whose detail has the
``labeling-job-arn`` and the task's state), never the job's status; polling follows them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.kinds import JobKind, kind_named

SOURCE = "aws.sagemaker"

# The detail-types the runner follows, and the kind each one's detail describes. An endpoint's
# event serves both endpoint kinds (creating one, updating one): its ``kind`` is "endpoint".
DETAIL_TYPES: Mapping[str, str] = {
    "SageMaker Training Job State Change": "training",
    "SageMaker HyperParameter Tuning Job State Change": "tuning",
    "SageMaker Processing Job State Change": "processing",
    "SageMaker Transform Job State Change": "transform",
    "SageMaker Endpoint State Change": "endpoint",
}
# Kinds whose statuses only move forward (a job runs, may be stopping, then ends). An
# endpoint's do not (InService -> Updating -> InService): its changes are ordered by time alone.
_ONE_WAY_KINDS = frozenset({"training", "tuning", "processing", "transform"})
_STOPPING = "Stopping"


class MalformedEvent(ValueError):
    """A message that is not a SageMaker event the runner can read; says why."""


@dataclass(frozen=True)
class Change:
    """One resource's new state, as an event told it."""

    kind: str  # a runner.kinds key: "training", "endpoint", ...
    name: str
    status: str
    last_modified: dt.datetime  # the detail's LastModifiedTime, else the event's time (UTC)
    detail: Mapping[str, Any]  # the resource's description, as the event carried it
    event_id: str = ""


def parse_time(value: object) -> dt.datetime | None:
    """An event's time in any of the forms AWS's examples use; None for none of them."""
    if isinstance(value, bool):
        return None
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    if number is None or not math.isfinite(number) or number < 0:
        return None
    # Milliseconds since the epoch in AWS's examples; seconds are told apart by size (an
    # epoch in seconds passes 1e11 in the year 5138).
    seconds = number / 1000 if number >= 1e11 else number
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _field(detail: Mapping[str, Any], name: str) -> str:
    value = detail.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"its detail has no {name}")
    return value


def followed_kind(event: Mapping[str, Any]) -> JobKind | None:
    """The kind a SageMaker event describes, or None for a detail-type not followed."""
    if event.get("source") != SOURCE:
        return None
    key = DETAIL_TYPES.get(str(event.get("detail-type")))
    return kind_named(key) if key else None


def parse_change(event: object) -> Change | None:
    """The change a (decoded) event tells, None for an event of a kind not followed.

    Raises ``MalformedEvent`` for what is not an event, or a followed one without its name,
    status or time.
    """
    if not isinstance(event, Mapping):
        raise MalformedEvent("it is not a JSON object")
    if "detail-type" not in event or "source" not in event:
        raise MalformedEvent("it is not an EventBridge event (no source or detail-type)")
    kind = followed_kind(event)
    if kind is None:
        return None
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("its detail is not an object")
    assert kind.status_field is not None  # followed kinds all have one
    name = _field(detail, kind.name_field)
    status = _field(detail, kind.status_field)
    moment = parse_time(detail.get("LastModifiedTime")) or parse_time(event.get("time"))
    if moment is None:
        raise MalformedEvent("it has no readable LastModifiedTime or time")
    return Change(kind.key, name, status, moment, detail, str(event.get("id") or ""))


def status_rank(kind: str, status: str) -> int:
    """Where a status stands in its kind's one-way order: running 0, stopping 1, ended 2."""
    if kind not in _ONE_WAY_KINDS:
        return 0
    if status in kind_named(kind).states.terminal:
        return 2
    return 1 if status == _STOPPING else 0


class ChangeOrder:
    """The last change seen per resource; says whether a new one is newer.

    A change is new when its (status rank, LastModifiedTime) is above the last one's; anything
    else (the same, or lower) is a duplicate or arrived late. At most ``capacity``
    resources are remembered, the least recently changed forgotten first (``forget`` drops one
    the caller no longer follows).
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        # Only each resource's last order key, never the change itself: a change carries the
        # job's whole description (~10 KB parsed), 100 MB over 10,000 jobs held for nothing.
        self._last: OrderedDict[tuple[str, str], tuple[int, dt.datetime]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._last)

    def is_new(self, change: Change) -> bool:
        """Whether ``change`` is newer than the last one recorded for its resource."""
        last = self._last.get((change.kind, change.name))
        return last is None or order_key(change) > last

    def admit(self, change: Change) -> bool:
        """Record ``change`` if it is newer than the last one; whether it was."""
        if not self.is_new(change):
            return False
        key = (change.kind, change.name)
        self._last[key] = order_key(change)
        self._last.move_to_end(key)
        while len(self._last) > self._capacity:
            self._last.popitem(last=False)
        return True

    def forget(self, kind: str, name: str) -> None:
        self._last.pop((kind, name), None)


def order_key(change: Change) -> tuple[int, dt.datetime]:
    """What orders a resource's changes: status rank, then time. At the same rank and moment
    the first one told wins (two ends at once cannot both be true: the Describe that settles
    a job reads which one is)."""
    return (status_rank(change.kind, change.status), change.last_modified)
