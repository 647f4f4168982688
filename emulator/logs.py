"""CloudWatch Logs for the emulator's jobs: planned when a job is created, revealed by the clock.

Clients follow SageMaker jobs through their logs, and what makes that hard against AWS is
timing, not content: a job's log group and streams do not exist for a while after it starts,
an event is readable only some time after it was written (its ingestion time), a few events
arrive after the job has already ended, and pages must neither drop nor repeat an event that
became readable between two calls. This module reproduces exactly those behaviours, so that
a tailer that works here works on AWS.

As with job schedules (``lifecycle``), nothing runs in the background. When a job is
created, every event it will write is planned: one stream per instance, each a list of
timestamps and ingestion times in milliseconds, both non-decreasing. A request at instant
``now`` sees, of each stream, the prefix whose ingestion time has come, found by bisection.
A Stop call cuts the plan at the stop and appends the shutdown lines. Progress lines are not
stored as text but derived from their position, which keeps ten thousand jobs cheap.

Tokens:

``GetLogEvents``
    ``f/<position>`` and ``b/<position>``: a position in the stream, written with 56 digits
    like AWS's tokens. Visibility only grows at the end of a stream, so a position never
    goes stale.
``FilterLogEvents``
    Events are returned window by window of ingestion time: first everything readable at the
    first call, in (timestamp, stream, position) order, then whatever became readable since,
    in the same order. The token holds the window and the last event returned, so every event
    belongs to exactly one window and is returned exactly once.
``DescribeLogStreams``, ``DescribeLogGroups``
    The sort key of the last item returned.

Stream names, per kind, as AWS names them (the SageMaker developer guide's table of log groups
and streams, https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html):

training, ``/aws/sagemaker/TrainingJobs``
    ``<job>/algo-<n>-<epoch>``, one per instance (a tuning job's training jobs alike).
processing, ``/aws/sagemaker/ProcessingJobs``
    ``<job>/<hostname>-<epoch>``; processing containers' hostnames are ``algo-<n>``
    (``/opt/ml/config/resourceconfig.json``, the guide's "Build your own processing container").
transform, ``/aws/sagemaker/TransformJobs``
    ``<job>/<instance-id>-<epoch>`` per instance, an EC2-style id (``i-`` and 17 hex digits,
    fixed per job and instance), and beside it ``<job>/<instance-id>-<epoch>/data-log``: what
    the transform data plane writes, not the container. Its lines are those of field reports:
    ``<ISO time>:[sagemaker logs]: MaxConcurrentTransforms=4, MaxPayloadInMB=6,
    BatchStrategy=MULTI_RECORD`` once the data plane starts, and ``<bucket>/<key>: <error>``
    for an input object that failed (here: a failed job's reason, for its input's S3 URI).
labeling, ``/aws/sagemaker/LabelingJobs``
    ``<job>``: one stream, no ``/``.

``<epoch>`` is the job's creation time in whole seconds. The SageMaker Python SDK (v2
``sagemaker/session.py``: ``logs_for_job``, ``logs_for_processing_job``,
``logs_for_transform_job``) lists ``<job>/`` in ``/aws/sagemaker/<Kind>Jobs`` and reads every
stream it finds, data-log included. Endpoints' ``/aws/sagemaker/Endpoints/<name>`` group
(``<variant>/<instance-id>`` streams) is not emulated: hosting writes no logs here.
"""

from __future__ import annotations

import base64
import bisect
import collections
import datetime
import hashlib
import heapq
import itertools
import json
import re
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator import errors
from emulator.state import Emulator, Params, Response, operation

if TYPE_CHECKING:
    from emulator.jobs import Job

LOG_LINES_TAG = "emulator:log-lines"
LATE_EVENTS_PER_HOST = 2
STEPS_PER_LINE = 50  # the "step" a progress line reports grows by this much per line
TOKEN_DIGITS = 56  # AWS's GetLogEvents tokens are "f/" or "b/" and 56 digits
NEVER = 2**62  # a creation time no clock reaches
DESCRIBE_LIMIT = 50  # DescribeLogStreams and DescribeLogGroups: default and largest page
PROGRESS_WORD = {"training": "epoch"}  # what a progress line counts; "batch" otherwise
ONE_STREAM_KINDS = frozenset({"labeling"})  # one stream named as the job
INSTANCE_ID_KINDS = frozenset({"transform"})  # streams named by EC2 instance id, not algo-<n>
DATA_LOG_KINDS = frozenset({"transform"})  # a data-log stream beside each instance's
DATA_LOG_SUFFIX = "/data-log"
DATA_PLANE = "[sagemaker logs]"

