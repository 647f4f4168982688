"""The runner core against the emulator over HTTP: many jobs, faults, re-attach, shutdown."""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections import Counter
from typing import Any

import pytest

from runner.core import Runner
from runner.errors import AwsCallFailed, JobConflict, RequestInvalid
from runner.naming import DIGEST_TAG, RUN_ID_TAG, Identity
from support import requests as req
from support.runner_setup import FAST_POLL, at_rest, runner_config
from support.stats import fetch_stats, set_faults


def duration(seconds: float, **more: Any) -> list[dict[str, str]]:
    return req.tags(**{"emulator:duration-seconds": seconds}, **more)


async def test_one_training_job_succeeds_with_its_outputs(emulator: Any) -> None:
    request = req.training(
        "core-one",
        AlgorithmSpecification={
            "TrainingImage": req.IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "loss", "Regex": "loss=(.*)"}],
        },
        Tags=duration(0.5),
    )
    async with Runner(runner_config(emulator.url)) as runner:
        handle = await runner.submit("training", request)
        outcome = await handle.wait()
    assert outcome.succeeded and outcome.status == "Completed"
    assert (
        outcome.outputs["model_artifact_url"] == "s3://bucket/output/core-one/output/model.tar.gz"
    )
    assert outcome.outputs["training_image"] == req.IMAGE
    assert set(outcome.outputs["metrics"]) == {"loss"}
    assert not outcome.attached


async def test_a_failed_job_is_an_outcome_not_an_exception(emulator: Any) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        bad = await runner.submit(
            "training",
            req.training(
                "core-bad", Tags=duration(0.3, **{"emulator:fail-reason": "ClientError: no data"})
            ),
        )
        good = await runner.submit("training", req.training("core-good", Tags=duration(0.3)))
        outcomes = {o.name: o for o in await runner.wait_all([bad, good])}
    assert outcomes["core-bad"].status == "Failed" and not outcomes["core-bad"].succeeded
    assert outcomes["core-bad"].failure_reason == "ClientError: no data"
    assert outcomes["core-good"].succeeded


async def test_debugger_rule_error_fails_a_completed_job(emulator: Any) -> None:
    rules = [{"RuleConfigurationName": "Overfit", "RuleEvaluatorImage": req.IMAGE}]
    request = req.training(
        "core-rules",
        DebugRuleConfigurations=rules,
        Tags=duration(0.4, **{"emulator:rule-status": "Error"}),
    )
    async with Runner(runner_config(emulator.url)) as runner:
        outcome = await (await runner.submit("training", request)).wait()
    assert outcome.status == "Completed" and not outcome.succeeded
    assert "Overfit" in (outcome.failure_reason or "")
    statuses = outcome.description["DebugRuleEvaluationStatuses"]
    assert statuses[0]["RuleEvaluationStatus"] == "Error"


async def test_invalid_request_is_refused_before_anything_is_sent(emulator: Any) -> None:
    request = req.training(
        "core-invalid",
        ResourceConfig={"InstanceType": "ml.nope", "InstanceCount": 1, "VolumeSizeInGB": "30"},
    )
    async with Runner(runner_config(emulator.url)) as runner:
        with pytest.raises(RequestInvalid) as refused:
            await runner.submit("training", request)
    paths = {p.path for p in refused.value.problems}
    assert paths == {"ResourceConfig.InstanceType", "ResourceConfig.VolumeSizeInGB"}
    stats = await fetch_stats(emulator.url)
    assert stats["calls"] == {} and stats["jobs"] == []


async def test_500_jobs_with_mixed_durations_and_failures(emulator: Any) -> None:
    rng = random.Random(7)
    expected: dict[str, str] = {}
    requests = []
    for index in range(500):
        name = f"fleet-{index:03d}"
        fails = index % 20 == 0  # 5%
        more = {"emulator:fail-reason": f"boom {index}"} if fails else {}
        requests.append(req.training(name, Tags=duration(rng.uniform(0.5, 3.0), **more)))
        expected[name] = "Failed" if fails else "Completed"

    started = time.monotonic()
    async with Runner(runner_config(emulator.url)) as runner:
        handles = await asyncio.gather(*(runner.submit("training", r) for r in requests))
        seen = {o.name: o.status async for o in runner.as_completed(handles)}
    elapsed = time.monotonic() - started
    assert seen == expected

    stats = await fetch_stats(emulator.url)
    calls = stats["calls"]
    status_calls = calls.get("DescribeTrainingJob", 0) + calls.get("ListTrainingJobs", 0)
    # One Describe per job per 0.2-1 s poll would be thousands of calls over this run. Delta
    # sweeps cost a few List pages every 0.5 s plus one Describe per job at its end (outputs),
    # plus the lookup before Create.
    polls_if_per_job = 500 * elapsed / FAST_POLL.maximum
    print(
        f"\n500 jobs in {elapsed:.1f}s: status calls {status_calls} ({calls}); per-job polling would be >= {polls_if_per_job:.0f}"
    )
    assert calls["CreateTrainingJob"] == 500
    assert calls.get("ListTrainingJobs", 0) > 0
    assert status_calls < 3.2 * 500 < polls_if_per_job


