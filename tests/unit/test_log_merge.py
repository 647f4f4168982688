"""The tail's bookkeeping under random interleavings: every event once, each stream in order.

The readers run here against ``FakeLogs``, a model of CloudWatch Logs in memory: streams
whose timestamps repeat, events that become readable (are ingested) up to a lag after their
timestamp and in bursts, forward tokens that sometimes expire, pages of random sizes.
"""

from __future__ import annotations

import asyncio
import bisect
import io
import random
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.config import LogPolicy
from runner.errors import AwsCallFailed
from runner.joblogs import (
    EventSink,
    FileSink,
    LogLine,
    LogSummary,
    MemorySink,
    TextSink,
    instance_count,
)
from runner.joblogs.merge import HostMerger, Position, Resume, SeenEvents, host_label
from runner.joblogs.tailer import BatchReader, StreamReader, _JobTail
from runner.kinds import TRAINING
from runner.session import AwsCaller

GROUP = "/aws/sagemaker/TrainingJobs"
MAX_LAG_MS = 50


@dataclass
class FakeStream:
    name: str
    timestamps: list[int]  # never decreasing, often repeated
    ingested: list[int]  # never decreasing, at most MAX_LAG_MS after the timestamp

    def readable(self, now: int) -> int:
        return bisect.bisect_right(self.ingested, now)

    def event(self, position: int) -> dict[str, Any]:
        return {
            "timestamp": self.timestamps[position],
            "ingestionTime": self.ingested[position],
            "message": f"{self.name}#{position}",
            "eventId": f"{self.name}#{position}",
            "logStreamName": self.name,
        }


class FakeLogs:
    """GetLogEvents and FilterLogEvents over ``streams`` at the instant ``now``."""

    def __init__(self, streams: list[FakeStream], rng: random.Random, page: int) -> None:
        self.streams = {stream.name: stream for stream in streams}
        self.rng = rng
        self.page = page
        self.now = 0
        self.serial = 0
        self.snapshots: dict[str, list[dict[str, Any]]] = {}

    pages = AwsCaller.pages  # the real paging helper, over this fake's calls

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        if operation == "GetLogEvents":
            return self.get(params)
        assert operation == "FilterLogEvents"
        return self.filter(params)

    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        """Tokens are "<position>:<serial>": a page may come back empty before the end of the
        stream (with a new token), and only at the end is the token sent handed back."""
        stream = self.streams[params["logStreamName"]]
        last = stream.readable(self.now)
        token = params.get("nextToken")
        if token:
            if self.rng.random() < 0.15:
                raise AwsCallFailed(
                    "GetLogEvents",
                    "InvalidParameterException",
                    "The specified nextToken is invalid.",
                )
            begin = int(token.partition(":")[0])
        elif "startTime" in params:
            begin = bisect.bisect_left(stream.timestamps, params["startTime"])
        else:
            begin = 0
        begin = min(begin, last)
        end = min(begin + self.rng.randint(0, self.page), last)
        self.serial += 1
        following = token if token and begin == end == last else f"{end}:{self.serial}"
        return {
            "events": [stream.event(i) for i in range(begin, end)],
            "nextForwardToken": following,
        }

    def filter(self, params: dict[str, Any]) -> dict[str, Any]:
        token = params.get("nextToken")
        if token is None:
            start = params.get("startTime", -1)
            matching = [
                stream.event(i)
                for name in params["logStreamNames"]
                for stream in [self.streams[name]]
                for i in range(stream.readable(self.now))
                if stream.timestamps[i] >= start
            ]
            matching.sort(key=lambda event: (event["timestamp"], event["logStreamName"]))
            token = f"q{len(self.snapshots)}:0"
            self.snapshots[token.split(":")[0]] = matching
        query, _, offset = token.partition(":")
        matching = self.snapshots[query]
        begin = int(offset)
        end = min(begin + self.rng.randint(1, self.page), len(matching))
        answer: dict[str, Any] = {"events": matching[begin:end]}
        if end < len(matching):
            answer["nextToken"] = f"{query}:{end}"
        return answer


@st.composite
def streams(draw: st.DrawFn) -> list[FakeStream]:
    made = []
    for index in range(1, draw(st.integers(1, 4)) + 1):
        timestamps: list[int] = []
        ingested: list[int] = []
        time = draw(st.integers(1_000, 1_100))
        for _ in range(draw(st.integers(0, 25))):
            time += draw(st.sampled_from([0, 0, 1, 2, 7]))  # many events share a millisecond
            lag = draw(st.sampled_from([0, 3, 10, MAX_LAG_MS]))  # some arrive late
            timestamps.append(time)
            ingested.append(max(ingested[-1] if ingested else 0, time + lag))
        made.append(FakeStream(f"job/algo-{index}-1700000000", timestamps, ingested))
    return made