GROUP_NOT_FOUND = "The specified log group does not exist."
STREAM_NOT_FOUND = "The specified log stream does not exist."
BAD_TOKEN = "The specified nextToken is invalid."


def to_ms(seconds: float) -> int:
    """Epoch seconds as the Logs API's integer epoch milliseconds."""
    return int(seconds * 1000)


def ingestion_lag_ms(serial: int) -> int:
    """How long after its timestamp a stream's ordinary event is ingested: 15 to 30 ms, varying
    from stream to stream so that ingestion order is not timestamp order across streams."""
    return 15 + (serial * 7) % 16


def evenly_spaced(first: int, step: int, count: int) -> array[int]:
    if step:
        return array("q", range(first, first + count * step, step))
    return array("q", [first]) * count


def invalid_parameter(message: str) -> errors.AwsError:
    return errors.AwsError("InvalidParameterException", message)


def log_lines(emulator: Emulator, tags: dict[str, str]) -> int:
    """Progress lines per host a job writes: the ``emulator:log-lines`` tag, or the config's."""
    if LOG_LINES_TAG not in tags:
        return emulator.config.log_lines
    text = tags[LOG_LINES_TAG]
    try:
        lines = int(text)
    except ValueError:
        lines = -1
    if lines < 0:
        raise errors.validation_error(
            f"Tag {LOG_LINES_TAG} must be a non-negative whole number of lines, got {text!r}"
        )
    return lines


@dataclass(eq=False, slots=True)
class Stream:
    """One instance's log stream: planned events, of which a prefix is readable at any moment.

    The first ``progress_lines`` events are numbered progress lines whose text follows from
    their position; the text of the events after them (shutdown, late and error lines) is
    kept in ``tail``.
    """

    group: str
    group_arn: str
    name: str
    serial: int  # unique in the emulator; part of every event's eventId
    host_index: int  # the instance's number, from 1
    host: str  # what names the instance: "algo-2", "i-0123456789abcdef0"
    word: str  # "epoch" or "batch"
    planned_lines: int  # progress lines planned at creation: the N of "epoch k/N"
    timestamps: array[int]  # epoch ms, never decreasing
    ingested: array[int]  # epoch ms, never decreasing
    progress_lines: int
    tail: list[str] = field(default_factory=list)
    data_log: bool = False  # a transform data plane's stream: no progress, shutdown or late lines

    @property
    def created_ms(self) -> int:
        """The stream exists from its first event's timestamp."""
        return self.timestamps[0]

    def readable(self, now_ms: int) -> int:
        """How many events (a prefix) have been ingested by ``now_ms``."""
        return bisect.bisect_right(self.ingested, now_ms)

    @property
    def arn(self) -> str:
        return f"{self.group_arn}:log-stream:{self.name}"

    def add(self, timestamp: int, ingested: int, message: str) -> None:
        """Append an event after the progress lines (ingested no earlier than those before it)."""
        last_ingested = self.ingested[-1] if self.ingested else 0
        self.timestamps.append(timestamp)
        self.ingested.append(max(ingested, last_ingested, timestamp))
        self.tail.append(message)

    def truncate(self, count: int) -> None:
        """Keep only the first ``count`` events."""
        del self.timestamps[count:]
        del self.ingested[count:]
        if count <= self.progress_lines:
            self.progress_lines = count
            self.tail.clear()
        else:
            del self.tail[count - self.progress_lines :]

    def message(self, position: int) -> str:
        if position >= self.progress_lines:
            return self.tail[position - self.progress_lines]
        number = position + 1
        jitter = ((number * 7919 + self.host_index * 104729) % 1000) / 20000
        loss = 2.5 * 0.85**position + jitter
        return (
            f"[host {self.host}] {self.word} {number}/{self.planned_lines} "
            f"step {number * STEPS_PER_LINE} loss={loss:.4f}"
        )

    def event_id(self, position: int) -> str:
        return f"{self.timestamps[position]:019d}{self.serial:012d}{position:025d}"


