"""How a batched log reader finds its jobs' streams: one shared listing or a listing per job,
whichever costs fewer calls, in a loop of its own beside the rounds' reads, never before them
nor waiting for them; and how a job's drain ends on reads, not on whole rounds.

At 10,000 jobs a shared listing cut at its page budget once made discovery per job for good,
and every round then waited for thousands of per-job listings at the DescribeLogStreams budget
before reading anything (the paced benchmark's event run delivered a tenth of the lines)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from runner.config import LogPolicy
from runner.errors import AwsCallFailed
from runner.joblogs import MemorySink
from runner.joblogs.tailer import (
    MIN_SHARED_PAGES,
    PER_JOB_LISTINGS,
    BatchReader,
    LogTailer,
    _JobTail,
    _NameOrder,
)
from runner.kinds import LABELING, TRAINING

GROUP = "/aws/sagemaker/TrainingJobs"
POLICY = LogPolicy(batched=True)


class Listings:
    """A fake AWS caller: DescribeLogStreams over ``streams`` (50 a page) and nothing else;
    counts each listing by its prefix."""

    def __init__(self, streams: list[str], *, hang: bool = False) -> None:
        self.streams = sorted(streams)
        self.hang = hang
        self.listed: Counter[str] = Counter()
        self.filters = 0

    async def pages_of(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        found = [name for name in self.streams if name.startswith(prefix)]
        for start in range(0, max(len(found), 1), 50):
            self.listed[prefix] += 1
            if self.hang:
                await asyncio.Event().wait()
            chunk = found[start : start + 50]
            page: dict[str, Any] = {
                "logStreams": [{"logStreamName": n, "creationTime": 1} for n in chunk]
            }
            if start + 50 < len(found):
                page["nextToken"] = str(start + 50)
            yield page

    def pages(self, service: str, operation: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        if operation == "FilterLogEvents":
            return self._filtered()
        assert operation == "DescribeLogStreams"
        return self.pages_of(params["logStreamNamePrefix"])

    async def _filtered(self) -> AsyncIterator[dict[str, Any]]:
        self.filters += 1
        yield {"events": []}


def tails(names: list[str]) -> list[_JobTail]:
    return [_JobTail(TRAINING, name, 1, MemorySink(), POLICY) for name in names]


def job_names(count: int, start: int = 0) -> list[str]:
    return [f"batch-{i:05d}" for i in range(start, start + count)]


async def test_many_jobs_share_one_listing() -> None:
    names = job_names(300)
    caller = Listings([f"{n}/algo-1-1" for n in names])
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    jobs = tails(names)
    await reader._discover(jobs)
    assert caller.listed == {"batch-00": 6}  # one listing of 300 streams, 50 a page
    assert all(len(job.streams) == 1 for job in jobs)


async def test_few_jobs_among_many_streams_are_listed_one_by_one() -> None:
    """Five jobs still waiting among 5,000 streams of their prefix: the shared listing is cut
    at its budget, its cost remembered, and the jobs are listed one by one from then on, while
    few wait; once many wait again, they share a listing again."""
    everyone = job_names(5000)
    caller = Listings([f"{n}/algo-1-1" for n in everyone])
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    few = tails([everyone[10], everyone[2000], everyone[4000], everyone[4001], everyone[4999]])
    await reader._discover(few)
    assert caller.listed["batch-0"] == MIN_SHARED_PAGES  # cut there
    assert all(len(job.streams) == 1 for job in few)  # found one by one in the same round
    per_job = sum(count for prefix, count in caller.listed.items() if prefix.endswith("/"))
    assert per_job == 5

    caller.listed.clear()
    late = tails(job_names(5, start=5000))
    caller.streams += [f"{job.name}/algo-1-1" for job in late]
    await reader._discover(late)
    assert "batch-0500" not in caller.listed and sum(caller.listed.values()) == 5

    caller.listed.clear()
    crowd = tails(job_names(200, start=5005))
    caller.streams += [f"{job.name}/algo-1-1" for job in crowd]
    caller.streams.sort()
    await reader._discover(crowd)
    assert sum(caller.listed.values()) < len(crowd)  # shared again: 200 jobs wait
    assert all(len(job.streams) == 1 for job in crowd)


async def test_a_round_lists_at_most_its_share_of_jobs_one_by_one() -> None:
    names = [f"{chr(97 + i % 26)}{i}-job" for i in range(60)]  # no common prefix to share
    caller = Listings([f"{n}/algo-1-1" for n in names])
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    jobs = tails(names)
    await reader._discover(jobs)
    assert sum(caller.listed.values()) == PER_JOB_LISTINGS
    assert sum(len(job.streams) for job in jobs) == PER_JOB_LISTINGS


async def test_reads_do_not_wait_for_a_discovery() -> None:
    """A listing that never answers: the jobs whose streams are known are read all the same."""
    caller = Listings(["known/algo-1-1"], hang=True)
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    known, missing = tails(["known", "missing"])
    known.found({"logStreamName": "known/algo-1-1", "creationTime": 1})
    reader.add(known)
    reader.add(missing)
    try:
        for _ in range(200):
            await asyncio.sleep(0)
            if caller.filters:
                break
    finally:
        await reader.stop()
    assert caller.filters >= 1 and caller.listed["missing/"] == 1


async def test_jobs_missing_a_stream_are_listed_on_their_own_prefix() -> None:
    """300 ended jobs to list again beside 20 new ones still missing their stream: the new
    ones' listing (their longer prefix) comes first, not one of the whole group."""
    ended, new = job_names(300), job_names(20, start=300)
    caller = Listings([f"{n}/algo-1-1" for n in ended + new])
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    done, waiting = tails(ended), tails(new)
    for job in done:
        job.found({"logStreamName": f"{job.name}/algo-1-1", "creationTime": 1})
        job.relist_from = 0.0
    await reader._discover(done + waiting)
    assert caller.listed == {"batch-003": 1}
    assert all(len(job.streams) == 1 for job in waiting)
    assert all(job.relist_from == 0.0 for job in done)  # listed again once none is missing
    await reader._discover(done + waiting)
    assert caller.listed == {"batch-003": 1, "batch-00": 7}  # 320 streams, 50 a page
    assert all(job.relist_from is None for job in done)


