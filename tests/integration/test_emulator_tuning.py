"""Hyperparameter tuning jobs through aiobotocore against the emulator.

Most tests move the emulator's clock by hand (the ``clock`` fixture): a tuning job's life is a
plan on that clock, so every wave, counter and timestamp can be checked at an exact moment,
and no test waits. One test runs on the wall clock to show the plain client-side flow.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support import requests as req

OBJECTIVE = "validation:accuracy"
START = 1_700_000_000.0


class ManualClock:
    """The emulator's clock, moved only by the test."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(emulator: Any) -> ManualClock:
    manual = ManualClock()
    emulator.emulator.clock = manual
    return manual


def definition(**overrides: Any) -> dict[str, Any]:
    """A training job definition built from the minimal training request."""
    training = req.training("unused")
    spec: dict[str, Any] = {
        "StaticHyperParameters": {"epochs": "3"},
        "AlgorithmSpecification": {
            "TrainingImage": req.IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}],
        },
        "RoleArn": training["RoleArn"],
        "InputDataConfig": training["InputDataConfig"],
        "OutputDataConfig": training["OutputDataConfig"],
        "ResourceConfig": training["ResourceConfig"],
        "StoppingCondition": training["StoppingCondition"],
    }
    spec.update(overrides)
    return spec


RANGES = {
    "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1", "MaxValue": "8"}],
    "ContinuousParameterRanges": [
        {
            "Name": "learning_rate",
            "MinValue": "0.0001",
            "MaxValue": "0.1",
            "ScalingType": "Logarithmic",
        }
    ],
    "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]}],
}


def tuning(
    name: str,
    *,
    max_jobs: int | None = 4,
    parallel: int = 2,
    objective_type: str = "Maximize",
    tags: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": OBJECTIVE},
            "ResourceLimits": limits,
            "ParameterRanges": RANGES,
        },
        "TrainingJobDefinition": definition(),
        "Tags": req.tags(**{"emulator:duration-seconds": 10, **(tags or {})}),
    }
    request.update(overrides)
    return request