@dataclass(eq=False)
class Group:
    """A log group: it exists from its earliest stream's creation."""

    name: str
    arn: str
    created_ms: int
    streams: dict[str, Stream] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # stream names, sorted

    def add(self, stream: Stream) -> None:
        self.streams[stream.name] = stream
        bisect.insort(self.names, stream.name)
        self.created_ms = min(self.created_ms, stream.created_ms)

    def names_from(self, prefix: str | None) -> list[str]:
        """Stream names starting with ``prefix`` (all without one), sorted."""
        if not prefix:
            return self.names
        start = bisect.bisect_left(self.names, prefix)
        stop = bisect.bisect_left(self.names, prefix + "\U0010ffff")
        return self.names[start:stop]


class LogStore:
    """Every log group and stream of the emulated account."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.groups: dict[str, Group] = {}
        self.group_names: list[str] = []  # sorted
        self.job_streams: dict[str, list[Stream]] = {}  # job ARN -> its streams
        self._serials = itertools.count(1)
        # Events answered, per read operation: what a benchmark divides by the lines its
        # client delivered, to see how often each line was read.
        self.events_served: collections.Counter[str] = collections.Counter()

    # --- hooks jobs.py calls ---------------------------------------------------------------

    def job_created(self, job: Job) -> None:
        """Plan every event ``job`` writes over its life."""
        group_name = job.kind.log_group
        if group_name is None:
            return
        lines = log_lines(self.emulator, job.tags)  # new_job checked the tag already
        if lines == 0:
            return
        hosts = max(job.instance()[1], 1)
        first, last = job.log_window()
        first_ms = to_ms(first)
        slot_ms = int((last - first) * 1000 / (lines * hosts + 1))
        end_ms = to_ms(last)
        late_ms = to_ms(last + self.emulator.config.late_event_delay)
        group = self._group(group_name)
        streams = []
        for index in range(1, hosts + 1):
            # Host i writes in slot i of every round, so a merge by time alternates hosts.
            stream = self._new_stream(
                job,
                group,
                index,
                lines,
                first_ms=first_ms + index * slot_ms,
                step_ms=hosts * slot_ms,
            )
            self._add_late_lines(stream, end_ms, late_ms)
            if job.failure_reason:
                stream.add(end_ms, late_ms, f"[host {stream.host}] ERROR: {job.failure_reason}")
            streams.append(stream)
            if job.kind.key in DATA_LOG_KINDS:
                # The data plane starts once the container answers: half a slot after its first line.
                streams.append(self._data_log(job, stream, stream.timestamps[0] + slot_ms // 2))
        for stream in streams:
            group.add(stream)
        self.job_streams[job.arn] = streams

    def job_stopped(self, job: Job, at: float) -> None:
        """Drop what ``job`` would have written after ``at``; write the shutdown lines."""
        streams = self.job_streams.get(job.arn)
        if not streams:
            return
        at_ms = to_ms(at)
        late_ms = to_ms(job.schedule.planned_end() + self.emulator.config.late_event_delay)
        for stream in list(streams):
            kept = bisect.bisect_right(stream.timestamps, at_ms)
            if stream.data_log:
                stream.truncate(kept)
                if not kept:  # stopped before the data plane wrote: the stream never existed
                    self._forget(job, stream)
                continue
            stream.truncate(min(kept, stream.progress_lines))
            stream.add(
                at_ms,
                at_ms + ingestion_lag_ms(stream.serial),
                f"[host {stream.host}] Received SIGTERM, stopping",
            )
            self._add_late_lines(stream, at_ms, late_ms)
            # Stopping before the first planned line moves the stream's creation earlier.
            group = self.groups[stream.group]
            group.created_ms = min(group.created_ms, stream.created_ms)

    def job_dropped(self, job: Job) -> None:
        """Forget ``job``'s streams: it was never launched (a tuning job stopped before it)."""
        for stream in list(self.job_streams.get(job.arn, [])):
            self._forget(job, stream)
        self.job_streams.pop(job.arn, None)

    def _forget(self, job: Job, stream: Stream) -> None:
        self.job_streams[job.arn].remove(stream)
        group = self.groups[stream.group]
        del group.streams[stream.name]
        group.names.remove(stream.name)
        group.created_ms = min((kept.created_ms for kept in group.streams.values()), default=NEVER)

    # --- for tests -------------------------------------------------------------------------

    def events(self, group: str, stream: str) -> list[tuple[int, str]]:
        """Every planned (timestamp ms, message) of a stream, readable yet or not."""
        found = self.groups[group].streams[stream]
        return [(found.timestamps[i], found.message(i)) for i in range(len(found.timestamps))]

    def streams_of(self, job: Job) -> list[str]:
        """The names of ``job``'s streams, by instance."""
        return [stream.name for stream in self.job_streams.get(job.arn, [])]

    # --- lookups the handlers share --------------------------------------------------------

    def find_group(self, params: Params, now_ms: int) -> Group:
        """The group named by ``logGroupName`` or ``logGroupIdentifier`` (a name or an ARN)."""
        name, identifier = params.get("logGroupName"), params.get("logGroupIdentifier")
        if name and identifier:
            raise invalid_parameter(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters."
            )
        if identifier:
            name = group_name_of(identifier)
        if not name:
            raise invalid_parameter("Either logGroupName or logGroupIdentifier must be specified.")
        group = self.groups.get(name)
        if group is None or group.created_ms > now_ms:
            raise errors.logs_not_found(GROUP_NOT_FOUND)
        return group

    # --- planning --------------------------------------------------------------------------

    def _new_stream(
        self, job: Job, group: Group, index: int, lines: int, *, first_ms: int, step_ms: int
    ) -> Stream:
        """Host ``index``'s stream with its ``lines`` progress lines, ``step_ms`` apart from
        ``first_ms``, each ingested the stream's lag after it. The arrays are built in C:
        ten thousand jobs stay cheap to create."""
        serial = next(self._serials)
        host = instance_id(job, index) if job.kind.key in INSTANCE_ID_KINDS else f"algo-{index}"
        return Stream(
            group=group.name,
            group_arn=group.arn,
            name=stream_name(job, host),
            serial=serial,
            host_index=index,
            host=host,
            word=PROGRESS_WORD.get(job.kind.key, "batch"),
            planned_lines=lines,
            timestamps=evenly_spaced(first_ms, step_ms, lines),
            ingested=evenly_spaced(first_ms + ingestion_lag_ms(serial), step_ms, lines),
            progress_lines=lines,
        )

    def _data_log(self, job: Job, instance: Stream, start_ms: int) -> Stream:
        """The data plane's stream beside ``instance``'s: its parameters once it starts, and a
        failed job's error for its input."""
        serial = next(self._serials)
        stream = Stream(
            group=instance.group,
            group_arn=instance.group_arn,
            name=instance.name + DATA_LOG_SUFFIX,
            serial=serial,
            host_index=instance.host_index,
            host=instance.host,
            word="batch",
            planned_lines=0,
            timestamps=array("q"),
            ingested=array("q"),
            progress_lines=0,
            data_log=True,
        )
        request = job.request
        strategy = {"SingleRecord": "SINGLE_RECORD"}.get(request.get("BatchStrategy", ""))
        parameters = (
            f"MaxConcurrentTransforms={request.get('MaxConcurrentTransforms', 1)}, "
            f"MaxPayloadInMB={request.get('MaxPayloadInMB', 6)}, "
            f"BatchStrategy={strategy or 'MULTI_RECORD'}"
        )
        lag = ingestion_lag_ms(serial)
        stream.add(start_ms, start_ms + lag, data_plane_line(start_ms, parameters))
        if job.failure_reason:
            end_ms = to_ms(job.schedule.planned_end())
            source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
            failed = f"{source.removeprefix('s3://')}: {job.failure_reason}"
            stream.add(end_ms, end_ms + lag, data_plane_line(end_ms, failed))
        return stream

    @staticmethod
    def _add_late_lines(stream: Stream, timestamp: int, ingested: int) -> None:
        """Lines written as the job ends that reach CloudWatch only ``late_event_delay`` later."""
        for number in range(1, LATE_EVENTS_PER_HOST + 1):
            message = (
                f"[host {stream.host}] flushing buffered output ({number}/{LATE_EVENTS_PER_HOST})"
            )
            stream.add(timestamp, ingested, message)

    def _group(self, name: str) -> Group:
        """The group ``name``, made on first use; it exists (to clients) from its first stream."""
        group = self.groups.get(name)
        if group is None:
            config = self.emulator.config
            arn = f"arn:aws:logs:{config.region}:{config.account_id}:log-group:{name}"
            group = Group(name, arn, created_ms=NEVER)
            self.groups[name] = group
            bisect.insort(self.group_names, name)
        return group


