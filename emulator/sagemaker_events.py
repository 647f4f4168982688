"""The events SageMaker sends to EventBridge when its jobs and endpoints change status.

Shapes, from the SageMaker Developer Guide's "Events that Amazon SageMaker AI sends to Amazon
EventBridge" (automating-sagemaker-with-eventbridge; awsdocs/amazon-sagemaker-developer-guide)
and the EventBridge reference's list of SageMaker events:

* the envelope: ``version`` "0", a unique ``id``, ``detail-type``, ``source`` "aws.sagemaker",
  ``account``, ``time`` (ISO 8601 to the second, ``2019-05-31T21:49:54Z``), ``region``,
  ``resources`` (the resource's ARN) and ``detail``;
* ``detail``: the resource's Describe response at that moment (the training example carries
  TrainingJobStatus, SecondaryStatus, ModelArtifacts' parent fields and the times; FailureReason
  when Failed), its times as epoch milliseconds (the processing example: ``"CreationTime":
  1704320199000``), and ``Tags`` as a map;
* detail-types: "SageMaker Training Job State Change", "SageMaker HyperParameter Tuning Job
  State Change", "SageMaker Processing Job State Change", "SageMaker Transform Job State
  Change", "SageMaker Endpoint State Change". The endpoint example spells the status
  ``"EndpointStatus": "IN_SERVICE"`` where DescribeEndpoint says ``InService``; the emulator
  writes every endpoint status that way (``CREATING``, ``UPDATING``, ``DELETING``, ``FAILED``),
  so a consumer must accept both spellings.

Not sent: labeling jobs (AWS documents only "SageMaker Ground Truth Labeling Job Task Status
Change", a per-task event of the workforce, not a job status change), and model and endpoint
configuration events (listed by EventBridge, with no documented detail).

An event is sent for every transition, the first (a job's creation, InProgress) included, and
for each secondary status of a training job; a preloaded account history sends none.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import uuid
from collections.abc import Iterator
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from emulator.state import Emulator
from runner.validation import operation_model

SOURCE = "aws.sagemaker"
DETAIL_TYPES = {
    "TrainingJob": "SageMaker Training Job State Change",
    "HyperParameterTuningJob": "SageMaker HyperParameter Tuning Job State Change",
    "ProcessingJob": "SageMaker Processing Job State Change",
    "TransformJob": "SageMaker Transform Job State Change",
    "Endpoint": "SageMaker Endpoint State Change",
}


def envelope(
    em: Emulator,
    *,
    source: str,
    detail_type: str,
    resources: list[str],
    detail: dict[str, Any],
    at: float,
) -> dict[str, Any]:
    moment = dt.datetime.fromtimestamp(at, dt.UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": em.config.account_id,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": em.config.region,
        "resources": resources,
        "detail": detail,
    }


def _millis(value: Any, shape: Shape) -> Any:
    """``value`` of ``shape`` with its timestamps as epoch milliseconds."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            key: _millis(item, shape.members[key]) if key in shape.members else item
            for key, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_millis(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: _millis(item, shape.value) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, int | float):
        return round(value * 1000)
    return value


@functools.cache
def _describe_shape(noun: str) -> StructureShape:
    shape = operation_model("sagemaker", f"Describe{noun}").output_shape
    assert isinstance(shape, StructureShape)
    return shape


def _detail(noun: str, described: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    shape = _describe_shape(noun)
    kept = {key: value for key, value in described.items() if key in shape.members}
    return {**_millis(kept, shape), "Tags": dict(tags)}


def _endpoint_status(status: str) -> str:
    """``InService`` as the endpoint event spells it: ``IN_SERVICE``."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(status)).upper()


class Feed:
    """What has been published so far: per job or endpoint, how many of its transitions."""

    def __init__(self, em: Emulator) -> None:
        self.em = em
        self.last = em.now()
        self.published: dict[Any, int] = {}

    def events_until(self, now: float) -> Iterator[tuple[dict[str, Any], float]]:
        """Every event that happened by ``now`` and was not published yet, oldest first, with
        when it happened."""
        pending: list[tuple[float, int, Any, Any]] = []
        # Events at exactly the last catch-up are looked at again: one may have been logged at
        # that very moment since (a Stop). The counts keep them from being sent twice.
        after = math.nextafter(self.last, -math.inf)
        self.last = max(self.last, now)
        for table in self.em.jobs.values():
            changed = table.changed_after(after, now, math.inf) or []
            for job in changed:
                if job.kind.noun in DETAIL_TYPES and not job.preloaded:
                    self._new_transitions(job, now, pending)
        for endpoint in self.em.endpoints.values():
            if endpoint.created_at <= now:
                self._new_transitions(endpoint, now, pending)
        pending.sort(key=lambda entry: (entry[0], entry[1]))
        for at, _, item, transition in pending:
            event = self._event(item, transition, at)
            if event is not None:
                yield event, at

    def _new_transitions(self, item: Any, now: float, pending: list[Any]) -> None:
        history = item.schedule.history(now)
        done = self.published.get(item, 0)
        for index in range(done, len(history)):
            pending.append((history[index].at, index, item, history[index]))
        self.published[item] = len(history)

    def _event(self, item: Any, transition: Any, at: float) -> dict[str, Any] | None:
        from emulator import hosting, jobs

        if isinstance(item, jobs.Job):
            noun = item.kind.noun
            detail = _detail(noun, jobs.describe(item, at), item.tags)
        else:
            if transition.status == hosting.GONE:
                return None
            noun = "Endpoint"
            detail = _detail(noun, hosting.describe(item, at), item.tags)
            detail["EndpointStatus"] = _endpoint_status(detail["EndpointStatus"])
        return envelope(
            self.em,
            source=SOURCE,
            detail_type=DETAIL_TYPES[noun],
            resources=[item.arn],
            detail=detail,
            at=at,
        )

    def next_event_after(self, now: float) -> float | None:
        """The earliest moment a job or endpoint may change next (an upper bound on the wait)."""
        times = [table.next_event_time() for table in self.em.jobs.values()]
        for endpoint in self.em.endpoints.values():
            later = [t for t in endpoint.schedule.times if t > now]
            times.append(min(later, default=None))
        known = [t for t in times if t is not None]
        return min(known, default=None)
