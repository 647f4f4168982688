"""Admission: overall, per-kind and per-instance-type limits, order, and quota pauses."""

from __future__ import annotations

import asyncio

import pytest

from smrun.launcher.admission import Admission, AdmissionClosed, Ticket, parse_limit


def ticket(entry_id: str, kind: str = "training", **usage: int) -> Ticket:
    return Ticket(entry_id, kind, {k.replace("_", "."): v for k, v in usage.items()})


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_parse_limit_reads_kinds_and_instance_types() -> None:
    assert parse_limit("training=20") == ("training", 20)
    assert parse_limit(" training:ml.p3.2xlarge = 8") == ("training:ml.p3.2xlarge", 8)
    for bad in ("training", "training=", "=3", "training=-1", "training=two"):
        with pytest.raises(ValueError, match="KIND=N"):
            parse_limit(bad)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        Admission(0)
    with pytest.raises(ValueError, match="training"):
        Admission(5, {"training": 0})


async def test_waiters_are_admitted_in_order_as_room_frees() -> None:
    admission = Admission(2)
    first, second, third, fourth = (ticket(f"e{i}") for i in range(4))
    await admission.acquire(first)
    await admission.acquire(second)
    order: list[str] = []

    async def wait(t: Ticket) -> None:
        await admission.acquire(t)
        order.append(t.entry_id)

    tasks = [asyncio.create_task(wait(t)) for t in (third, fourth)]
    await settle()
    assert order == [] and admission.waiting == 2
    admission.release(first)
    await settle()
    assert order == ["e2"]
    admission.release(second)
    await asyncio.gather(*tasks)
    assert order == ["e2", "e3"] and admission.in_flight == 2


async def test_a_saturated_instance_type_does_not_hold_up_others() -> None:
    admission = Admission(10, {"training:ml.p3.2xlarge": 4})
    big = ticket("gpu-0", ml_p3_2xlarge=4)
    await admission.acquire(big)
    blocked = asyncio.create_task(admission.acquire(ticket("gpu-1", ml_p3_2xlarge=2)))
    await settle()
    assert not blocked.done()
    await asyncio.wait_for(admission.acquire(ticket("cpu", ml_m5_xlarge=8)), 1)
    admission.release(big)
    await asyncio.wait_for(blocked, 1)


async def test_kind_limits_count_jobs_and_type_limits_count_instances() -> None:
    admission = Admission(10, {"processing": 2, "training:ml.g5.xlarge": 3})
    await admission.acquire(ticket("p0", "processing"))
    await admission.acquire(ticket("p1", "processing"))
    third = asyncio.create_task(admission.acquire(ticket("p2", "processing")))
    await admission.acquire(ticket("t0", ml_g5_xlarge=2))
    fourth = asyncio.create_task(admission.acquire(ticket("t1", ml_g5_xlarge=2)))
    await settle()
    assert not third.done() and not fourth.done()
    # The same instance type under another kind is another quota.
    await asyncio.wait_for(admission.acquire(ticket("x", "processing_other", ml_g5_xlarge=3)), 1)
    admission.close()
    for task in (third, fourth):
        with pytest.raises(AdmissionClosed):
            await task


async def test_a_job_larger_than_its_limit_still_runs_alone() -> None:
    admission = Admission(5, {"training:ml.p4d.24xlarge": 2})
    await asyncio.wait_for(admission.acquire(ticket("huge", ml_p4d_24xlarge=4)), 1)


async def test_a_refused_quota_pauses_until_one_of_ours_ends() -> None:
    admission = Admission(10)
    running = ticket("running", ml_p3_2xlarge=1)
    refused = ticket("refused", ml_p3_2xlarge=1)
    await admission.acquire(running)
    await admission.acquire(refused)
    backing_off = asyncio.create_task(
        admission.refused(refused, 30.0, "limit 'ml.p3.2xlarge for training job usage' is 2")
    )
    await settle()
    assert admission.paused == ["training:ml.p3.2xlarge"]
    later = asyncio.create_task(admission.acquire(ticket("later", ml_p3_2xlarge=1)))
    other = asyncio.create_task(admission.acquire(ticket("other", ml_m5_xlarge=1)))
    await settle()
    assert not later.done() and other.done()  # only the quota that was hit is paused
    admission.release(running)  # room freed under that quota: try again now, not in 30 s
    await asyncio.wait_for(backing_off, 1)
    await asyncio.wait_for(later, 1)
    assert admission.paused == []


async def test_a_refused_quota_resumes_after_the_back_off_when_none_of_ours_holds_it() -> None:
    admission = Admission(10)
    refused = ticket("refused", "processing", ml_m5_large=1)
    await admission.acquire(refused)
    # The message does not name the type: the kind as a whole pauses.
    await asyncio.wait_for(admission.refused(refused, 0.05, "too many processing jobs"), 1)
    waiter = asyncio.create_task(admission.acquire(ticket("next", "processing", ml_m5_large=1)))
    await asyncio.wait_for(waiter, 1)
    assert admission.in_flight == 1


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    admission = Admission(1)
    holder = ticket("holder")
    await admission.acquire(holder)
    cancelled = asyncio.create_task(admission.acquire(ticket("gone")))
    await settle()
    cancelled.cancel()
    await settle()
    admission.release(holder)
    await asyncio.wait_for(admission.acquire(ticket("next")), 1)
    assert admission.in_flight == 1


async def test_reattached_jobs_count_whatever_the_limits() -> None:
    admission = Admission(1)
    await admission.acquire(ticket("a"))
    await asyncio.wait_for(admission.acquire(ticket("b"), force=True), 1)
    assert admission.in_flight == 2


def test_limits_name_a_job_kind_and_an_instance_type() -> None:
    assert parse_limit("train=3") == ("training", 3)  # an alias, under the kind's own name
    assert parse_limit("process:ml.c5.xlarge=4") == ("processing:ml.c5.xlarge", 4)
    with pytest.raises(ValueError, match=r"'trainig' is not a job kind \(did you mean 'training'"):
        parse_limit("trainig=3")
    with pytest.raises(ValueError, match=r"'p3\.2xlarge' is not an instance type"):
        parse_limit("training:p3.2xlarge=3")