def instance_id(job: Job, index: int) -> str:
    """An EC2-style instance id (``i-`` and 17 hex digits), the same for a job's instance."""
    return "i-" + hashlib.sha256(f"{job.arn}#{index}".encode()).hexdigest()[:17]


def stream_name(job: Job, host: str) -> str:
    """The stream of ``job``'s instance ``host``, as SageMaker names it (module docstring)."""
    if job.kind.key in ONE_STREAM_KINDS:
        return job.name
    return f"{job.name}/{host}-{int(job.created_at)}"


def data_plane_line(timestamp_ms: int, text: str) -> str:
    """``2020-03-24T07:41:22.833:[sagemaker logs]: <text>``, the time being the event's (UTC)."""
    moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000, datetime.UTC)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{timestamp_ms % 1000:03d}:{DATA_PLANE}: {text}"


def group_name_of(identifier: str) -> str:
    """``arn:aws:logs:<region>:<account>:log-group:<name>[:*]`` or a plain name -> the name."""
    if not identifier.startswith("arn:"):
        return identifier
    _, found, name = identifier.partition(":log-group:")
    if not found:
        raise invalid_parameter(f"Invalid log group ARN: {identifier}")
    return name.removesuffix(":*")


def now_ms(emulator: Emulator) -> int:
    return to_ms(emulator.now())


