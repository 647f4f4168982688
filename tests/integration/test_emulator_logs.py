"""CloudWatch Logs of emulated jobs, read through aiobotocore the way a log tailer reads them.

The emulator here runs on a hand-driven clock, so each test puts the job exactly where it wants
it (before its first line, mid-run, just after the end, after the late events) and the
expected events are computed from the emulator's own plan (``LogStore.events``).
"""

from __future__ import annotations

import asyncio
import datetime
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.server import EmulatorServer
from emulator.state import Emulator, EmulatorConfig
from support import requests as req

TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
START = 1_700_000_000.0
DURATION = 10.0  # training writes from 25% of it (Training phase) to its end
LATE_DELAY = 2.0
LINES = 8
PAGE = 5


class ManualClock:
    """Emulator time that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        job_duration=DURATION,
        stop_duration=1.0,
        late_event_delay=LATE_DELAY,
        log_lines=LINES,
        log_page_size=PAGE,
        check_responses=True,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def emulator(
    emulator_config: EmulatorConfig, clock: Callable[[], float]
) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(emulator=Emulator(emulator_config, clock=clock)) as server:
        yield server


def planned(
    emulator: EmulatorServer, stream: str, group: str = TRAINING_GROUP
) -> list[tuple[int, str]]:
    return emulator.emulator.logs.events(group, stream)


def stream_names(job: str, count: int, created: float = START) -> list[str]:
    return [f"{job}/algo-{i}-{int(created)}" for i in range(1, count + 1)]


def pairs(events: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(event["timestamp"], event["message"]) for event in events]


async def read_forward(
    logs: Any, stream: str, token: str | None = None, group: str = TRAINING_GROUP
) -> tuple[list[dict[str, Any]], str | None]:
    """Follow nextForwardToken until it stops changing; the events and the last token."""
    events: list[dict[str, Any]] = []
    while True:
        where = {"nextToken": token} if token else {"startFromHead": True}
        page = await logs.get_log_events(logGroupName=group, logStreamName=stream, **where)
        assert len(page["events"]) <= PAGE
        events.extend(page["events"])
        if page["nextForwardToken"] == token:
            return events, token
        token = page["nextForwardToken"]


async def filter_all(logs: Any, token: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every page of FilterLogEvents from ``token`` (from the start without one)."""
    events: list[dict[str, Any]] = []
    while True:
        page = await logs.filter_log_events(**params, **({"nextToken": token} if token else {}))
        assert len(page["events"]) <= PAGE
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events


def error_code(error: ClientError) -> tuple[str, str]:
    return error.response["Error"]["Code"], error.response["Error"]["Message"]


async def test_streams_appear_and_forward_reading_returns_every_event_once(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_training_job(**req.training("fwd", instance_count=3))
    names = stream_names("fwd", 3)

    with pytest.raises(ClientError) as early:
        await logs.describe_log_streams(logGroupName=TRAINING_GROUP)
    assert error_code(early.value) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )

    clock.advance(0.5 * DURATION)  # mid-run: every host has written a few lines
    described = await logs.describe_log_streams(logGroupName=TRAINING_GROUP)
    assert [s["logStreamName"] for s in described["logStreams"]] == names
    assert all(
        s["arn"].endswith(f":log-stream:{s['logStreamName']}") for s in described["logStreams"]
    )

    tokens: dict[str, str | None] = {}
    read: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        read[name], tokens[name] = await read_forward(logs, name)
        assert 0 < len(read[name]) < LINES

    clock.advance(0.5 * DURATION + 0.01)  # just past the end: late events not yet ingested
    job = await sagemaker.describe_training_job(TrainingJobName="fwd")
    assert job["TrainingJobStatus"] == "Completed"
    for name in names:
        more, tokens[name] = await read_forward(logs, name, tokens[name])
        read[name].extend(more)
        assert len(read[name]) == LINES, "late events are not readable yet"

    clock.advance(LATE_DELAY)
    for name in names:
        more, tokens[name] = await read_forward(logs, name, tokens[name])
        read[name].extend(more)
        assert [m for _, m in pairs(more)] == [
            f"[host {name.split('/')[1][:6]}] flushing buffered output ({i}/2)" for i in (1, 2)
        ]
        assert all(e["ingestionTime"] - e["timestamp"] >= LATE_DELAY * 1000 for e in more)
        assert pairs(read[name]) == planned(emulator, name)
        assert len(planned(emulator, name)) == LINES + 2

    # A forward read at the end hands back the token it was given.
    token = tokens[names[0]]
    again = await logs.get_log_events(
        logGroupName=TRAINING_GROUP, logStreamName=names[0], nextToken=token
    )
    assert again["events"] == [] and again["nextForwardToken"] == token
    assert token is not None and token.startswith("f/") and len(token) == 58