class SlowGroup(Listings):
    """One job's stream in a listing that takes ``listing`` seconds, and its events in a
    FilterLogEvents answer that takes ``reading`` seconds."""

    def __init__(self, stream: str, *, listing: float, reading: float) -> None:
        super().__init__([stream])
        self.listing, self.reading = listing, reading
        self.events = [
            {
                "logStreamName": stream,
                "timestamp": 1_780_000_000_000 + i,
                "ingestionTime": 1_780_000_000_500,
                "message": f"line {i}",
                "eventId": f"{i:056d}",
            }
            for i in range(3)
        ]

    async def pages_of(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        await asyncio.sleep(self.listing)
        async for page in super().pages_of(prefix):
            yield page

    async def _filtered(self) -> AsyncIterator[dict[str, Any]]:
        await asyncio.sleep(self.reading)
        yield {"events": self.events}


async def test_a_job_that_ends_before_its_stream_is_found_still_gets_its_lines() -> None:
    """The drain's limit (3 s) is shorter than the listing that finds the stream (2 s) and
    the read after it (2 s) together: it counts from that listing, so the lines come (they
    were cut before). Each step has a second to spare, for a loaded machine."""
    policy = LogPolicy(batched=True, min_interval=0.01, drain_wait=0.05, drain_limit=3.0)
    caller = SlowGroup("short-job/algo-1-1", listing=2.0, reading=2.0)
    tailer = LogTailer(caller, policy)  # type: ignore[arg-type]
    job = _JobTail(TRAINING, "short-job", 1, MemorySink(), policy)
    reader = tailer._reader_for(job)
    reader.add(job)
    try:
        await tailer._drain(job, reader)
        job.publish(0.0, everything=True)
    finally:
        await reader.remove(job)
    assert isinstance(job.sink, MemorySink)
    assert [line.message for line in job.sink.lines["short-job"]] == ["line 0", "line 1", "line 2"]


async def test_a_listing_does_not_wait_for_a_round() -> None:
    """A round whose read never answers: a job added meanwhile has its stream found all the
    same (discovery was a step of the round: at 10,000 jobs it waited ~40 s for it)."""
    caller = Listings(["known/algo-1-1", "new/algo-1-1"])
    hung = asyncio.Event()

    async def hanging() -> AsyncIterator[dict[str, Any]]:
        await hung.wait()
        yield {"events": []}

    caller._filtered = hanging  # type: ignore[method-assign]
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    known, new = tails(["known", "new"])
    known.found({"logStreamName": "known/algo-1-1", "creationTime": 1})
    reader.add(known)
    try:
        for _ in range(200):  # the round starts, and hangs in its read
            await asyncio.sleep(0)
        reader.add(new)
        for _ in range(500):  # up to 5 s
            await asyncio.sleep(0.01)
            if new.streams:
                break
    finally:
        await reader.stop()
    assert caller.listed["new/"] == 1


async def test_a_failing_listing_is_retried_after_a_pause_not_at_once() -> None:
    """Every listing fails: discovery tries again after ``min_interval`` at least, backing
    off, not in a busy loop (in its own loop, nothing else paces it)."""
    policy = LogPolicy(batched=True, min_interval=0.05)

    class Failing(Listings):
        def pages_of(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
            self.listed[prefix] += 1
            raise AwsCallFailed("DescribeLogStreams", "ServiceUnavailable", "try later")

    caller = Failing([])
    reader = BatchReader(caller, policy, GROUP)  # type: ignore[arg-type]
    (job,) = [_JobTail(TRAINING, "missing", 1, MemorySink(), policy)]
    reader.add(job)
    try:
        await asyncio.sleep(0.5)
    finally:
        await reader.stop()
    assert 1 <= caller.listed["missing/"] <= 11  # 0.5 s at least 0.05 s apart, and the first


class UnevenGroup(Listings):
    """Two jobs' streams, read one per FilterLogEvents call: ``quick``'s answers at once;
    ``slow``'s first read waits for ``gate``, and every later one never answers, so the
    first round ends when the test says and the second never does."""

    def __init__(self, quick: str, slow: str) -> None:
        super().__init__([quick, slow])
        self.quick = quick
        self.gate = asyncio.Event()
        self.quick_reads = self.slow_reads = 0

    def pages(self, service: str, operation: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        if operation == "FilterLogEvents":
            return self._one(params["logStreamNames"])
        return super().pages(service, operation, **params)

    async def _one(self, streams: list[str]) -> AsyncIterator[dict[str, Any]]:
        if streams != [self.quick]:
            self.slow_reads += 1
            await (self.gate.wait() if self.slow_reads == 1 else asyncio.Event().wait())
            yield {"events": []}
            return
        self.quick_reads += 1
        event = {
            "logStreamName": self.quick,
            "timestamp": 1_780_000_000_000,
            "ingestionTime": 1_780_000_000_500,
            "message": "the last line",
            "eventId": "0" * 56,
        }
        yield {"events": [event]}


async def test_a_drain_ends_on_a_quiet_read_not_a_quiet_round() -> None:
    """The ended job's last line comes in the first round; once ``drain_wait`` has passed,
    the first round ends, and the drain ends with the second round's read of its stream,
    while that round never ends (another job's read hangs). Waiting for a whole quiet round,
    as it did, it was cut at its limit."""
    policy = LogPolicy(
        batched=True, batch_size=1, min_interval=0.01, drain_wait=0.05, drain_limit=10.0
    )
    caller = UnevenGroup("ended/algo-1-1", "running/algo-1-1")
    tailer = LogTailer(caller, policy)  # type: ignore[arg-type]
    running = _JobTail(TRAINING, "running", 1, MemorySink(), policy)
    ended = _JobTail(TRAINING, "ended", 1, MemorySink(), policy)
    for job in (running, ended):
        job.found({"logStreamName": f"{job.name}/algo-1-1", "creationTime": 1})
    reader = tailer._reader_for(ended)
    reader.add(running)
    reader.add(ended)
    try:
        drain = asyncio.create_task(tailer._drain(ended, reader))
        for _ in range(500):  # the first round's read of the ended job's stream, up to 5 s
            await asyncio.sleep(0.01)
            if caller.quick_reads:
                break
        await asyncio.sleep(2 * policy.drain_wait)  # longer on a loaded machine: no matter
        caller.gate.set()
        drained = await drain
    finally:
        await reader.stop()
    ended.publish(0.0, everything=True)
    assert drained and caller.quick_reads >= 2
    assert ended.lines == 1


class Gated(Listings):
    """A listing that pauses after its first page until ``gate`` opens."""

    def __init__(self, streams: list[str]) -> None:
        super().__init__(streams)
        self.served, self.gate = asyncio.Event(), asyncio.Event()

    async def pages_of(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        first = True
        async for page in super().pages_of(prefix):
            yield page
            if first:
                first = False
                self.served.set()
                await self.gate.wait()


async def test_a_listing_under_way_lists_a_job_that_ended_ahead_of_it() -> None:
    """Pages come in name order: two jobs end once a listing of 150 streams has read its first
    page. The one whose streams are on the third page is listed after its end by this listing;
    the one on the first page (passed before the end) waits for the next listing."""
    caller = Gated([f"{n}/algo-1-1" for n in job_names(150)])
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    passed, ahead = tails(["batch-00010", "batch-00120"])
    listing = asyncio.create_task(reader._list_streams("batch-00", [passed, ahead]))
    await caller.served.wait()
    ended = time.monotonic()
    passed.relist_from = ahead.relist_from = ended
    caller.gate.set()
    await listing
    assert ahead.relist_from is None and len(ahead.streams) == 1
    assert passed.relist_from == ended and len(passed.streams) == 1


async def test_ended_jobs_ride_along_a_listing_for_missing_streams() -> None:
    """Ten jobs still missing their stream share a prefix with 300 ended ones to list once
    more: one listing serves all of them."""
    caller = Listings([f"{n}/algo-1-1" for n in job_names(310)])
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    done, waiting = tails(job_names(300)), tails(job_names(10, start=295))
    for job in done:
        job.found({"logStreamName": f"{job.name}/algo-1-1", "creationTime": 1})
        job.relist_from = 0.0
    await reader._discover(done + waiting)
    assert caller.listed == {"batch-00": 7}  # 310 streams, 50 a page
    assert all(job.relist_from is None for job in done)
    assert all(len(job.streams) == 1 for job in waiting)


async def test_ended_jobs_alone_are_listed_at_most_every_max_interval() -> None:
    caller = Listings([f"{n}/algo-1-1" for n in job_names(100)])
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    done = tails(job_names(100))
    for job in done:
        job.found({"logStreamName": f"{job.name}/algo-1-1", "creationTime": 1})
        job.relist_from = 0.0
        reader.jobs[id(job)] = job
    await reader._discover(done)
    assert caller.listed == {"batch-000": 2} and all(job.relist_from is None for job in done)
    for job in done:  # they end again (another drain)
        job.relist_from = time.monotonic()
    listed = time.monotonic()
    assert await reader._discover(done) == 0 and caller.listed == {"batch-000": 2}
    due = reader._next_discovery()
    assert due is not None and due >= listed + POLICY.max_interval - 1.0


async def test_a_job_is_listed_after_its_end_only_from_the_page_its_streams_would_be_on() -> None:
    """Labeling jobs' streams are named after them, so ``run-1``'s prefix is shared by
    ``run-10`` and ``run-11``. Page 1 (``run-1``, ``run-11``) was asked for before ``run-10``
    ended; its stream would have been on that page, so the last page (``run-2``), asked for
    after, does not list it after its end."""
    asked = time.monotonic()
    jobs = {n: _JobTail(LABELING, n, 1, MemorySink(), POLICY) for n in ("run-1", "run-10")}
    order = _NameOrder(list(jobs.values()), asked, POLICY)
    order.page(
        {"logStreams": [{"logStreamName": "run-1"}, {"logStreamName": "run-11"}]}, last=False
    )
    ended = jobs["run-10"].relist_from = time.monotonic()
    order.page({"logStreams": [{"logStreamName": "run-2"}]}, last=True)
    assert jobs["run-10"].relist_from == ended