def page_limit(emulator: Emulator, params: Params) -> int:
    """The request's ``limit``, at most (and by default) the configured page size."""
    page_size = emulator.config.log_page_size
    return min(params.get("limit") or page_size, page_size)


def event_bytes(message: str) -> int:
    """An event's size toward a page's 1 MB: GetLogEvents and FilterLogEvents return "as many
    log events as can fit in 1 MB (up to 10,000 log events)" (their API reference pages).
    Counted as PutLogEvents counts an event: its message's UTF-8 bytes plus 26."""
    return len(message.encode()) + 26


def fitting(sizes: Iterable[int], budget: int, *, at_least_one: bool) -> int:
    """How many events of ``sizes`` (``event_bytes``), in order, fit in ``budget`` bytes (one
    always does, when ``at_least_one``: a page is never empty for its size alone)."""
    count = 0
    for size in sizes:
        budget -= size
        if budget < 0 and (count or not at_least_one):
            break
        count += 1
    return count


def encode_token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        raise invalid_parameter(BAD_TOKEN) from None


# --- DescribeLogGroups -----------------------------------------------------------------------


@operation("logs", "DescribeLogGroups")
def describe_log_groups(em: Emulator, params: Params) -> Response:
    now = now_ms(em)
    prefix = params.get("logGroupNamePrefix")
    pattern = params.get("logGroupNamePattern")
    if prefix and pattern:
        raise invalid_parameter(
            "logGroupNamePrefix and logGroupNamePattern are mutually exclusive."
        )
    wanted = {group_name_of(i) for i in params.get("logGroupIdentifiers") or []}
    limit = params.get("limit") or DESCRIBE_LIMIT
    after = None
    if params.get("nextToken"):
        after = decode_token(params["nextToken"])
        if not isinstance(after, str):
            raise invalid_parameter(BAD_TOKEN)
    start = bisect.bisect_right(em.logs.group_names, after) if after is not None else 0
    page: list[Group] = []
    more = False
    for name in em.logs.group_names[start:]:
        group = em.logs.groups[name]
        if (
            group.created_ms > now
            or (prefix and not name.startswith(prefix))
            or (pattern and pattern not in name)
            or (wanted and name not in wanted)
        ):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(group)
    response: Response = {
        "logGroups": [
            {
                "logGroupName": group.name,
                "creationTime": group.created_ms,
                "metricFilterCount": 0,
                "arn": f"{group.arn}:*",
                "logGroupArn": group.arn,
                "logGroupClass": "STANDARD",
            }
            for group in page
        ]
    }
    if more:
        response["nextToken"] = encode_token(page[-1].name)
    return response


