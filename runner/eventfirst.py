"""Following jobs by SageMaker's events first, with polling as the safety net (issue 12).

With ``RunnerConfig.events_queue`` set, the Runner reads the change feed (``runner.feed``) in
one task. A change about a job it follows either *settles* the job (its end, with every field
the outcome is read from: no final Describe), *wakes* it (an end whose event lacks a field the
outcome needs: Describe now), or is only taken in (a status on the way: no call at all). While
the feed is healthy those jobs are Described or swept only every
``FeedPolicy.safety_interval``; when it is quiet with jobs in flight, or unhealthy, they are
polled as without a feed at once (``feed.unhealthy``), until it is healthy again
(``feed.healthy``).

What an event carries. AWS's developer guide ("Events that Amazon SageMaker AI sends to Amazon
EventBridge", automating-sagemaker-with-eventbridge) shows each detail as the resource's
description at that moment, and the EventBridge schema registry's
``aws.sagemaker@SageMakerTrainingJobStateChange`` (the CDK's generated
``SageMakerTrainingJobStateChange`` pattern lists its fields) has ModelArtifacts,
AlgorithmSpecification, the times and statuses, but neither FinalMetricDataList, FailureReason
nor the Debugger/Profiler rule statuses. So nothing is assumed: per kind and end, ``NEEDS``
names the fields its verdict and outputs (``runner.kinds``' readers) read, and a job is
settled from its event only when that event's detail has every one of them; otherwise the end
is read from a Describe, as it would be without events. Endpoints are always Described: their
event spells the status ``IN_SERVICE`` where DescribeEndpoint says ``InService`` (the guide's
only endpoint example), and an update is judged by the endpoint's current config. Labeling
jobs have no job event (only a per-task one): they stay polled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from runner.feed.changes import DETAIL_TYPES, Change, parse_time
from runner.feed.consumer import FeedConsumer, FeedHealth, FeedState, Follows
from runner.kinds import JobKind
from runner.session import AwsCaller

log = structlog.get_logger("runner.feed")

# The runner kinds an event's kind is about: an endpoint's event serves both endpoint kinds.
EVENT_KINDS: Mapping[str, tuple[str, ...]] = {
    **{kind: (kind,) for kind in DETAIL_TYPES.values() if kind != "endpoint"},
    "endpoint": ("endpoint", "endpoint_update"),
}
FOLLOWED_BY_EVENTS = frozenset(key for keys in EVENT_KINDS.values() for key in keys)
_RULE_CONFIGS = {
    "DebugRuleConfigurations": "DebugRuleEvaluationStatuses",
    "ProfilerRuleConfigurations": "ProfilerRuleEvaluationStatuses",
}
_FAILED = frozenset({"FailureReason"})


Needs = Callable[[Mapping[str, Any], Mapping[str, Any]], frozenset[str]]


def _training_needs(request: Mapping[str, Any], description: Mapping[str, Any]) -> frozenset[str]:
    """Its artifact and image; its metrics when it has metric definitions (a described
    AlgorithmSpecification has them for a built-in algorithm too: SageMaker fills them in, and
    AWS's ACK controller late-initializes the field); its rules' statuses when it has rules."""
    needed = {"ModelArtifacts", "AlgorithmSpecification"}
    if (description.get("AlgorithmSpecification") or {}).get("MetricDefinitions"):
        needed.add("FinalMetricDataList")
    needed.update(status for config, status in _RULE_CONFIGS.items() if request.get(config))
    return frozenset(needed)


def _processing_needs(request: Mapping[str, Any], _: Mapping[str, Any]) -> frozenset[str]:
    return frozenset({"ProcessingOutputConfig"} if request.get("ProcessingOutputConfig") else ())


# The request fields the needs above read: what the runner keeps of a request once its job
# exists, for ``settles`` (``runner.core.followed_fields``).
REQUEST_FIELDS = frozenset({*_RULE_CONFIGS, "ProcessingOutputConfig"})


def _fields(*names: str) -> Needs:
    return lambda _request, _description: frozenset(names)


# kind -> (what a success's outcome reads; what a failure's reads). Stopped needs nothing
# from AWS: the reason is the runner's own, or "stopped outside the runner".
NEEDS: Mapping[str, tuple[Needs, frozenset[str]]] = {
    "training": (_training_needs, _FAILED),
    "tuning": (_fields("BestTrainingJob"), _FAILED),
    "processing": (_processing_needs, _FAILED),
    "transform": (_fields("TransformOutput"), _FAILED),
}


def followed_by_events(kind: JobKind) -> bool:
    return kind.key in FOLLOWED_BY_EVENTS


def describe_spelling(status: str) -> str:
    """``IN_SERVICE`` (an endpoint event's spelling) as DescribeEndpoint says it: ``InService``."""
    if "_" in status or status.isupper():
        return "".join(word.capitalize() for word in status.split("_"))
    return status


def description_of(change: Change, kind: JobKind) -> dict[str, Any]:
    """The event's detail shaped as ``kind``'s Describe answer: times as datetimes (events
    write epoch milliseconds), the status spelled as Describe spells it, no tag map."""
    detail = {key: _times(key, value) for key, value in change.detail.items() if key != "Tags"}
    if kind.status_field:
        detail[kind.status_field] = describe_spelling(change.status)
    return detail


def _times(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _times(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(key, item) for item in value]
    if key.endswith("Time") and isinstance(value, str | int | float):
        return parse_time(value) or value
    return value


def settles(kind: JobKind, request: Mapping[str, Any], description: Mapping[str, Any]) -> bool:
    """Whether ``description`` (an event's) is an end of ``kind`` that carries every field the
    outcome is read from, so that the job is finished without a Describe."""
    status = kind.status_of(description)
    if kind.key not in NEEDS or status not in kind.states.terminal:
        return False
    success, failure = NEEDS[kind.key]
    if status in kind.states.succeeded:
        needed = success(request, description)
    elif status in kind.states.failed:
        needed = failure
    else:
        needed = frozenset()
    return all(description.get(field) not in (None, "") for field in needed)


class EventFeed:
    """The consumer task and the feed's usability, as the Runner sees it.

    ``usable`` is False while the feed is unhealthy, or quiet with jobs in flight (a feed that
    is silent while nothing runs is not a broken one); its changes are logged once each.
    """

    def __init__(
        self,
        caller: AwsCaller,
        queue_url: str,
        follows: Follows,
        in_flight: Callable[[], int],
    ) -> None:
        self.consumer = FeedConsumer(caller, queue_url, follows)
        self._in_flight = in_flight
        self._health = FeedHealth(FeedState.HEALTHY)
        self.usable = True
        self._task: asyncio.Task[None] | None = None

    def start(self, on_change: Callable[[Change], None], on_usable: Callable[[bool], None]) -> None:
        def health(now: FeedHealth) -> None:
            self._health = now
            self.judge(on_usable)

        self._on_usable = on_usable
        self._task = asyncio.create_task(self.consumer.run(on_change, health), name="smrun:feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def judge(self, on_usable: Callable[[bool], None] | None = None) -> None:
        """Re-read usability from the last health and whether jobs are in flight."""
        health = self._health
        quiet_idle = health.state is FeedState.QUIET and self._in_flight() == 0
        usable = health.usable or quiet_idle
        if usable == self.usable:
            return
        self.usable = usable
        queue = self.consumer.queue_url
        if usable:
            log.info("feed.healthy", queue=queue)
        else:
            log.warning("feed.unhealthy", queue=queue, state=str(health.state), why=health.reason)
        (on_usable or self._on_usable)(usable)

    def jobs_started(self) -> None:
        """Jobs are in flight again after none were: the feed's silence counts from now."""
        self.consumer.expect()
