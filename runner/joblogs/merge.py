"""The bookkeeping that makes a tail exact: where each stream was read up to, which events a
re-read has already delivered, and the order in which several hosts' lines are shown.

Nothing here calls AWS or sleeps. The tailer (``runner.joblogs.tailer``) feeds it pages and
clock readings; the unit tests feed it random interleavings. Three pieces:

``Position`` and ``Resume``
    A forward token is the exact place in a stream, but it can be lost (it expires, or the
    stream is read again after a restart). The fallback is a position: the newest timestamp
    delivered and how many events carrying exactly that timestamp were delivered. Reading
    again from that timestamp and skipping that many events continues exactly where the token
    would have, even when many events share a millisecond.
``SeenEvents``
    FilterLogEvents has no per-stream token: each round asks again from a start time reaching
    back far enough for late events, so some events come back. Their eventIds are remembered
    while they can still come back (timestamp at or after the next start time), no longer.
``HostMerger``
    Hosts write independently and their events become readable at different moments, so a
    read may see host 1 at 12:00:05 before host 2 at 12:00:04 arrives. The merger holds lines
    until every host has been read past them (the watermark), or until they have waited
    ``hold`` seconds, and lets them out in timestamp order. One host's lines always keep their
    own order. A stream below an instance's (a transform's data-log, which writes a line when
    its data plane starts and then only on errors) does not hold the watermark back: its lines
    are merged in, but waiting for it would hold every other line for ``hold``.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import re
from array import array
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

Event = Mapping[str, Any]  # a Logs API event: timestamp, message, ingestionTime[, eventId]

_DIGITS = re.compile(r"(\d+)")
_EPOCH_SUFFIX = re.compile(r"-\d{9,}$")  # SageMaker's "algo-1-1700000000"
_BEFORE_ALL = -(1 << 63)  # older than any timestamp


def host_label(job: str, stream: str) -> str:
    """Which instance wrote a stream of ``job``, from the stream's name (as SageMaker names them,
    ``runner.kinds.JobKind.log_stream_prefix``): ``<job>/algo-2-1700000000`` -> ``algo-2``,
    ``<job>/i-0abc-1700000000`` -> ``i-0abc``, ``<job>/i-0abc-1700000000/data-log`` ->
    ``i-0abc/data-log``; a stream named as its job (labeling) is labelled with that name."""
    if not stream.startswith(f"{job}/"):
        return stream
    instance, slash, below = stream[len(job) + 1 :].partition("/")
    return (_EPOCH_SUFFIX.sub("", instance) or instance) + slash + below


@functools.lru_cache(maxsize=4096)  # hosts repeat across jobs: "algo-1", "algo-2"
def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """Sorts ``algo-2`` before ``algo-10``."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in _DIGITS.split(text)
        if part
    )


class LogLine(NamedTuple):
    """One log event of one job, as sinks receive it (a named tuple: thousands a second are
    made at 10,000 jobs, ~0.4 us each against ~1.5 us for a frozen dataclass)."""

    job: str
    stream: str
    host: str  # "algo-1": which instance wrote it
    timestamp: int  # epoch milliseconds
    message: str
    labelled: bool = False  # the job has several hosts: show which one wrote the line

    @property
    def text(self) -> str:
        message = self.message.rstrip("\n")
        return f"[{self.host}] {message}" if self.labelled else message


@dataclass(frozen=True, slots=True)
class Position:
    """How far a stream has been delivered: the newest timestamp, and how many events with
    exactly that timestamp. ``Position()`` is before the first event."""

    timestamp: int = -1
    count: int = 0

    def after(self, timestamps: Sequence[int]) -> Position:
        """The position once events with ``timestamps`` are delivered too: the newest, and
        how many carry it (so their order does not matter).

        An event older than the position (ingested late, read through a token) does not move
        it: a re-read from the position's timestamp cannot return it again.
        """
        newest = max(timestamps, default=self.timestamp)
        if newest > self.timestamp:
            return Position(newest, timestamps.count(newest))
        if newest == self.timestamp:
            return Position(newest, self.count + timestamps.count(newest))
        return self