async def test_throttling_and_server_errors_never_fail_a_job(emulator: Any) -> None:
    await set_faults(emulator.url, throttle_rate=0.3, error_rate=0.05, seed=3)
    names = [f"rough-{i:02d}" for i in range(40)]
    async with Runner(runner_config(emulator.url)) as runner:
        handles = [
            await runner.submit("training", req.training(name, Tags=duration(0.5 + i % 4 * 0.3)))
            for i, name in enumerate(names)
        ]
        outcomes = await runner.wait_all(handles)
    assert [o.status for o in outcomes] == ["Completed"] * 40
    stats = await fetch_stats(emulator.url)
    assert sum(stats["throttled"].values()) > 0
    assert len([j for j in stats["jobs"] if j["kind"] == "training"]) == 40


async def test_same_identity_twice_creates_one_job(emulator: Any) -> None:
    identity = Identity("run-42", "train-step")
    request = req.training("", Tags=duration(0.6))
    del request["TrainingJobName"]
    async with Runner(runner_config(emulator.url)) as first:
        handle = await first.submit("training", request, identity=identity)
        name = handle.name
    # A second process (a restarted pod) with the same identity re-attaches.
    async with Runner(runner_config(emulator.url)) as second:
        again = await second.submit("training", request, identity=identity)
        outcome = await again.wait()
    assert again.name == name and outcome.attached and outcome.succeeded
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["CreateTrainingJob"] == 1
    (row,) = stats["jobs"]
    assert row["tags"][RUN_ID_TAG] == "run-42" and DIGEST_TAG in row["tags"]

    changed = {**request, "StoppingCondition": {"MaxRuntimeInSeconds": 60}}
    async with Runner(runner_config(emulator.url)) as third:
        with pytest.raises(JobConflict, match="different request"):
            await third.submit("training", changed, identity=identity)
    assert (await fetch_stats(emulator.url))["calls"]["CreateTrainingJob"] == 1


async def test_shutdown_stops_every_job_in_flight(emulator: Any) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        handles = await asyncio.gather(
            *(
                runner.submit("training", req.training(f"halt-{i:03d}", Tags=duration(60)))
                for i in range(200)
            )
        )
        await asyncio.sleep(0.3)
        shutdown_at = time.time()
        outcomes = await runner.shutdown(grace=10)
    assert len(outcomes) == 200
    assert Counter(o.status for o in outcomes) == {"Stopped": 200}
    assert all(o.stopped_by_runner and not o.succeeded for o in outcomes)
    stats = await fetch_stats(emulator.url)
    stop_times = [j["stop_requested_at"] for j in stats["jobs"]]
    assert all(t is not None for t in stop_times)
    print(
        f"\nshutdown of 200 jobs: last Stop request {max(stop_times) - shutdown_at:.3f}s after shutdown()"
    )
    assert stats["calls"]["StopTrainingJob"] == 200
    assert all(h.done for h in handles)


async def test_jobs_still_finish_when_listing_is_denied(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Runner(runner_config(emulator.url)) as runner:
        real_call = runner.caller.call

        async def call(service: str, operation: str, **params: Any) -> dict[str, Any]:
            if operation == "ListTrainingJobs":
                raise AwsCallFailed(operation, "AccessDeniedException", "not allowed to list")
            return await real_call(service, operation, **params)

        monkeypatch.setattr(runner.caller, "call", call)
        handles = [
            await runner.submit("training", req.training(f"nolist-{i}", Tags=duration(0.5)))
            for i in range(6)
        ]
        outcomes = await runner.wait_all(handles)
    assert [o.status for o in outcomes] == ["Completed"] * 6


async def test_an_ended_job_is_held_only_by_its_handles(emulator: Any) -> None:
    """The runner keeps no ended job for itself: its final Describe goes with its last handle
    (10,000 of them would otherwise stay for the process's life); while a handle is held, a
    second submit is the same job, and once none is, it is re-attached to in SageMaker."""
    request = req.training("core-held", Tags=duration(0.2))
    async with Runner(runner_config(emulator.url)) as runner:
        handle = await runner.submit("training", request)
        outcome = await handle.wait()
        again = await runner.submit("training", request)
        assert (await again.wait()) is outcome  # one job, two handles
        tracked = weakref.ref(handle._job)
        del handle, again
        await at_rest(runner)
        assert tracked() is None
        reattached = await (await runner.submit("training", request)).wait()
    assert reattached.attached and reattached.succeeded and not outcome.attached
    assert reattached.arn == outcome.arn