def follow_with(
    reader_class: type[StreamReader] | type[BatchReader],
    made: list[FakeStream],
    steps: list[int],
    seed: int,
    page: int,
    **reads: float,
) -> dict[str, list[str]]:
    """Rounds of ``reader_class`` as the clock moves by ``steps``; the messages delivered.
    ``reads``: the batched reads' windows (``LogPolicy.fresh_window``, ``late_interval``)."""

    async def run() -> dict[str, list[str]]:
        fake = FakeLogs(made, random.Random(seed), page)
        policy = LogPolicy(merge_hold=3600.0, late_window=MAX_LAG_MS / 1000, **reads)
        sink = MemorySink()
        job = _JobTail(TRAINING, "job", len(made), sink, policy)
        for stream in made:
            job.found(
                {"logStreamName": stream.name, "creationTime": stream.timestamps[0]}
                if stream.timestamps
                else {"logStreamName": stream.name}
            )
        reader = reader_class(fake, policy, GROUP)  # type: ignore[arg-type]
        fake.now = 1_000
        for step in steps:
            fake.now += step
            await reader._read([job])
        job.ended_at = 0.0  # the job has ended: the drain reads every stream every round
        for step in (10_000, 0, 0):
            fake.now += step
            await reader._read([job])
        job.publish(0.0, everything=True)
        delivered: dict[str, list[str]] = {stream.name: [] for stream in made}
        for line in sink.lines.get("job", []):
            delivered[line.stream].append(line.message)
        return delivered

    return asyncio.run(run())


def expected(made: list[FakeStream]) -> dict[str, list[str]]:
    return {s.name: [f"{s.name}#{i}" for i in range(len(s.timestamps))] for s in made}


# Streams, the clock's steps between rounds, a seed for the fake's pages, a page size.
rounds_over_streams = given(
    streams(),
    st.lists(st.integers(0, 40), max_size=30),
    st.integers(0, 2**32),
    st.integers(1, 6),
)


@settings(max_examples=150, deadline=None)
@rounds_over_streams
def test_stream_reader_delivers_every_event_once_through_lost_tokens(
    made: list[FakeStream], steps: list[int], seed: int, page: int
) -> None:
    assert follow_with(StreamReader, made, steps, seed, page) == expected(made)


# The default reads; then ordinary rounds reaching back less than events' lag, so that late
# events come through the late rounds: every round one (0), or only the first and the drain's
# (an hour apart).
@pytest.mark.parametrize(
    "reads",
    [
        {},
        {"fresh_window": 0.003, "late_interval": 0.0},
        {"fresh_window": 0.003, "late_interval": 3600.0},
    ],
    ids=["default", "short-fresh-every-round-late", "short-fresh-drain-late"],
)
@settings(max_examples=150, deadline=None)
@rounds_over_streams
def test_batch_reader_delivers_every_event_once_despite_rereads(
    reads: dict[str, float], made: list[FakeStream], steps: list[int], seed: int, page: int
) -> None:
    """Every event once. Not in the stream's order: lines go out as soon as every host has
    been read past them, and an event ingested later than that (a late one) comes after."""
    delivered = follow_with(BatchReader, made, steps, seed, page, **reads)
    assert {name: sorted(lines) for name, lines in delivered.items()} == {
        name: sorted(lines) for name, lines in expected(made).items()
    }


# --- the pieces on their own ------------------------------------------------------------------


@given(st.lists(st.integers(0, 5), max_size=40), st.data())
def test_a_position_resumes_exactly_where_delivery_stopped(
    deltas: list[int], data: st.DataObject
) -> None:
    timestamps = [sum(deltas[: i + 1]) for i in range(len(deltas))]
    events = [{"timestamp": t, "n": i} for i, t in enumerate(timestamps)]
    delivered: list[Any] = []
    position = Position()
    while len(delivered) < len(events):
        # Deliver some more by token, then lose the token and re-read from the position.
        more = data.draw(st.integers(0, len(events) - len(delivered)))
        chunk = events[len(delivered) : len(delivered) + more]
        delivered.extend(chunk)
        position = position.after([e["timestamp"] for e in chunk])
        reread = [e for e in events if e["timestamp"] >= position.timestamp]
        split = data.draw(st.integers(0, len(reread)))
        resume = Resume(position)
        fresh = resume.unseen(reread[:split]) + resume.unseen(reread[split:])
        assert fresh == events[len(delivered) :]
        if fresh:
            delivered.append(fresh[0])
            position = position.after([fresh[0]["timestamp"]])
    assert delivered == events