class Resume:
    """Filters a re-read that starts at ``position.timestamp`` (its pages in order) down to the
    events not yet delivered: the first ``position.count`` events at that timestamp were."""

    def __init__(self, position: Position) -> None:
        self._timestamp = position.timestamp
        self._to_skip = position.count

    def unseen(self, events: Sequence[Event]) -> list[Event]:
        fresh: list[Event] = []
        for event in events:
            timestamp = int(event["timestamp"])
            if timestamp < self._timestamp:
                continue
            if timestamp == self._timestamp and self._to_skip > 0:
                self._to_skip -= 1
                continue
            self._to_skip = 0  # past the delivered ones: everything after is new
            fresh.append(event)
        return fresh


class SeenEvents:
    """The events already delivered that a later re-read may return again, as (timestamp,
    hash of eventId) pairs in two arrays sorted by timestamp.

    A batched reader re-reads every event of its late window (30 s and a round), so at
    10,000 jobs a million ids are remembered at once: as a dict of eventId strings that was
    ~240 bytes an event (the 56-digit id kept alive from its parsed page, a timestamp object,
    the dict's slot), and those small objects pinned the pages' freed memory around them.
    Here it is 16 bytes an event, in two buffers. Two events are told apart by their
    timestamp and their id's 64-bit hash: two different ids of one job at one millisecond
    share a hash once in 2**64 tries.
    """

    __slots__ = ("_hashes", "_timestamps")

    def __init__(self) -> None:
        self._timestamps = array("q")
        self._hashes = array("q")

    def __len__(self) -> int:
        return len(self._timestamps)

    def first_time(self, event: Event) -> bool:
        """True (and remembered) the first time ``event`` is seen."""
        return bool(self.first_seen((event,)))

    def first_seen(self, events: Iterable[Event], floor: int | None = None) -> list[Event]:
        """The events of ``events`` seen for the first time (remembered now), in their order,
        but for those older than ``floor`` (delivered before, and forgotten since). One call
        per stream and page: at 10,000 jobs half the events a read returns were seen."""
        timestamps, hashes = self._timestamps, self._hashes
        low = _BEFORE_ALL if floor is None else floor
        fresh: list[Event] = []
        for event in events:
            timestamp = int(event["timestamp"])
            if timestamp < low:
                continue
            key = hash(str(event["eventId"]))
            if not timestamps or timestamp > timestamps[-1]:  # newer than all: most new events
                timestamps.append(timestamp)
                hashes.append(key)
                fresh.append(event)
                continue
            end, size = bisect.bisect_left(timestamps, timestamp), len(timestamps)
            while end < size and timestamps[end] == timestamp:
                if hashes[end] == key:
                    break
                end += 1
            else:
                timestamps.insert(end, timestamp)
                hashes.insert(end, key)
                fresh.append(event)
        return fresh

    def forget_before(self, floor: int) -> None:
        """Re-reads start at ``floor`` or later from now on: older ids cannot come back."""
        cut = bisect.bisect_left(self._timestamps, floor)
        if cut:
            del self._timestamps[:cut]
            del self._hashes[:cut]


def _in_order(lines: Sequence[LogLine], *, after: LogLine | None) -> bool:
    """Timestamps never decrease, from ``after`` on."""
    if after is not None and after.timestamp > lines[0].timestamp:
        return False
    return all(a.timestamp <= b.timestamp for a, b in itertools.pairwise(lines))


# A held line: (timestamp, host key, arrival sequence, line). A tuple, compared in C: the
# sequence is unique, so the line itself is never compared; it keeps one stream's equal
# timestamps in their order.
_Held = tuple[int, tuple[tuple[int, int, str], ...], int, LogLine]