async def children_of(sagemaker: Any, name: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of ListTrainingJobsForHyperParameterTuningJob."""
    summaries: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = await sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, **params, **token
        )
        summaries.extend(page["TrainingJobSummaries"])
        if "NextToken" not in page:
            return summaries
        token = {"NextToken": page["NextToken"]}


def counters(job: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    return job["TrainingJobStatusCounters"], job["ObjectiveStatusCounters"]


def statuses(
    completed: int = 0, in_progress: int = 0, failed: int = 0, stopped: int = 0
) -> dict[str, int]:
    """TrainingJobStatusCounters; a failed child counts as a NonRetryableError."""
    return {
        "Completed": completed,
        "InProgress": in_progress,
        "RetryableError": 0,
        "NonRetryableError": failed,
        "Stopped": stopped,
    }


@pytest.mark.parametrize("objective_type", ["Maximize", "Minimize"])
async def test_children_run_in_waves_and_the_best_one_wins(
    sagemaker: Any, clock: ManualClock, objective_type: str
) -> None:
    created = await sagemaker.create_hyper_parameter_tuning_job(
        **tuning("waves", objective_type=objective_type)
    )
    assert created["HyperParameterTuningJobArn"].endswith(":hyper-parameter-tuning-job/waves")

    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="waves")
    assert job["HyperParameterTuningJobStatus"] == "InProgress"
    assert counters(job) == (
        statuses(in_progress=2),
        {"Succeeded": 0, "Pending": 2, "Failed": 0},
    )
    assert "BestTrainingJob" not in job and "HyperParameterTuningEndTime" not in job
    # The request's configuration is echoed.
    assert job["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4
    # ... with the objective SageMaker adds to the static hyperparameters.
    assert job["TrainingJobDefinition"]["StaticHyperParameters"] == {
        "epochs": "3",
        "_tuning_objective_metric": "validation:accuracy",
    }
    assert len(await children_of(sagemaker, "waves")) == 2, "the second wave is not launched yet"

    clock.advance(10)  # the first wave ends, the second starts
    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="waves")
    assert counters(job)[0] == statuses(completed=2, in_progress=2)
    assert job["BestTrainingJob"]["TrainingJobStatus"] == "Completed"

    clock.advance(10)
    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="waves")
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert counters(job) == (
        statuses(completed=4),
        {"Succeeded": 4, "Pending": 0, "Failed": 0},
    )
    assert job["HyperParameterTuningEndTime"].timestamp() == pytest.approx(START + 20)

    children = await children_of(sagemaker, "waves")
    assert [child["TrainingJobName"] for child in children] == sorted(
        child["TrainingJobName"] for child in children
    ), "sorted by name, ascending, by default"
    values = {
        child["TrainingJobName"]: child["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for child in children
    }
    pick = max if objective_type == "Maximize" else min
    best = job["BestTrainingJob"]
    assert best["TrainingJobName"] == pick(values, key=lambda name: values[name])
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": objective_type,
        "MetricName": OBJECTIVE,
        "Value": values[best["TrainingJobName"]],
    }
    assert best["ObjectiveStatus"] == "Succeeded" and best["TuningJobName"] == "waves"
    assert set(best["TunedHyperParameters"]) == {"layers", "learning_rate", "optimizer"}

    for child in children:
        assert re.fullmatch(r"waves-00[1-4]-[0-9a-f]{8}", child["TrainingJobName"])
        described = await sagemaker.describe_training_job(TrainingJobName=child["TrainingJobName"])
        assert described["TuningJobArn"] == created["HyperParameterTuningJobArn"]
        hyperparameters = described["HyperParameters"]
        assert hyperparameters["_tuning_objective_metric"] == OBJECTIVE
        assert hyperparameters["epochs"] == "3"
        assert 1 <= int(hyperparameters["layers"]) <= 8
        assert 0.0001 <= float(hyperparameters["learning_rate"]) <= 0.1
        assert hyperparameters["optimizer"] in {"sgd", "adam"}
        assert child["TunedHyperParameters"] == {
            key: hyperparameters[key] for key in ("layers", "learning_rate", "optimizer")
        }
        metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
        assert metrics[OBJECTIVE] == values[child["TrainingJobName"]]
        assert "train:loss" in metrics

    listed = await sagemaker.list_training_jobs(NameContains="waves-", MaxResults=100)
    assert {s["TrainingJobName"] for s in listed["TrainingJobSummaries"]} == set(values)


async def test_last_modified_time_moves_with_every_child_transition(
    sagemaker: Any, clock: ManualClock
) -> None:
    # One child of the first wave fails at 70% of its run: the counters change at 7s, 10s, 20s.
    await sagemaker.create_hyper_parameter_tuning_job(
        **tuning("modified", tags={"emulator:child-fail-count": 1})
    )
    seen = []
    for step in (0, 7, 3, 5, 5):
        clock.advance(step)
        job = await sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="modified"
        )
        seen.append(job["LastModifiedTime"].timestamp() - START)
    assert seen == pytest.approx([0, 7, 10, 10, 20])

    listed = await sagemaker.list_hyper_parameter_tuning_jobs(NameContains="modified")
    summary = listed["HyperParameterTuningJobSummaries"][0]
    assert summary["LastModifiedTime"] == job["LastModifiedTime"]
    assert summary["HyperParameterTuningJobStatus"] == "Completed"
    assert summary["Strategy"] == "Bayesian"
    assert summary["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}
    assert summary["TrainingJobStatusCounters"]["NonRetryableError"] == 1


async def test_failed_children_are_counted_and_the_tuning_job_still_completes(
    sagemaker: Any, clock: ManualClock
) -> None:
    await sagemaker.create_hyper_parameter_tuning_job(
        **tuning("child-fail", tags={"emulator:child-fail-count": 2})
    )
    clock.advance(20)
    job = await sagemaker.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="child-fail"
    )
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert counters(job) == (
        statuses(completed=2, failed=2),
        {"Succeeded": 2, "Pending": 0, "Failed": 2},
    )
    failed = await children_of(sagemaker, "child-fail", StatusEquals="Failed")
    assert {child["TrainingJobName"][:14] for child in failed} == {
        "child-fail-001",
        "child-fail-002",
    }
    for child in failed:
        assert child["ObjectiveStatus"] == "Failed"
        assert child["FailureReason"].startswith("AlgorithmError")
        assert "FinalHyperParameterTuningJobObjectiveMetric" not in child
    assert job["BestTrainingJob"]["TrainingJobName"] not in {c["TrainingJobName"] for c in failed}

    # Sorting by the objective leaves out the jobs that have none, as SageMaker does.
    ranked = await children_of(
        sagemaker, "child-fail", SortBy="FinalObjectiveMetricValue", SortOrder="Descending"
    )
    ranked_values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in ranked]
    assert len(ranked) == 2 and ranked_values == sorted(ranked_values, reverse=True)
    assert ranked[0]["TrainingJobName"] == job["BestTrainingJob"]["TrainingJobName"]

    # Paging one at a time sees every child once.
    paged = await children_of(sagemaker, "child-fail", MaxResults=1, SortBy="CreationTime")
    assert len({c["TrainingJobName"] for c in paged}) == 4


async def test_children_inherit_tags_but_not_the_emulator_controls(
    sagemaker: Any, clock: ManualClock, emulator: Any
) -> None:
    await sagemaker.create_hyper_parameter_tuning_job(
        **tuning("tagged", tags={"emulator:child-fail-count": 1, "team": "search"})
    )
    children = await children_of(sagemaker, "tagged")
    tags = {
        child["TrainingJobName"]: emulator.emulator.tags[child["TrainingJobArn"]]
        for child in children
    }
    for name, child_tags in tags.items():
        assert child_tags["team"] == "search"
        assert "emulator:child-fail-count" not in child_tags
        assert "emulator:duration-seconds" not in child_tags
        assert ("emulator:fail-reason" in child_tags) == name.startswith("tagged-001-")


async def test_stop_stops_running_children_and_launches_no_more(
    sagemaker: Any, logs: Any, clock: ManualClock, emulator: Any
) -> None:
    await sagemaker.create_hyper_parameter_tuning_job(**tuning("stop-me", max_jobs=6))
    clock.advance(5)
    await sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stop-me")
    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="stop-me")
    assert job["HyperParameterTuningJobStatus"] == "Stopping"
    assert counters(job)[0]["InProgress"] == 2
    children = await children_of(sagemaker, "stop-me")
    assert {child["TrainingJobStatus"] for child in children} == {"Stopping"}
    # A second Stop while Stopping changes nothing.
    await sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stop-me")

    clock.advance(60)  # long past when the later waves would have started
    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="stop-me")
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    assert counters(job) == (
        statuses(stopped=2),
        {"Succeeded": 0, "Pending": 0, "Failed": 2},
    )
    stop_duration = emulator.emulator.config.stop_duration
    assert job["HyperParameterTuningEndTime"].timestamp() == pytest.approx(
        START + 5 + stop_duration
    )
    children = await children_of(sagemaker, "stop-me")
    assert len(children) == 2 and {child["TrainingJobStatus"] for child in children} == {"Stopped"}
    listed = await sagemaker.list_training_jobs(NameContains="stop-me-", MaxResults=100)
    assert len(listed["TrainingJobSummaries"]) == 2, "unlaunched children never appear"
    streams = await logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="stop-me-"
    )
    stream_jobs = {s["logStreamName"].split("/")[0] for s in streams["logStreams"]}
    assert stream_jobs == {child["TrainingJobName"] for child in children}, "nor do their logs"

    with pytest.raises(ClientError) as stopped_twice:
        await sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stop-me")
    assert stopped_twice.value.response["Error"]["Code"] == "ValidationException"


async def test_stopping_one_child_counts_it_and_moves_the_end(
    sagemaker: Any, clock: ManualClock, emulator: Any
) -> None:
    await sagemaker.create_hyper_parameter_tuning_job(**tuning("one-stop", max_jobs=2))
    first, second = await children_of(sagemaker, "one-stop")
    clock.advance(4)
    await sagemaker.stop_training_job(TrainingJobName=first["TrainingJobName"])
    clock.advance(1)
    job = await sagemaker.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="one-stop"
    )
    stop_duration = emulator.emulator.config.stop_duration
    assert job["HyperParameterTuningJobStatus"] == "InProgress"
    assert counters(job)[0] == statuses(in_progress=1, stopped=1)
    assert job["LastModifiedTime"].timestamp() == pytest.approx(START + 4 + stop_duration)

    await sagemaker.stop_training_job(TrainingJobName=second["TrainingJobName"])
    clock.advance(stop_duration)
    job = await sagemaker.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="one-stop"
    )
    # Every child ended (stopped): the tuning job is over, not waiting for the planned 10s.
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert counters(job)[0]["Stopped"] == 2 and "BestTrainingJob" not in job


async def test_fail_reason_fails_the_tuning_job_after_its_first_wave(
    sagemaker: Any, clock: ManualClock
) -> None:
    await sagemaker.create_hyper_parameter_tuning_job(
        **tuning("doomed", tags={"emulator:fail-reason": "ClientError: too many failures"})
    )
    clock.advance(9)
    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="doomed")
    assert job["HyperParameterTuningJobStatus"] == "InProgress" and "FailureReason" not in job
    clock.advance(30)
    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="doomed")
    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert job["FailureReason"] == "ClientError: too many failures"
    assert job["HyperParameterTuningEndTime"].timestamp() == pytest.approx(START + 10)
    children = await children_of(sagemaker, "doomed")
    assert len(children) == 2, "no child is launched after the first wave"
    assert {child["TrainingJobStatus"] for child in children} == {"Completed"}


async def test_grid_search_walks_every_combination(sagemaker: Any, clock: ManualClock) -> None:
    grid_ranges = {
        "CategoricalParameterRanges": [
            {"Name": "optimizer", "Values": ["sgd", "adam"]},
            {"Name": "batch", "Values": ["32", "64", "128"]},
        ]
    }
    request = tuning("grid", max_jobs=None, parallel=3)
    request["HyperParameterTuningJobConfig"].update(Strategy="Grid", ParameterRanges=grid_ranges)
    await sagemaker.create_hyper_parameter_tuning_job(**request)
    clock.advance(20)
    children = await children_of(sagemaker, "grid")
    combinations = {
        (c["TunedHyperParameters"]["optimizer"], c["TunedHyperParameters"]["batch"])
        for c in children
    }
    assert len(children) == 6 and len(combinations) == 6


async def test_several_definitions_take_turns(sagemaker: Any, clock: ManualClock) -> None:
    objective = {"Type": "Minimize", "MetricName": "validation:loss"}
    request = tuning("multi", max_jobs=4, parallel=4)
    del request["TrainingJobDefinition"]
    del request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    del request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    request["TrainingJobDefinitions"] = [
        definition(DefinitionName=name, TuningObjective=objective, HyperParameterRanges=RANGES)
        for name in ("small", "large")
    ]
    await sagemaker.create_hyper_parameter_tuning_job(**request)
    clock.advance(10)
    children = await children_of(sagemaker, "multi")
    assert [c["TrainingJobDefinitionName"] for c in children] == [
        "small",
        "large",
        "small",
        "large",
    ]
    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="multi")
    best_value = job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert best_value == min(
        c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in children
    )


async def test_the_emulator_caps_children_at_fifty(sagemaker: Any, clock: ManualClock) -> None:
    await sagemaker.create_hyper_parameter_tuning_job(**tuning("big", max_jobs=80, parallel=10))
    clock.advance(1000)
    job = await sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="big")
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert counters(job)[0]["Completed"] == 50
    assert job["HyperParameterTuningEndTime"].timestamp() == pytest.approx(START + 50)
    names = [c["TrainingJobName"] for c in await children_of(sagemaker, "big", MaxResults=100)]
    assert len(set(names)) == 50 and names[-1].startswith("big-050-")


def without(request: dict[str, Any], *path: str) -> dict[str, Any]:
    target = request
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return request


def with_ranges(**ranges: Any) -> dict[str, Any]:
    request = tuning("invalid")
    request["HyperParameterTuningJobConfig"]["ParameterRanges"] = ranges
    return request


INVALID_REQUESTS = {
    "both definitions": (
        tuning("invalid", TrainingJobDefinitions=[definition(DefinitionName="one")]),
        "Exactly one of TrainingJobDefinition or TrainingJobDefinitions",
    ),
    "no definition": (without(tuning("invalid"), "TrainingJobDefinition"), "Exactly one of"),
    "parallel above total": (
        tuning("invalid", max_jobs=2, parallel=3),
        "MaxParallelTrainingJobs (3)",
    ),
    "static and tuned": (
        tuning("invalid", TrainingJobDefinition=definition(StaticHyperParameters={"layers": "2"})),
        "Hyperparameter layers is both static",
    ),
    "min above max": (
        with_ranges(IntegerParameterRanges=[{"Name": "layers", "MinValue": "9", "MaxValue": "2"}]),
        "must not be greater than its MaxValue",
    ),
    "not a number": (
        with_ranges(ContinuousParameterRanges=[{"Name": "lr", "MinValue": "low", "MaxValue": "1"}]),
        "must be numbers",
    ),
    "log of zero": (
        with_ranges(
            ContinuousParameterRanges=[
                {"Name": "lr", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}
            ]
        ),
        "needs a MinValue greater than 0",
    ),
    "too few combinations": (
        with_ranges(CategoricalParameterRanges=[{"Name": "optimizer", "Values": ["sgd", "adam"]}]),
        "enough combinations",
    ),
    "grid with a continuous range": (
        tuning(
            "invalid",
            HyperParameterTuningJobConfig={
                "Strategy": "Grid",
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": OBJECTIVE},
                "ResourceLimits": {"MaxParallelTrainingJobs": 1},
                "ParameterRanges": RANGES,
            },
        ),
        "Grid strategy supports only CategoricalParameterRanges",
    ),
    "no objective": (
        without(
            tuning("invalid"), "HyperParameterTuningJobConfig", "HyperParameterTuningJobObjective"
        ),
        "no tuning objective",
    ),
    "no algorithm": (
        tuning(
            "invalid",
            TrainingJobDefinition=definition(AlgorithmSpecification={"TrainingInputMode": "File"}),
        ),
        "exactly one of TrainingImage or AlgorithmName",
    ),
    "bad child-fail-count": (
        tuning("invalid", tags={"emulator:child-fail-count": "some"}),
        "emulator:child-fail-count must be a whole number",
    ),
}


async def test_requests_sagemaker_refuses_are_refused(sagemaker: Any) -> None:
    for case, (request, message) in INVALID_REQUESTS.items():
        with pytest.raises(ClientError) as refused:
            await sagemaker.create_hyper_parameter_tuning_job(**request)
        error = refused.value.response["Error"]
        assert error["Code"] == "ValidationException", case
        assert message in error["Message"], case
    listed = await sagemaker.list_hyper_parameter_tuning_jobs()
    assert listed["HyperParameterTuningJobSummaries"] == [], (
        "a refused request leaves nothing behind"
    )
    assert (await sagemaker.list_training_jobs())["TrainingJobSummaries"] == [], "nor any child"


async def test_duplicate_and_missing_names(sagemaker: Any, clock: ManualClock) -> None:
    await sagemaker.create_hyper_parameter_tuning_job(**tuning("twice"))
    with pytest.raises(ClientError) as duplicate:
        await sagemaker.create_hyper_parameter_tuning_job(**tuning("twice"))
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse"
    for call in (
        sagemaker.describe_hyper_parameter_tuning_job,
        sagemaker.list_training_jobs_for_hyper_parameter_tuning_job,
        sagemaker.stop_hyper_parameter_tuning_job,
    ):
        with pytest.raises(ClientError) as missing:
            await call(HyperParameterTuningJobName="nobody")
        assert missing.value.response["Error"]["Code"] == "ResourceNotFound"


async def test_a_tuning_job_completes_on_the_wall_clock(sagemaker: Any) -> None:
    await sagemaker.create_hyper_parameter_tuning_job(
        **tuning("wall", tags={"emulator:duration-seconds": 0.3})
    )
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        job = await sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="wall"
        )
        if job["HyperParameterTuningJobStatus"] != "InProgress":
            break
        assert asyncio.get_running_loop().time() < deadline, "the tuning job never finished"
        await asyncio.sleep(0.05)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert counters(job)[0]["Completed"] == 4
    assert job["BestTrainingJob"]["TrainingJobStatus"] == "Completed"
