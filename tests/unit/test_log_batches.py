"""How a batched log reader groups its streams into FilterLogEvents calls.

A call reads every stream it names from the earliest start among them. At 10,000 jobs, where
streams are found every round (read from their creation) and jobs drain (read from their late
window), a stream like that in each call of 100 made the other 99 read again what they had
read: most lines were answered several times over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from runner.config import LogPolicy
from runner.joblogs import MemorySink
from runner.joblogs.tailer import BatchReader, _JobTail
from runner.kinds import TRAINING

GROUP = "/aws/sagemaker/TrainingJobs"
POLICY = LogPolicy(batched=True)
NOW_MS = 1_780_000_000_000
CREATED_MS = NOW_MS - 600_000  # ten minutes ago


class Filters:
    """A fake AWS caller that answers FilterLogEvents with ``events`` (none by default), and
    keeps each call's parameters."""

    def __init__(self, events: list[dict[str, Any]] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.events = events or []

    def pages(self, service: str, operation: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        assert operation == "FilterLogEvents"
        self.calls.append(params)
        return self._page()

    async def _page(self) -> AsyncIterator[dict[str, Any]]:
        yield {"events": self.events}


def job_with_a_stream(name: str, *, read: bool) -> _JobTail:
    """A followed training job with one stream, created ten minutes ago; ``read``: read up to
    a second ago (else just found)."""
    job = _JobTail(TRAINING, name, 1, MemorySink(), POLICY)
    job.found({"logStreamName": f"{name}/algo-1-1780000000", "creationTime": CREATED_MS})
    if read:
        for stream in job.streams.values():
            stream.read_to = stream.floor = NOW_MS - 1_000
    return job


def far_back(call: dict[str, Any]) -> bool:
    return call.get("startTime", 0) <= CREATED_MS


async def read_once(
    jobs: list[_JobTail], *, late: bool, events: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    caller = Filters(events)
    reader = BatchReader(caller, POLICY, GROUP)  # type: ignore[arg-type]
    reader._clock = NOW_MS - 1_000  # the newest ingestion seen so far: the round's start
    if not late:
        reader._late_due = float("inf")
    await reader._read(jobs)
    assert sorted(n for call in caller.calls for n in call["logStreamNames"]) == sorted(
        stream for job in jobs for stream in job.streams
    ), "every stream is read once"
    return caller.calls


async def test_streams_just_found_are_read_together_not_beside_read_ones() -> None:
    jobs = [job_with_a_stream(f"sweep-{n:04d}", read=n % 100 != 0) for n in range(300)]
    calls = await read_once(jobs, late=False)
    assert len(calls) == 3
    reaching_back = [call for call in calls if far_back(call)]
    assert len(reaching_back) == 1
    assert len(reaching_back[0]["logStreamNames"]) == 100  # 3 new streams, 97 others at most
    fresh_start = NOW_MS - 1_000 - int(POLICY.fresh_window * 1000)
    assert sorted(call.get("startTime") for call in calls)[1:] == [fresh_start, fresh_start]


async def test_draining_jobs_are_read_together() -> None:
    jobs = [job_with_a_stream(f"sweep-{n:04d}", read=True) for n in range(200)]
    for job in jobs[::50]:
        job.ended_at = 1.0
    calls = await read_once(jobs, late=False)
    late_start = NOW_MS - 1_000 - int(POLICY.late_window * 1000)
    starts = sorted(call["startTime"] for call in calls)
    assert starts[0] == late_start
    assert starts[1] > late_start  # the other call reads from its fresh window


async def test_a_jobs_streams_stay_in_one_call() -> None:
    jobs = [job_with_a_stream(f"sweep-{n:04d}", read=True) for n in range(150)]
    two_hosts = _JobTail(TRAINING, "sweep-two-hosts", 2, MemorySink(), POLICY)
    for host in (1, 2):
        two_hosts.found({"logStreamName": f"sweep-two-hosts/algo-{host}-1", "creationTime": 1})
    calls = await read_once([*jobs[:99], two_hosts, *jobs[99:]], late=True)
    holding = [call for call in calls if "sweep-two-hosts/algo-1-1" in call["logStreamNames"]]
    assert "sweep-two-hosts/algo-2-1" in holding[0]["logStreamNames"]


async def test_a_call_answered_late_in_its_round_counts_from_its_answer() -> None:
    """At 10,000 jobs a call may wait most of a 40 s round for its token. What its first page
    holds was ingested before it was answered: the next read goes on from there (less the
    fresh window), not from the round's start, which would read again all it read."""
    job = job_with_a_stream("sweep-0001", read=True)
    (stream,) = job.streams.values()
    answered = NOW_MS + 30_000
    event = {
        "logStreamName": stream.name,
        "timestamp": answered - 500,
        "ingestionTime": answered,
        "message": "epoch 1",
        "eventId": "1",
    }
    await read_once([job], late=False, events=[event])
    assert stream.read_to == answered
    assert stream.floor == NOW_MS - 1_000  # a fresh read does not move the floor
    assert job.lines == 1
    await read_once([job], late=True)
    assert stream.floor == NOW_MS - 1_000  # an empty answer: the clock of the round's start
