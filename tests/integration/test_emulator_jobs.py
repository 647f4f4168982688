"""Training, processing, transform and labeling jobs through aiobotocore against the emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from support import requests as req
from support.stats import fetch_stats


async def wait_for_status(
    describe: Any, status: str, within: float = 5.0, **kwargs: Any
) -> dict[str, Any]:
    """Poll ``describe(**kwargs)`` until its status field equals ``status``."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response: dict[str, Any] = await describe(**kwargs)
        current = next(
            v for k, v in response.items() if k.endswith("Status") and k != "SecondaryStatus"
        )
        if current == status:
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {current} after {within}s, wanted {status}")
        await asyncio.sleep(0.05)


class FrozenClock:
    """The emulator's clock, moved by hand: statuses checked at exact moments, not by racing."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_training_job_goes_through_its_lifecycle(sagemaker: Any) -> None:
    request = req.training(
        "lifecycle-1",
        AlgorithmSpecification={
            "TrainingImage": req.IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "validation:loss", "Regex": "loss=([0-9.]+)"}],
        },
    )
    created = await sagemaker.create_training_job(**request)
    assert created["TrainingJobArn"].endswith(":training-job/lifecycle-1")

    seen_secondary: list[str] = []
    modified_times: set[dt.datetime] = set()
    while True:
        job = await sagemaker.describe_training_job(TrainingJobName="lifecycle-1")
        if not seen_secondary or seen_secondary[-1] != job["SecondaryStatus"]:
            seen_secondary.append(job["SecondaryStatus"])
        modified_times.add(job["LastModifiedTime"])
        if job["TrainingJobStatus"] != "InProgress":
            break
        await asyncio.sleep(0.02)

    assert job["TrainingJobStatus"] == "Completed"
    assert seen_secondary[0] == "Starting" and seen_secondary[-1] == "Completed"
    assert set(seen_secondary) <= {"Starting", "Downloading", "Training", "Uploading", "Completed"}
    assert len(modified_times) == len(seen_secondary), (
        "LastModifiedTime changes with every transition"
    )
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert (
        job["ModelArtifacts"]["S3ModelArtifacts"]
        == "s3://bucket/output/lifecycle-1/output/model.tar.gz"
    )
    assert job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert [m["MetricName"] for m in job["FinalMetricDataList"]] == ["validation:loss"]
    # The request's own fields are echoed, as SageMaker does.
    assert job["ResourceConfig"] == request["ResourceConfig"]
    assert job["RoleArn"] == req.ROLE


async def test_stop_goes_through_stopping_to_stopped(sagemaker: Any, emulator: Any) -> None:
    clock = emulator.emulator.clock = FrozenClock()
    await sagemaker.create_training_job(
        **req.training("to-stop", Tags=req.tags(**{"emulator:duration-seconds": 30}))
    )
    await sagemaker.stop_training_job(TrainingJobName="to-stop")
    job = await sagemaker.describe_training_job(TrainingJobName="to-stop")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopping", "Stopping")
    # A second Stop while Stopping is accepted and changes nothing.
    await sagemaker.stop_training_job(TrainingJobName="to-stop")
    clock.now += 1  # the fixture's stop_duration is 0.2 s
    job = await sagemaker.describe_training_job(TrainingJobName="to-stop")
    assert job["TrainingJobStatus"] == "Stopped"
    assert "FailureReason" not in job

    with pytest.raises(ClientError) as refused:
        await sagemaker.stop_training_job(TrainingJobName="to-stop")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "in status Stopped" in refused.value.response["Error"]["Message"]

    rows = {row["name"]: row for row in (await fetch_stats(emulator.url))["jobs"]}
    assert rows["to-stop"]["status"] == "Stopped"
    assert rows["to-stop"]["stop_requested_at"] is not None
    assert rows["to-stop"]["ended_at"] >= rows["to-stop"]["stop_requested_at"]


async def test_fail_reason_tag_fails_the_job(sagemaker: Any) -> None:
    tags = req.tags(
        **{
            "emulator:fail-reason": "AlgorithmError: out of memory",
            "emulator:duration-seconds": 0.3,
        }
    )
    await sagemaker.create_training_job(**req.training("doomed", Tags=tags))
    job = await wait_for_status(sagemaker.describe_training_job, "Failed", TrainingJobName="doomed")
    assert job["FailureReason"] == "AlgorithmError: out of memory"
    assert job["SecondaryStatus"] == "Failed"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == ""


async def test_debugger_rules_finish_after_completion(sagemaker: Any) -> None:
    rules = [{"RuleConfigurationName": "LossNotDecreasing", "RuleEvaluatorImage": req.IMAGE}]
    tags = req.tags(**{"emulator:duration-seconds": 0.3, "emulator:rule-status": "Error"})
    await sagemaker.create_training_job(
        **req.training("ruled", DebugRuleConfigurations=rules, Tags=tags)
    )
    job = await wait_for_status(
        sagemaker.describe_training_job, "Completed", TrainingJobName="ruled"
    )
    statuses = [r["RuleEvaluationStatus"] for r in job["DebugRuleEvaluationStatuses"]]
    assert statuses in (["InProgress"], ["Error"])
    await asyncio.sleep(0.1)
    job = await sagemaker.describe_training_job(TrainingJobName="ruled")
    assert job["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"] == "Error"
    assert job["LastModifiedTime"] > job["TrainingEndTime"]


async def test_duplicate_and_missing_names_answer_like_sagemaker(sagemaker: Any) -> None:
    await sagemaker.create_training_job(**req.training("only-once"))
    with pytest.raises(ClientError) as duplicate:
        await sagemaker.create_training_job(**req.training("only-once"))
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(ClientError) as missing:
        await sagemaker.describe_training_job(TrainingJobName="never-created")
    # Not ResourceNotFound, whatever botocore's model says (boto/boto3#2808).
    assert missing.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Requested resource not found.",
    }


async def test_service_rules_beyond_the_shape_are_enforced(sagemaker: Any) -> None:
    spot = req.training(
        "spot-without-wait",
        EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    with pytest.raises(ClientError) as refused:
        await sagemaker.create_training_job(**spot)
    assert "MaxWaitTimeInSeconds" in refused.value.response["Error"]["Message"]
    both = req.training(
        "image-and-name",
        AlgorithmSpecification={
            "TrainingImage": req.IMAGE,
            "AlgorithmName": "x",
            "TrainingInputMode": "File",
        },
    )
    with pytest.raises(ClientError, match="exactly one of TrainingImage or AlgorithmName"):
        await sagemaker.create_training_job(**both)


async def test_client_side_validation_runs_before_sending(sagemaker: Any, emulator: Any) -> None:
    with pytest.raises(ParamValidationError):
        await sagemaker.create_training_job(TrainingJobName="x")
    assert "CreateTrainingJob" not in (await fetch_stats(emulator.url))["calls"]


async def test_server_side_validation_names_the_field(client_factory: Any, emulator: Any) -> None:
    # A client with validation off shows what the server itself refuses.
    async with client_factory("sagemaker", parameter_validation=False) as raw:
        with pytest.raises(ClientError) as refused:
            await raw.create_training_job(**req.training("bad name!"))
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    # In AWS's words (runner.validation's sources): the member in lower camel case.
    assert error["Message"] == (
        "1 validation error detected: Value 'bad name!' at 'trainingJobName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )
    assert (await fetch_stats(emulator.url))["jobs"] == []


async def test_processing_job_completes_with_its_outputs(sagemaker: Any, emulator: Any) -> None:
    clock = emulator.emulator.clock = FrozenClock()
    request = req.processing("proc-1", Tags=req.tags(**{"emulator:duration-seconds": 2}))
    await sagemaker.create_processing_job(**request)
    first = await sagemaker.describe_processing_job(ProcessingJobName="proc-1")
    assert first["ProcessingJobStatus"] == "InProgress"
    clock.now += 2.5
    job = await sagemaker.describe_processing_job(ProcessingJobName="proc-1")
    assert job["ProcessingJobStatus"] == "Completed"
    # The request's outputs, with the AppManaged default SageMaker fills in.
    outputs = [
        {**output, "AppManaged": False} for output in request["ProcessingOutputConfig"]["Outputs"]
    ]
    assert job["ProcessingOutputConfig"] == {"Outputs": outputs}
    assert job["ProcessingStartTime"] <= job["ProcessingEndTime"]


async def test_transform_job_needs_its_model(sagemaker: Any) -> None:
    with pytest.raises(ClientError, match="Could not find model"):
        await sagemaker.create_transform_job(**req.transform("batch-1", "no-such-model"))


async def test_labeling_job_lifecycle(sagemaker: Any, emulator: Any) -> None:
    clock = emulator.emulator.clock = FrozenClock()
    workteam = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team"
    request = req.labeling("label-1", workteam, Tags=req.tags(**{"emulator:duration-seconds": 10}))
    await sagemaker.create_labeling_job(**request)
    first = await sagemaker.describe_labeling_job(LabelingJobName="label-1")
    assert first["LabelingJobStatus"] == "Initializing"
    clock.now += 5
    middle = await sagemaker.describe_labeling_job(LabelingJobName="label-1")
    assert middle["LabelingJobStatus"] == "InProgress"
    clock.now += 6
    job = await sagemaker.describe_labeling_job(LabelingJobName="label-1")
    assert job["LabelingJobStatus"] == "Completed"
    assert job["LabelingJobOutput"]["OutputDatasetS3Uri"].endswith(
        "label-1/manifests/output/output.manifest"
    )
    assert job["LabelCounters"]["TotalLabeled"] == 100
    listed = await sagemaker.list_labeling_jobs(StatusEquals="Completed")
    assert [s["LabelingJobName"] for s in listed["LabelingJobSummaryList"]] == ["label-1"]


async def test_listing_250_jobs_pages_before_filtering(sagemaker: Any, emulator: Any) -> None:
    # 250 jobs; 100 of them end soon, so LastModifiedTimeAfter a moment after creation
    # matches exactly those 100. AWS cuts each page of 30 first and filters it after, so the
    # listing takes ceil(250 / 30) = 9 pages, some of them short, and still returns each match
    # exactly once.
    clock = emulator.emulator.clock = FrozenClock()
    quick = req.tags(**{"emulator:duration-seconds": 3})
    slow = req.tags(**{"emulator:duration-seconds": 600})
    for i in range(250):
        clock.now += 0.001
        await sagemaker.create_training_job(
            **req.training(f"many-{i:03d}", Tags=quick if i % 5 < 2 else slow)
        )
    mark = dt.datetime.fromtimestamp(clock.now + 0.5, dt.UTC)
    clock.now += 3.5  # every quick job completed after the mark; slow ones changed at +60 s

    names: list[str] = []
    sizes: list[int] = []
    kwargs: dict[str, Any] = {
        "LastModifiedTimeAfter": mark,
        "MaxResults": 30,
        "SortBy": "Name",
        "SortOrder": "Ascending",
    }
    while True:
        page = await sagemaker.list_training_jobs(**kwargs)
        sizes.append(len(page["TrainingJobSummaries"]))
        names.extend(s["TrainingJobName"] for s in page["TrainingJobSummaries"])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    expected = [f"many-{i:03d}" for i in range(250) if i % 5 < 2]
    assert names == expected
    assert sizes == [12] * 8 + [4]  # 2 in 5 of every 30 scanned; the last scans 10

    paginator = sagemaker.get_paginator("list_training_jobs")
    everything = [
        s
        async for page in paginator.paginate(PaginationConfig={"PageSize": 100})
        for s in page["TrainingJobSummaries"]
    ]
    assert len(everything) == 250
    created = [s["CreationTime"] for s in everything]
    assert created == sorted(created, reverse=True), "default order is CreationTime descending"

    # StatusEquals over the newest 100: only the in-progress ones among them.
    in_progress = await sagemaker.list_training_jobs(
        StatusEquals="InProgress", NameContains="MANY-", MaxResults=100
    )
    summaries = in_progress["TrainingJobSummaries"]
    assert len(summaries) == 60 and "NextToken" in in_progress
    assert all(s["TrainingJobStatus"] == "InProgress" for s in summaries)


async def test_stats_report_calls_and_jobs(sagemaker: Any, emulator: Any) -> None:
    await sagemaker.create_training_job(**req.training("counted", Tags=req.tags(team="ml")))
    await sagemaker.describe_training_job(TrainingJobName="counted")
    await sagemaker.describe_training_job(TrainingJobName="counted")
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["CreateTrainingJob"] == 1
    assert stats["calls"]["DescribeTrainingJob"] == 2
    (row,) = stats["jobs"]
    assert row["kind"] == "training" and row["name"] == "counted"
    assert row["tags"] == {"team": "ml"} and row["ended_at"] is None