async def test_tail_and_backward_tokens(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_training_job(**req.training("back", instance_count=2))
    clock.advance(DURATION + LATE_DELAY + 1)
    name = stream_names("back", 2)[1]
    expected = planned(emulator, name)
    assert len(expected) == LINES + 2

    tail = await logs.get_log_events(logGroupName=TRAINING_GROUP, logStreamName=name)
    assert pairs(tail["events"]) == expected[-PAGE:]
    assert tail["nextBackwardToken"].startswith("b/") and tail["nextForwardToken"].startswith("f/")

    pages = [tail["events"]]
    token = tail["nextBackwardToken"]
    while True:
        page = await logs.get_log_events(
            logGroupName=TRAINING_GROUP, logStreamName=name, nextToken=token
        )
        if page["nextBackwardToken"] == token:
            assert page["events"] == []
            break
        pages.append(page["events"])
        token = page["nextBackwardToken"]
    assert [pair for page in reversed(pages) for pair in pairs(page)] == expected

    # Forward from the head, then back from the tail with a small limit.
    head = await logs.get_log_events(
        logGroupName=TRAINING_GROUP, logStreamName=name, startFromHead=True, limit=3
    )
    assert pairs(head["events"]) == expected[:3]
    forward = await logs.get_log_events(
        logGroupName=TRAINING_GROUP, logStreamName=name, nextToken=head["nextForwardToken"], limit=3
    )
    assert pairs(forward["events"]) == expected[3:6]
    back = await logs.get_log_events(
        logGroupName=TRAINING_GROUP,
        logStreamName=name,
        nextToken=forward["nextBackwardToken"],
        limit=2,
    )
    assert pairs(back["events"]) == expected[1:3]


async def test_time_range_of_get_log_events(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_training_job(**req.training("range"))
    clock.advance(DURATION + LATE_DELAY + 1)
    name = stream_names("range", 1)[0]
    expected = planned(emulator, name)
    start, end = expected[2][0], expected[5][0]
    page = await logs.get_log_events(
        logGroupName=TRAINING_GROUP,
        logStreamName=name,
        startTime=start,
        endTime=end,
        startFromHead=True,
    )
    assert pairs(page["events"]) == [e for e in expected if start <= e[0] < end]


async def test_filter_interleaves_hosts_and_pages_without_gaps(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_training_job(**req.training("filt", instance_count=3))
    names = stream_names("filt", 3)
    clock.advance(DURATION + LATE_DELAY + 1)

    events = await filter_all(logs, logGroupName=TRAINING_GROUP, logStreamNamePrefix="filt/")
    expected = sorted(
        (timestamp, name, message)
        for name in names
        for timestamp, message in planned(emulator, name)
    )
    assert [(e["timestamp"], e["logStreamName"], e["message"]) for e in events] == expected
    assert len({e["eventId"] for e in events}) == len(events)
    assert all(len(e["eventId"]) == 56 for e in events)
    progress = [e["logStreamName"] for e in events if "epoch" in e["message"]]
    assert progress == names * LINES, "a merge by time alternates hosts"

    losses = await filter_all(
        logs, logGroupName=TRAINING_GROUP, logStreamNames=names[:2], filterPattern='"loss=" epoch'
    )
    assert len(losses) == 2 * LINES
    assert {e["logStreamName"] for e in losses} == set(names[:2])
    flushing = await filter_all(logs, logGroupName=TRAINING_GROUP, filterPattern="flushing -algo-3")
    assert len(flushing) == 4


async def test_filter_paging_survives_events_arriving_between_pages(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_training_job(**req.training("live", instance_count=3))
    names = stream_names("live", 3)
    clock.advance(0.6 * DURATION)
    await sagemaker.stop_training_job(TrainingJobName="live")
    clock.advance(0.05)  # the SIGTERM lines are in; the late lines come after Stopped + delay
    first = await logs.filter_log_events(logGroupName=TRAINING_GROUP, limit=PAGE)
    assert first.get("nextToken")
    clock.advance(1.0 + LATE_DELAY + 1)
    rest = await filter_all(logs, first["nextToken"], logGroupName=TRAINING_GROUP)

    seen = [(e["logStreamName"], e["timestamp"], e["message"]) for e in first["events"] + rest]
    everything = [(name, t, m) for name in names for t, m in planned(emulator, name)]
    assert len(seen) == len(set(seen)), "no event twice"
    assert sorted(seen) == sorted(everything), "no event dropped"
    late = [s for s in seen if "flushing" in s[2]]
    assert len(late) == 6 and seen[-6:] == sorted(late, key=lambda s: (s[1], s[0]))


async def test_stopped_job_logs_end_at_the_stop(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_training_job(**req.training("stopme", instance_count=2))
    clock.advance(0.5 * DURATION)
    stop_ms = int(clock.now * 1000)
    await sagemaker.stop_training_job(TrainingJobName="stopme")
    clock.advance(5.0)
    for name in stream_names("stopme", 2):
        events, _ = await read_forward(logs, name)
        assert pairs(events) == planned(emulator, name)
        assert all(e["timestamp"] <= stop_ms for e in events)
        messages = [e["message"] for e in events]
        assert messages[-3].endswith("Received SIGTERM, stopping")
        assert "flushing" in messages[-1]
        assert 0 < sum("epoch" in m for m in messages) < LINES


async def test_stop_before_the_first_line_still_creates_the_streams(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_training_job(**req.training("early-stop"))
    clock.advance(0.1)
    await sagemaker.stop_training_job(TrainingJobName="early-stop")
    clock.advance(0.5)
    name = stream_names("early-stop", 1)[0]
    events, _ = await read_forward(logs, name)
    assert [e["message"] for e in events] == ["[host algo-1] Received SIGTERM, stopping"]


async def test_failing_job_ends_with_its_failure_reason(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    reason = "AlgorithmError: ExecuteUserScriptError: exit code 1"
    request = req.training(
        "broken", instance_count=2, Tags=req.tags(**{"emulator:fail-reason": reason})
    )
    await sagemaker.create_training_job(**request)
    clock.advance(DURATION + LATE_DELAY + 1)
    job = await sagemaker.describe_training_job(TrainingJobName="broken")
    assert job["TrainingJobStatus"] == "Failed"
    for name in stream_names("broken", 2):
        last = await logs.get_log_events(logGroupName=TRAINING_GROUP, logStreamName=name, limit=1)
        assert reason in last["events"][0]["message"]
        assert pairs((await read_forward(logs, name))[0]) == planned(emulator, name)


async def test_missing_group_and_stream(sagemaker: Any, logs: Any, clock: ManualClock) -> None:
    await sagemaker.create_training_job(**req.training("first"))
    with pytest.raises(ClientError) as no_group:
        await logs.get_log_events(logGroupName=TRAINING_GROUP, logStreamName="first/algo-1-0")
    assert error_code(no_group.value) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )

    clock.advance(0.5 * DURATION)
    await sagemaker.create_training_job(**req.training("second"))  # its first line is later
    with pytest.raises(ClientError) as no_stream:
        await logs.get_log_events(
            logGroupName=TRAINING_GROUP, logStreamName=stream_names("second", 1, clock.now)[0]
        )
    assert error_code(no_stream.value) == (
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
    listed = await logs.describe_log_streams(logGroupName=TRAINING_GROUP)
    assert [s["logStreamName"] for s in listed["logStreams"]] == stream_names("first", 1)


async def test_describe_log_streams_orders_and_pages(
    sagemaker: Any, logs: Any, clock: ManualClock
) -> None:
    for job in ("alpha", "beta"):
        await sagemaker.create_training_job(**req.training(job, instance_count=3))
    clock.advance(DURATION)
    everything = sorted(stream_names("alpha", 3) + stream_names("beta", 3))

    async def pages(**params: Any) -> list[str]:
        names: list[str] = []
        token = None
        while True:
            page = await logs.describe_log_streams(
                logGroupName=TRAINING_GROUP,
                limit=2,
                **params,
                **({"nextToken": token} if token else {}),
            )
            names.extend(s["logStreamName"] for s in page["logStreams"])
            token = page.get("nextToken")
            if not token:
                return names

    assert await pages() == everything
    assert await pages(descending=True) == everything[::-1]
    assert await pages(logStreamNamePrefix="beta/") == stream_names("beta", 3)
    by_time = await pages(orderBy="LastEventTime", descending=True)
    assert sorted(by_time) == everything and len(by_time) == 6
    with pytest.raises(ClientError) as both:
        await logs.describe_log_streams(
            logGroupName=TRAINING_GROUP, orderBy="LastEventTime", logStreamNamePrefix="a"
        )
    assert error_code(both.value)[0] == "InvalidParameterException"

    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{TRAINING_GROUP}"
    by_arn = await logs.describe_log_streams(logGroupIdentifier=arn, logStreamNamePrefix="alpha/")
    assert len(by_arn["logStreams"]) == 3
    with pytest.raises(ClientError) as streams_both:
        await logs.filter_log_events(
            logGroupName=TRAINING_GROUP, logStreamNames=["x"], logStreamNamePrefix="x"
        )
    assert error_code(streams_both.value)[0] == "InvalidParameterException"


PROCESSING_GROUP = "/aws/sagemaker/ProcessingJobs"
TRANSFORM_GROUP = "/aws/sagemaker/TransformJobs"
LABELING_GROUP = "/aws/sagemaker/LabelingJobs"
WORKTEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team"
INSTANCE_STREAM = re.compile(rf"^batch/(i-[0-9a-f]{{17}})-{int(START)}$")
DATA_PLANE_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}):\[sagemaker logs\]: (.*)$")


async def stream_list(logs: Any, group: str, **params: Any) -> list[dict[str, Any]]:
    return (await logs.describe_log_streams(logGroupName=group, **params))["logStreams"]


async def create_every_kind(sagemaker: Any, **transform: Any) -> None:
    """A 2-instance processing job, a 2-instance transform job and two labeling jobs whose names
    share a prefix: each kind's streams, named as SageMaker names them."""
    await sagemaker.create_processing_job(**req.processing("prep", instance_count=2))
    await sagemaker.create_model(**req.model("m1"))
    await sagemaker.create_transform_job(
        **req.transform("batch", "m1", instance_count=2, MaxConcurrentTransforms=4, **transform)
    )
    for name in ("gt", "gt-10"):
        await sagemaker.create_labeling_job(**req.labeling(name, WORKTEAM))


def data_plane(message: str, timestamp: int) -> str:
    """The text of a data-log line, after checking its time is the event's, as AWS writes it."""
    found = DATA_PLANE_TIME.match(message)
    assert found, message
    moment = datetime.datetime.fromtimestamp(timestamp / 1000, datetime.UTC)
    assert found[1] == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp % 1000:03d}"
    return found[2]


async def test_stream_names_per_kind_as_aws_names_them(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await create_every_kind(sagemaker)
    clock.advance(DURATION + LATE_DELAY + 1)

    groups = await logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/")
    assert [g["logGroupName"] for g in groups["logGroups"]] == [
        LABELING_GROUP,
        PROCESSING_GROUP,
        TRANSFORM_GROUP,
    ]
    processing = [s["logStreamName"] for s in await stream_list(logs, PROCESSING_GROUP)]
    assert processing == stream_names("prep", 2)  # <job>/<hostname>-<epoch>, hostnames algo-<n>
    labeling = [s["logStreamName"] for s in await stream_list(logs, LABELING_GROUP)]
    assert labeling == ["gt", "gt-10"]  # <job>, no "/"

    transform = [s["logStreamName"] for s in await stream_list(logs, TRANSFORM_GROUP)]
    instances = [found[1] for name in transform if (found := INSTANCE_STREAM.match(name))]
    assert len(set(instances)) == 2
    expected = [
        f"batch/{i}-{int(START)}{suffix}" for i in instances for suffix in ("", "/data-log")
    ]
    assert sorted(transform) == sorted(expected)

    for group, names in (
        (PROCESSING_GROUP, processing),
        (LABELING_GROUP, labeling),
        (TRANSFORM_GROUP, transform),
    ):
        for name in names:
            events, _ = await read_forward(logs, name, group=group)
            assert pairs(events) == planned(emulator, name, group)
            if name.endswith("/data-log"):
                assert [data_plane(e["message"], e["timestamp"]) for e in events] == [
                    "MaxConcurrentTransforms=4, MaxPayloadInMB=6, BatchStrategy=MULTI_RECORD"
                ]
            else:
                assert "loss=" in events[0]["message"]
    # The tailer's prefix for a labeling job also lists its namesakes; its owner is "gt" alone.
    listed = await stream_list(logs, LABELING_GROUP, logStreamNamePrefix="gt")
    assert [s["logStreamName"] for s in listed] == ["gt", "gt-10"]


async def test_a_transform_data_log_starts_after_its_instance_and_says_what_failed(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    reason = "ClientError: 413"
    tags = req.tags(**{"emulator:fail-reason": reason})
    await sagemaker.create_model(**req.model("m1"))
    await sagemaker.create_transform_job(
        **req.transform("batch", "m1", BatchStrategy="SingleRecord", Tags=tags)
    )
    instance, data_log = emulator.emulator.logs.streams_of(
        emulator.emulator.jobs_of("transform")["batch"]
    )
    assert data_log == f"{instance}/data-log"
    instance_start = planned(emulator, instance, TRANSFORM_GROUP)[0][0]
    data_start = planned(emulator, data_log, TRANSFORM_GROUP)[0][0]
    assert instance_start < data_start

    clock.now = instance_start / 1000  # the container has written; the data plane not yet
    assert [s["logStreamName"] for s in await stream_list(logs, TRANSFORM_GROUP)] == [instance]
    clock.now = data_start / 1000
    assert [s["logStreamName"] for s in await stream_list(logs, TRANSFORM_GROUP)] == [
        instance,
        data_log,
    ]

    clock.advance(DURATION + LATE_DELAY + 1)
    assert (await sagemaker.describe_transform_job(TransformJobName="batch"))[
        "TransformJobStatus"
    ] == "Failed"
    events, _ = await read_forward(logs, data_log, group=TRANSFORM_GROUP)
    assert [data_plane(e["message"], e["timestamp"]) for e in events] == [
        "MaxConcurrentTransforms=1, MaxPayloadInMB=6, BatchStrategy=SINGLE_RECORD",
        f"bucket/batch: {reason}",  # the input object, as <bucket>/<key>
    ]
    instance_events, _ = await read_forward(logs, instance, group=TRANSFORM_GROUP)
    assert instance_events[-1]["message"].endswith(f"ERROR: {reason}")


async def test_a_transform_stopped_before_its_data_plane_starts_has_no_data_log(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_model(**req.model("m1"))
    await sagemaker.create_transform_job(**req.transform("batch", "m1"))
    job = emulator.emulator.jobs_of("transform")["batch"]
    instance, data_log = emulator.emulator.logs.streams_of(job)
    clock.now = planned(emulator, data_log, TRANSFORM_GROUP)[0][0] / 1000 - 0.01
    await sagemaker.stop_transform_job(TransformJobName="batch")
    assert emulator.emulator.logs.streams_of(job) == [instance]

    clock.advance(DURATION + LATE_DELAY + 1)
    assert [s["logStreamName"] for s in await stream_list(logs, TRANSFORM_GROUP)] == [instance]
    with pytest.raises(ClientError) as missing:
        await logs.get_log_events(logGroupName=TRANSFORM_GROUP, logStreamName=data_log)
    assert error_code(missing.value)[0] == "ResourceNotFoundException"
    events, _ = await read_forward(logs, instance, group=TRANSFORM_GROUP)
    assert "Received SIGTERM, stopping" in events[-3]["message"]


async def test_stream_names_through_plain_boto3(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    """boto3 (botocore without aiobotocore) reads the same names and lines."""
    await create_every_kind(sagemaker)
    clock.advance(DURATION + LATE_DELAY + 1)

    def read_with_boto3() -> dict[str, dict[str, list[str]]]:
        client = boto3.client("logs", region_name="us-east-1", endpoint_url=emulator.url)
        found: dict[str, dict[str, list[str]]] = {}
        for group, prefix in (
            (LABELING_GROUP, "gt"),
            (PROCESSING_GROUP, "prep/"),
            (TRANSFORM_GROUP, "batch/"),
        ):
            pages = client.get_paginator("describe_log_streams").paginate(
                logGroupName=group, logStreamNamePrefix=prefix
            )
            found[group] = {
                stream["logStreamName"]: [
                    event["message"]
                    for event in client.get_log_events(
                        logGroupName=group,
                        logStreamName=stream["logStreamName"],
                        startFromHead=True,
                    )["events"]
                ]
                for page in pages
                for stream in page["logStreams"]
            }
        return found

    found = await asyncio.to_thread(read_with_boto3)  # the emulator answers on this loop
    for group in (LABELING_GROUP, PROCESSING_GROUP, TRANSFORM_GROUP):
        names = [s["logStreamName"] for s in await stream_list(logs, group)]
        assert list(found[group]) == names
        for name, messages in found[group].items():
            assert messages == [message for _, message in planned(emulator, name, group)][:PAGE]
    assert list(found[LABELING_GROUP]) == ["gt", "gt-10"]
    assert sum(name.endswith("/data-log") for name in found[TRANSFORM_GROUP]) == 2


async def test_log_lines_tag(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await sagemaker.create_training_job(
        **req.training("short", Tags=req.tags(**{"emulator:log-lines": 3}))
    )
    clock.advance(DURATION + LATE_DELAY + 1)
    events, _ = await read_forward(logs, stream_names("short", 1)[0])
    assert sum("epoch" in e["message"] for e in events) == 3
    assert events[0]["message"].startswith("[host algo-1] epoch 1/3 ")

    with pytest.raises(ClientError) as bad:
        await sagemaker.create_training_job(
            **req.training("bad", Tags=req.tags(**{"emulator:log-lines": "-1"}))
        )
    code, message = error_code(bad.value)
    assert code == "ValidationException" and "emulator:log-lines" in message
    with pytest.raises(ClientError):
        await sagemaker.describe_training_job(TrainingJobName="bad")


BYTES_PAGE = EmulatorConfig(
    job_duration=DURATION,
    stop_duration=1.0,
    late_event_delay=LATE_DELAY,
    log_lines=LINES,
    log_page_size=1000,
    log_page_bytes=250,  # a few events a page: AWS's 1 MB, scaled down
    check_responses=True,
)


@pytest.mark.parametrize("emulator_config", [BYTES_PAGE], ids=["page-bytes"])
async def test_pages_are_cut_at_their_size_and_lose_nothing(
    sagemaker: Any, logs: Any, emulator: EmulatorServer, clock: ManualClock
) -> None:
    """A page holds as many events as fit in its size (AWS: 1 MB), at least one, and its
    tokens go on from where it was cut: forward, backward and filtered, every event once."""
    await sagemaker.create_training_job(**req.training("big", instance_count=2))
    names = stream_names("big", 2)
    clock.advance(DURATION + LATE_DELAY + 1)

    def size(events: list[dict[str, Any]]) -> int:
        return sum(len(e["message"].encode()) + 26 for e in events)

    forward: list[dict[str, Any]] = []
    sizes, token = [], None
    while True:
        where = {"nextToken": token} if token else {"startFromHead": True}
        page = await logs.get_log_events(
            logGroupName=TRAINING_GROUP, logStreamName=names[0], **where
        )
        sizes.append(len(page["events"]))
        assert size(page["events"]) <= 250 or len(page["events"]) == 1
        forward.extend(page["events"])
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert pairs(forward) == planned(emulator, names[0])
    assert max(sizes) < LINES and sum(1 for n in sizes if n) >= 3, sizes

    newest = await logs.get_log_events(logGroupName=TRAINING_GROUP, logStreamName=names[0])
    assert 0 < len(newest["events"]) < LINES
    assert pairs(newest["events"]) == planned(emulator, names[0])[-len(newest["events"]) :]

    filtered: list[dict[str, Any]] = []
    pages, token = 0, None
    while True:
        page = await logs.filter_log_events(
            logGroupName=TRAINING_GROUP,
            logStreamNames=names,
            **({"nextToken": token} if token else {}),
        )
        pages += 1
        assert size(page["events"]) <= 250 or len(page["events"]) == 1
        filtered.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    expected = sorted((t, n, m) for n in names for t, m in planned(emulator, n))
    assert [(e["timestamp"], e["logStreamName"], e["message"]) for e in filtered] == expected
    assert pages >= 6


REAL_TIME = EmulatorConfig(
    job_duration=0.5,
    stop_duration=0.1,
    late_event_delay=0.2,
    log_lines=6,
    log_page_size=PAGE,
    check_responses=True,
)


@pytest.mark.parametrize(("clock", "emulator_config"), [(time.time, REAL_TIME)], ids=["real-clock"])
async def test_tailing_a_job_on_the_real_clock(
    sagemaker: Any, logs: Any, emulator: EmulatorServer
) -> None:
    """A tailer's loop: wait for the group and streams, follow tokens, finish after the late lines."""
    await sagemaker.create_training_job(**req.training("tail", instance_count=2))
    names = stream_names("tail", 2, time.time())
    read: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    tokens: dict[str, str | None] = dict.fromkeys(names)
    missing = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            for name in names:
                more, tokens[name] = await read_forward(logs, name, tokens[name])
                read[name].extend(more)
        except ClientError as error:
            assert error_code(error)[0] == "ResourceNotFoundException"
            missing += 1
        if all(len(read[n]) == len(planned(emulator, n)) for n in names):
            break
        await asyncio.sleep(0.02)
    assert missing > 0, "the group and streams appear a while after the job starts"
    for name in names:
        assert pairs(read[name]) == planned(emulator, name)