# --- DescribeLogStreams ----------------------------------------------------------------------


def stream_summary(stream: Stream, now: int) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "logStreamName": stream.name,
        "creationTime": stream.created_ms,
        "arn": stream.arn,
    }
    readable = stream.readable(now)
    if readable:
        summary["firstEventTimestamp"] = stream.timestamps[0]
        summary["lastEventTimestamp"] = stream.timestamps[readable - 1]
        summary["lastIngestionTime"] = stream.ingested[readable - 1]
    return summary


def last_event_key(stream: Stream, now: int) -> list[Any]:
    """Sort key of ``orderBy=LastEventTime``; streams without readable events sort first."""
    readable = stream.readable(now)
    return [stream.timestamps[readable - 1] if readable else 0, stream.name]


@operation("logs", "DescribeLogStreams")
def describe_log_streams(em: Emulator, params: Params) -> Response:
    now = now_ms(em)
    group = em.logs.find_group(params, now)
    prefix = params.get("logStreamNamePrefix")
    by_time = params.get("orderBy") == "LastEventTime"
    if by_time and prefix:
        raise invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
    descending = bool(params.get("descending"))
    limit = params.get("limit") or DESCRIBE_LIMIT
    after = decode_token(params["nextToken"]) if params.get("nextToken") else None

    if by_time:
        existing = [s for s in group.streams.values() if s.created_ms <= now]
        keyed = sorted(((last_event_key(s, now), s) for s in existing), key=lambda pair: pair[0])
        if descending:
            keyed.reverse()
        if after is not None:
            if not (
                isinstance(after, list)
                and len(after) == 2
                and isinstance(after[0], int)
                and isinstance(after[1], str)
            ):
                raise invalid_parameter(BAD_TOKEN)
            keyed = [(k, s) for k, s in keyed if (k < after if descending else k > after)]
        chosen = [s for _, s in keyed[: limit + 1]]
    else:
        names = group.names_from(prefix)
        if after is not None and not isinstance(after, str):
            raise invalid_parameter(BAD_TOKEN)
        if descending:
            stop = bisect.bisect_left(names, after) if after is not None else len(names)
            ordered: Iterable[str] = (names[i] for i in range(stop - 1, -1, -1))
        else:
            start = bisect.bisect_right(names, after) if after is not None else 0
            ordered = itertools.islice(names, start, None)
        existing_streams = (group.streams[n] for n in ordered if group.streams[n].created_ms <= now)
        chosen = list(itertools.islice(existing_streams, limit + 1))

    page = chosen[:limit]
    response: Response = {"logStreams": [stream_summary(stream, now) for stream in page]}
    if len(chosen) > limit:
        last = page[-1]
        response["nextToken"] = encode_token(last_event_key(last, now) if by_time else last.name)
    return response


# --- GetLogEvents ----------------------------------------------------------------------------


def position_token(direction: str, position: int) -> str:
    return f"{direction}/{position:0{TOKEN_DIGITS}d}"


def parse_position(token: str, size: int) -> tuple[str, int]:
    """``f/<digits>`` or ``b/<digits>`` -> (direction, position in a stream of ``size`` events)."""
    direction, _, digits = token.partition("/")
    if direction not in ("f", "b") or not digits.isdigit() or int(digits) > size:
        raise invalid_parameter(BAD_TOKEN)
    return direction, int(digits)