def test_seen_events_forget_only_what_cannot_come_back() -> None:
    seen = SeenEvents()
    assert seen.first_time({"eventId": "a", "timestamp": 5})
    assert seen.first_time({"eventId": "b", "timestamp": 9})
    assert not seen.first_time({"eventId": "a", "timestamp": 5})
    seen.forget_before(6)
    assert len(seen) == 1
    assert not seen.first_time({"eventId": "b", "timestamp": 9})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 30)), max_size=80),
    st.lists(st.integers(0, 25), max_size=4),
)
def test_seen_events_tell_every_id_apart_in_any_order(
    reads: list[tuple[int, int]], floors: list[int]
) -> None:
    """Events at equal timestamps, late ones, repeats: each id is new once, as a set of ids
    (the model) says, until it is forgotten below a floor."""
    seen, model = SeenEvents(), {}
    floor_at = {index * 20: floor for index, floor in enumerate(sorted(floors))}
    for index, (timestamp, number) in enumerate(reads):
        if index in floor_at:
            seen.forget_before(floor_at[index])
            model = {k: t for k, t in model.items() if t >= floor_at[index]}
        event_id = f"{number:056d}"
        expected = event_id not in model
        model.setdefault(event_id, timestamp)
        assert seen.first_time({"eventId": event_id, "timestamp": model[event_id]}) is expected
    assert len(seen) == len(model)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 30)), max_size=12), max_size=8),
    st.one_of(st.none(), st.integers(0, 12)),
)
def test_seen_events_in_batches_tell_every_id_apart(
    pages: list[list[tuple[int, int]]], floor: int | None
) -> None:
    """A page's events of one stream taken at once: each id is new once, in the page's order,
    as a set of ids (the model) says; those below the floor are left out, not remembered."""
    seen, model = SeenEvents(), set()
    for page in pages:
        events = [{"eventId": f"{number:056d}", "timestamp": t} for t, number in page]
        expected = []
        for event in events:
            key = (event["timestamp"], event["eventId"])
            if (floor is None or event["timestamp"] >= floor) and key not in model:
                model.add(key)
                expected.append(event)
        assert seen.first_seen(events, floor) == expected
    assert len(seen) == len(model)


def line(stream: int, timestamp: int, number: int) -> LogLine:
    host = f"algo-{stream}"
    return LogLine("job", f"job/{host}-1", host, timestamp, f"{host}#{number}", True)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(1, 4), st.booleans())
def test_the_merger_keeps_each_stream_in_order_and_sorts_hosts(
    data: st.DataObject, hosts: int, holding_forever: bool
) -> None:
    per_stream = {
        stream: sorted(data.draw(st.lists(st.integers(0, 30), max_size=12)))
        for stream in range(1, hosts + 1)
    }
    lines = {s: [line(s, t, n) for n, t in enumerate(ts)] for s, ts in per_stream.items()}
    merger = HostMerger(hold=float("inf") if holding_forever else 2.0, expected_streams=hosts)
    cursor = dict.fromkeys(lines, 0)
    now = 0.0
    out: list[LogLine] = []
    while any(cursor[s] < len(lines[s]) for s in lines):
        stream = data.draw(st.sampled_from([s for s in lines if cursor[s] < len(lines[s])]))
        count = data.draw(st.integers(1, len(lines[stream]) - cursor[stream]))
        merger.add(
            f"job/algo-{stream}-1", lines[stream][cursor[stream] : cursor[stream] + count], now
        )
        cursor[stream] += count
        now += data.draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
        out.extend(merger.release(now))
    out.extend(merger.release_all())

    assert sorted(out, key=lambda x: x.message) == sorted(
        (x for ls in lines.values() for x in ls), key=lambda x: x.message
    )
    for stream, expected_lines in lines.items():
        assert [x for x in out if x.host == f"algo-{stream}"] == expected_lines
    if holding_forever:
        # Nothing let out early: across hosts too, the order is the timestamps'.
        assert [x.timestamp for x in out] == sorted(x.timestamp for x in out)


class HeapOnlyMerger(HostMerger):
    """The merger without its lone-stream shortcut: every line through the heap."""

    def _alone(self) -> bool:
        return False


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(1, 2), st.integers(1, 2))
def test_a_lone_stream_comes_out_as_through_the_heap(
    data: st.DataObject, expected: int, streams: int
) -> None:
    """The shortcut for jobs with one host changes nothing: the same lines at the same
    releases, in the same order, late (out of order) lines and a second stream included."""
    merger, reference = HostMerger(2.0, expected), HeapOnlyMerger(2.0, expected)
    now, number = 0.0, 0
    for _ in range(data.draw(st.integers(1, 12))):
        stream = data.draw(st.integers(1, streams))
        timestamps = data.draw(st.lists(st.integers(0, 40), max_size=5))
        batch = [line(stream, t, number + n) for n, t in enumerate(timestamps)]
        number += len(batch)
        for each in (merger, reference):
            each.add(f"job/algo-{stream}-1", batch, now)
        if data.draw(st.booleans()):
            now += data.draw(st.sampled_from([0.0, 1.0, 3.0]))
            assert merger.release(now) == reference.release(now)
        assert len(merger) == len(reference)
    assert merger.release_all() == reference.release_all()