class HostMerger:
    """Merges several streams' lines by timestamp, holding each at most ``hold`` seconds.

    ``add`` takes a stream's new lines in stream order; ``release(now)`` returns, in timestamp
    order, the lines no stream can precede any more (every expected stream has been read past
    them) plus those held for ``hold`` seconds (and, to keep the order, everything older than
    them); ``release_all`` empties it at the end. ``now`` is any monotonic clock in seconds.
    """

    # Slots, and no set or dict but the frontier until needed: 10,000 followed jobs hold one
    # each (an empty set is 216 bytes).
    __slots__ = (
        "_arrivals",
        "_frontier",
        "_heap",
        "_ready",
        "_sequence",
        "_unpaced",
        "expected_streams",
        "hold",
    )

    def __init__(self, hold: float, expected_streams: int | None = None) -> None:
        self.hold = hold
        self.expected_streams = expected_streams
        self._frontier: dict[str, int] = {}  # stream -> newest timestamp read from it
        self._unpaced: frozenset[str] = frozenset()  # streams the watermark does not wait for
        self._heap: list[_Held] = []
        # (arrived, timestamp), in order; made while lines are held (an empty deque is ~600
        # bytes, and most of 10,000 followed jobs hold nothing between two reads).
        self._arrivals: deque[tuple[float, int]] | None = None
        self._sequence = 0
        # (arrived, stream, lines) of a lone stream, out at the next release; held in the
        # heap as they would have been if another stream appears first.
        self._ready: list[tuple[float, str, Sequence[LogLine]]] = []

    def __len__(self) -> int:
        return len(self._heap) + sum(len(lines) for _, _, lines in self._ready)

    def add_stream(self, stream: str, *, paces: bool = True) -> None:
        """Expect lines from ``stream``; unless it ``paces``, the watermark does not wait for it."""
        if stream not in self._frontier:
            self._frontier[stream] = -1
            self._hold_ready()  # a second stream: what came alone may be preceded now
        if not paces:
            self._unpaced |= {stream}
            self._hold_ready()

    def add(self, stream: str, lines: Sequence[LogLine], now: float) -> None:
        self.add_stream(stream)
        if not lines:
            return
        ready = self._ready
        if self._alone() and _in_order(lines, after=ready[-1][2][-1] if ready else None):
            # Nothing can precede them: what the heap would give, in the order they came.
            ready.append((now, stream, lines))
            self._frontier[stream] = max(self._frontier[stream], lines[-1].timestamp)
            return
        self._hold_ready()
        self._hold(stream, lines, now)

    def _alone(self) -> bool:
        """One stream is expected and known, and nothing is held: each of its lines is past
        the watermark as it comes (most jobs have one host)."""
        return (
            not self._heap
            and (self.expected_streams or 1) == 1
            and len(self._frontier) == 1
            and not self._unpaced
        )

    def _hold_ready(self) -> None:
        """Lines that came alone, not let out yet, into the heap as they would have gone."""
        ready, self._ready = self._ready, []
        for arrived, stream, lines in ready:
            self._hold(stream, lines, arrived)

    def _let_out_ready(self) -> list[LogLine]:
        ready, self._ready = self._ready, []
        return [line for _, _, lines in ready for line in lines]

    def _hold(self, stream: str, lines: Sequence[LogLine], now: float) -> None:
        if self._arrivals is None:
            self._arrivals = deque()
        for line in lines:
            self._sequence += 1
            held = (line.timestamp, natural_key(line.host), self._sequence, line)
            heapq.heappush(self._heap, held)
            self._arrivals.append((now, line.timestamp))
            self._frontier[stream] = max(self._frontier[stream], line.timestamp)

    def watermark(self) -> int | None:
        """Lines at or before this timestamp cannot be preceded by a line still to come."""
        expected = self.expected_streams or 1
        paced = [read for stream, read in self._frontier.items() if stream not in self._unpaced]
        if len(paced) < expected or not paced:
            return None
        return min(paced)

    def release(self, now: float) -> list[LogLine]:
        if self._ready:  # lines that came alone (the heap is empty): all out
            return self._let_out_ready()
        threshold = self.watermark()
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] + self.hold <= now:
            _, timestamp = arrivals.popleft()
            threshold = timestamp if threshold is None else max(threshold, timestamp)
        released: list[LogLine] = []
        while self._heap and threshold is not None and self._heap[0][0] <= threshold:
            released.append(heapq.heappop(self._heap)[3])
        if not self._heap:
            self._arrivals = None  # every arrival is let out with its line
        return released

    def release_all(self) -> list[LogLine]:
        released = self._let_out_ready()
        released.extend(heapq.heappop(self._heap)[3] for _ in range(len(self._heap)))
        self._arrivals = None
        return released