@operation("logs", "GetLogEvents")
def get_log_events(em: Emulator, params: Params) -> Response:
    now = now_ms(em)
    group = em.logs.find_group(params, now)
    stream = group.streams.get(params["logStreamName"])
    if stream is None or stream.created_ms > now:
        raise errors.logs_not_found(STREAM_NOT_FOUND)
    limit = page_limit(em, params)
    timestamps = stream.timestamps
    # The readable events in [startTime, endTime): endTime is exclusive in GetLogEvents.
    first = bisect.bisect_left(timestamps, params["startTime"]) if "startTime" in params else 0
    last = stream.readable(now)
    if "endTime" in params:
        last = min(last, bisect.bisect_left(timestamps, params["endTime"]))
    last = max(first, last)

    token = params.get("nextToken")
    direction, position = parse_position(token, len(timestamps)) if token else ("", 0)
    if direction == "f":
        begin = min(max(position, first), last)
        end = min(begin + limit, last)
    elif direction == "b":
        end = max(min(position, last), first)
        begin = max(end - limit, first)
    elif params.get("startFromHead"):
        begin, end = first, min(first + limit, last)
    else:
        begin, end = max(last - limit, first), last
    budget = em.config.log_page_bytes
    if direction == "b" or (not direction and not params.get("startFromHead")):
        # Read backward from the end: the page keeps the newest events that fit.
        newest_first = range(end - 1, begin - 1, -1)
        begin = end - fitting(
            (event_bytes(stream.message(i)) for i in newest_first), budget, at_least_one=True
        )
    else:
        oldest_first = range(begin, end)
        end = begin + fitting(
            (event_bytes(stream.message(i)) for i in oldest_first), budget, at_least_one=True
        )

    events = [
        {
            "timestamp": timestamps[i],
            "message": stream.message(i),
            "ingestionTime": stream.ingested[i],
        }
        for i in range(begin, end)
    ]
    em.logs.events_served["GetLogEvents"] += len(events)
    forward, backward = position_token("f", end), position_token("b", begin)
    if not events and token:
        # At either end of the stream AWS hands back the token it was given.
        forward = token if direction == "f" else position_token("f", position)
        backward = token if direction == "b" else position_token("b", position)
    return {"events": events, "nextForwardToken": forward, "nextBackwardToken": backward}


# --- FilterLogEvents -------------------------------------------------------------------------