def test_the_merger_lets_a_line_out_once_every_host_is_past_it() -> None:
    merger = HostMerger(hold=10.0, expected_streams=2)
    merger.add("a", [line(1, 5, 0), line(1, 9, 1)], now=0.0)
    assert merger.release(0.0) == []  # host 2 not read yet
    merger.add("b", [line(2, 7, 0)], now=0.0)
    assert [x.message for x in merger.release(0.0)] == ["algo-1#0", "algo-2#0"]
    assert merger.release(9.9) == []  # held, not yet for long enough
    assert [x.message for x in merger.release(10.0)] == ["algo-1#1"]  # held long enough


def test_a_data_log_stream_is_merged_in_without_holding_the_instances_back() -> None:
    instance = "job/i-0abc-1700000000"
    data_log = f"{instance}/data-log"

    def at(stream: str, timestamp: int, text: str) -> LogLine:
        return LogLine("job", stream, host_label("job", stream), timestamp, text, True)

    merger = HostMerger(hold=10.0, expected_streams=1)  # one instance
    merger.add_stream(instance)
    merger.add_stream(data_log, paces=False)
    assert merger.release(0.0) == []  # the instance's stream not read yet
    merger.add(data_log, [at(data_log, 2, "parameters")], now=0.0)
    merger.add(instance, [at(instance, 1, "start"), at(instance, 5, "batch 1")], now=0.0)
    released = merger.release(0.0)  # not held for the quiet data-log
    assert [(x.host, x.message) for x in released] == [
        ("i-0abc", "start"),
        ("i-0abc/data-log", "parameters"),
        ("i-0abc", "batch 1"),
    ]
    paced = HostMerger(hold=10.0, expected_streams=1)
    paced.add(data_log, [at(data_log, 2, "parameters")], now=0.0)
    paced.add(instance, [at(instance, 1, "start"), at(instance, 5, "batch 1")], now=0.0)
    assert [x.message for x in paced.release(0.0)] == ["start", "parameters"]  # held for it


def test_host_labels_and_instance_counts() -> None:
    assert host_label("job", "job/algo-2-1700000000") == "algo-2"
    assert host_label("job", "job/algo-12-1700000000") == "algo-12"  # processing's hostnames
    instance = "i-0123456789abcdef0"
    assert host_label("job", f"job/{instance}-1700000000") == instance  # a transform's
    assert host_label("job", f"job/{instance}-1700000000/data-log") == f"{instance}/data-log"
    assert host_label("job", "job/i-0abc/data-log") == "i-0abc/data-log"
    assert host_label("job", "job") == "job"  # a labeling job's one stream
    assert host_label("job-1", "job-1/algo-1-1700000000") == "algo-1"
    training = {"ResourceConfig": {"InstanceCount": 4}}
    assert instance_count("training", training) == 4
    groups = {"ResourceConfig": {"InstanceGroups": [{"InstanceCount": 2}, {"InstanceCount": 3}]}}
    assert instance_count("training", groups) == 5
    processing = {"ProcessingResources": {"ClusterConfig": {"InstanceCount": 2}}}
    assert instance_count("processing", processing) == 2
    assert instance_count("transform", {"TransformResources": {"InstanceCount": 3}}) == 3
    assert instance_count("labeling", {}) is None
    assert instance_count("training", {}) is None


def test_sinks_put_lines_where_entry_points_want_them(tmp_path: Any) -> None:
    lines = [line(1, 5, 0), line(2, 6, 0)]
    other = LogLine("other", "other/algo-1-1", "algo-1", 7, "alone\n")
    summary = LogSummary(job="quiet", kind="training", streams=0, lines=0, drained=True)

    out = io.StringIO()
    TextSink(out).write([*lines, other])
    assert out.getvalue() == "[algo-1] algo-1#0\n[algo-2] algo-2#0\nalone\n"
    shown = io.StringIO()
    TextSink(shown, show_job=True).write([other])
    assert shown.getvalue() == "[other] alone\n"

    files = FileSink(tmp_path / "logs")
    files.write([*lines, other])
    files.write([line(1, 8, 1)])
    files.finish(summary)
    assert (tmp_path / "logs" / "job.log").read_text() == (
        "[algo-1] algo-1#0\n[algo-2] algo-2#0\n[algo-1] algo-1#1\n"
    )
    assert (tmp_path / "logs" / "other.log").read_text() == "alone\n"
    assert (tmp_path / "logs" / "quiet.log").read_text() == ""

    with structlog.testing.capture_logs() as events:
        EventSink().write([other])
    assert events[0]["event"] == "logs.line" and events[0]["message"] == "alone"