Matcher = Callable[[str], bool]
TERM = re.compile(r'([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def filter_matcher(pattern: str | None) -> Matcher | None:
    """A term filter pattern as a predicate on messages; None when it keeps every event.

    Supported: plain terms and "quoted phrases" (all must occur, case-sensitive), ``-term``
    (must not occur) and ``?term`` (at least one of these must occur). JSON and space-delimited
    patterns are refused rather than misread.
    """
    text = (pattern or "").strip()
    if not text:
        return None
    if text[0] in "{[":
        raise invalid_parameter(
            "The emulator supports only term filter patterns, not JSON or space-delimited ones."
        )
    required: list[str] = []
    excluded: list[str] = []
    any_of: list[str] = []
    for sign, quoted, bare in TERM.findall(text):
        term = re.sub(r"\\(.)", r"\1", quoted) if quoted else bare
        {"": required, "-": excluded, "?": any_of}[sign].append(term)

    def matches(message: str) -> bool:
        return (
            all(term in message for term in required)
            and not any(term in message for term in excluded)
            and (not any_of or any(term in message for term in any_of))
        )

    return matches


@dataclass(frozen=True)
class FilterPosition:
    """Where a FilterLogEvents scan is: the ingestion window ``(after_ingested, until_ingested]``
    being returned, and the (timestamp, stream, position) of the last event returned from it."""

    after_ingested: int
    until_ingested: int
    last_key: tuple[int, str, int] | None = None

    def token(self) -> str:
        return encode_token([self.after_ingested, self.until_ingested, self.last_key])

    @classmethod
    def parse(cls, token: str) -> FilterPosition:
        value = decode_token(token)
        try:
            after, until, key = value
            last_key = None if key is None else (int(key[0]), str(key[1]), int(key[2]))
            return cls(int(after), int(until), last_key)
        except (TypeError, ValueError, IndexError):
            raise invalid_parameter(BAD_TOKEN) from None


Found = tuple[int, str, int, Stream]  # (timestamp, stream name, position, stream)


@dataclass(frozen=True)
class FilterQuery:
    """What a FilterLogEvents call searches: streams, a time range (inclusive) and a pattern."""

    streams: list[Stream]
    start: int | None
    end: int | None
    matcher: Matcher | None

    def positions(self, stream: Stream, window: FilterPosition) -> range:
        """Positions of ``stream`` ingested in ``window``, in the time range, after its last key."""
        ingested, timestamps = stream.ingested, stream.timestamps
        if ingested[-1] <= window.after_ingested or ingested[0] > window.until_ingested:
            return range(0)
        begin = bisect.bisect_right(ingested, window.after_ingested)
        stop = bisect.bisect_right(ingested, window.until_ingested)
        if self.start is not None:
            begin = max(begin, bisect.bisect_left(timestamps, self.start))
        if self.end is not None:
            stop = min(stop, bisect.bisect_right(timestamps, self.end))
        if window.last_key is not None:
            last_time, last_stream, last_position = window.last_key
            if stream.name > last_stream:
                begin = max(begin, bisect.bisect_left(timestamps, last_time))
            elif stream.name < last_stream:
                begin = max(begin, bisect.bisect_right(timestamps, last_time))
            else:
                begin = max(begin, last_position + 1)
        return range(begin, max(begin, stop))

    def scan(self, window: FilterPosition, count: int) -> list[Found]:
        """Up to ``count`` matching events of ``window``, in (timestamp, stream, position) order."""
        # A k-way merge on a heap of each stream's next event: (timestamp, name, position, stop,
        # stream). The first three are unique, so the stream itself is never compared.
        heads: list[tuple[int, str, int, int, Stream]] = []
        for stream in self.streams:
            positions = self.positions(stream, window)
            if positions:
                start = positions.start
                heads.append((stream.timestamps[start], stream.name, start, positions.stop, stream))
        heapq.heapify(heads)
        found: list[Found] = []
        matcher = self.matcher
        while heads and len(found) < count:
            timestamp, name, position, stop, stream = heads[0]
            if matcher is None or matcher(stream.message(position)):
                found.append((timestamp, name, position, stream))
            position += 1
            if position < stop:
                heapq.heapreplace(
                    heads, (stream.timestamps[position], name, position, stop, stream)
                )
            else:
                heapq.heappop(heads)
        return found


@operation("logs", "FilterLogEvents")
def filter_log_events(em: Emulator, params: Params) -> Response:
    now = now_ms(em)
    group = em.logs.find_group(params, now)
    names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
    if names and prefix:
        raise invalid_parameter("logStreamNames and logStreamNamePrefix are mutually exclusive.")
    if names:
        streams = [group.streams[n] for n in dict.fromkeys(names) if n in group.streams]
    else:
        streams = [group.streams[n] for n in group.names_from(prefix)]
    query = FilterQuery(
        streams,
        params.get("startTime"),
        params.get("endTime"),
        filter_matcher(params.get("filterPattern")),
    )
    limit = page_limit(em, params)
    token = params.get("nextToken")
    window = FilterPosition.parse(token) if token else FilterPosition(-1, now)

    found: list[Found] = []
    budget = em.config.log_page_bytes
    next_token = None
    while True:
        wanted = limit - len(found)
        batch = query.scan(window, wanted + 1)
        sizes = [event_bytes(stream.message(at)) for _, _, at, stream in batch]
        fits = fitting(sizes, budget, at_least_one=not found)
        if len(batch) > min(wanted, fits):
            kept = min(wanted, fits)
            found.extend(batch[:kept])
            if kept:
                timestamp, name, position, _ = batch[kept - 1]
                window = FilterPosition(
                    window.after_ingested, window.until_ingested, (timestamp, name, position)
                )
            next_token = window.token()
            break
        budget -= sum(sizes)
        found.extend(batch)
        if window.until_ingested >= now:
            break
        # Everything readable at the previous call is out; go on with what became readable since.
        window = FilterPosition(window.until_ingested, now)

    response: Response = {
        "events": [
            {
                "logStreamName": stream.name,
                "timestamp": timestamp,
                "message": stream.message(position),
                "ingestionTime": stream.ingested[position],
                "eventId": stream.event_id(position),
            }
            for timestamp, _, position, stream in found
        ]
    }
    em.logs.events_served["FilterLogEvents"] += len(found)
    if next_token:
        response["nextToken"] = next_token
    return response
