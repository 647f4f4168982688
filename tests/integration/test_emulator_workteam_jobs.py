"""ListLabelingJobsForWorkteam: the labeling jobs a work team is given, through aiobotocore and
plain boto3, with its filters, order and pages as botocore's model and the API reference have
them, and ResourceNotFound for a team that is not there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.server import BackgroundEmulator
from emulator.state import EmulatorConfig
from support import requests as req
from support.clock import HandClock

TEAM_JOBS = ("boxes-a", "boxes-b", "boxes-c", "boxes-d")


async def make_team(sagemaker: Any, name: str) -> str:
    created = await sagemaker.create_workteam(
        WorkteamName=name, MemberDefinitions=req.cognito_members(), Description=name
    )
    arn: str = created["WorkteamArn"]
    return arn


@pytest.fixture
async def teams(emulator: Any, sagemaker: Any) -> dict[str, Any]:
    """Two teams; four jobs for "labelers" created 10 s apart, one for "reviewers"."""
    clock = emulator.emulator.clock = HandClock()
    # Whole seconds: clients send timestamps rounded to the millisecond, and the bounds below
    # are the jobs' own creation times.
    clock.now = float(int(clock.now))
    labelers = await make_team(sagemaker, "labelers")
    reviewers = await make_team(sagemaker, "reviewers")
    created = {}
    for index, name in enumerate(TEAM_JOBS):
        task = {**req.labeling(name, labelers)["HumanTaskConfig"]}
        task["NumberOfHumanWorkersPerDataObject"] = index + 1
        await sagemaker.create_labeling_job(**req.labeling(name, labelers, HumanTaskConfig=task))
        created[name] = dt.datetime.fromtimestamp(clock.now, dt.UTC)
        clock.advance(10)
    await sagemaker.create_labeling_job(**req.labeling("review-1", reviewers))
    clock.advance(10)
    return {"labelers": labelers, "reviewers": reviewers, "created": created, "clock": clock}


def names(answer: dict[str, Any]) -> list[str]:
    return [summary["LabelingJobName"] for summary in answer["LabelingJobSummaryList"]]


async def test_a_teams_jobs_oldest_first_with_their_summaries(
    sagemaker: Any, teams: dict[str, Any]
) -> None:
    answer = await sagemaker.list_labeling_jobs_for_workteam(WorkteamArn=teams["labelers"])
    assert names(answer) == list(TEAM_JOBS)  # CreationTime, Ascending by default
    assert "NextToken" not in answer
    first = answer["LabelingJobSummaryList"][0]
    described = await sagemaker.describe_labeling_job(LabelingJobName="boxes-a")
    counters = described["LabelCounters"]
    assert first == {
        "LabelingJobName": "boxes-a",
        "JobReferenceCode": described["JobReferenceCode"],
        "WorkRequesterAccountId": "123456789012",
        "CreationTime": described["CreationTime"],
        "LabelCounters": {
            "HumanLabeled": counters["HumanLabeled"],
            "PendingHuman": counters["Unlabeled"],
            "Total": counters["TotalLabeled"]
            + counters["Unlabeled"]
            + counters["FailedNonRetryableError"],
        },
        "NumberOfHumanWorkersPerDataObject": 1,
    }
    assert [s["NumberOfHumanWorkersPerDataObject"] for s in answer["LabelingJobSummaryList"]] == [
        1,
        2,
        3,
        4,
    ]
    other = await sagemaker.list_labeling_jobs_for_workteam(WorkteamArn=teams["reviewers"])
    assert names(other) == ["review-1"]


async def test_descending_order_and_pages_that_add_up(
    sagemaker: Any, teams: dict[str, Any]
) -> None:
    arn = teams["labelers"]
    newest = await sagemaker.list_labeling_jobs_for_workteam(
        WorkteamArn=arn, SortBy="CreationTime", SortOrder="Descending", MaxResults=3
    )
    assert names(newest) == ["boxes-d", "boxes-c", "boxes-b"]
    rest = await sagemaker.list_labeling_jobs_for_workteam(
        WorkteamArn=arn, SortOrder="Descending", MaxResults=3, NextToken=newest["NextToken"]
    )
    assert names(rest) == ["boxes-a"] and "NextToken" not in rest

    paged = []
    paginator = sagemaker.get_paginator("list_labeling_jobs_for_workteam")
    async for page in paginator.paginate(WorkteamArn=arn, PaginationConfig={"PageSize": 1}):
        assert len(page["LabelingJobSummaryList"]) <= 1
        paged.extend(names(page))
    assert paged == list(TEAM_JOBS)


async def test_creation_time_and_reference_code_filters(
    sagemaker: Any, teams: dict[str, Any]
) -> None:
    arn, created = teams["labelers"], teams["created"]
    between = await sagemaker.list_labeling_jobs_for_workteam(
        WorkteamArn=arn,
        CreationTimeAfter=created["boxes-a"],
        CreationTimeBefore=created["boxes-d"],
    )
    assert names(between) == ["boxes-b", "boxes-c"]  # both bounds exclusive

    code = (await sagemaker.describe_labeling_job(LabelingJobName="boxes-c"))["JobReferenceCode"]
    by_code = await sagemaker.list_labeling_jobs_for_workteam(
        WorkteamArn=arn, JobReferenceCodeContains=code[2:10].upper()
    )
    assert names(by_code) == ["boxes-c"]
    none = await sagemaker.list_labeling_jobs_for_workteam(
        WorkteamArn=teams["reviewers"], JobReferenceCodeContains=code
    )
    assert none["LabelingJobSummaryList"] == []


async def test_a_team_without_jobs_lists_nothing(sagemaker: Any, teams: dict[str, Any]) -> None:
    idle = await make_team(sagemaker, "idle")
    answer = await sagemaker.list_labeling_jobs_for_workteam(WorkteamArn=idle)
    assert answer["LabelingJobSummaryList"] == []


async def test_a_missing_team_is_resource_not_found(sagemaker: Any, teams: dict[str, Any]) -> None:
    missing = teams["labelers"].replace("/labelers", "/nobody")
    with pytest.raises(ClientError) as caught:
        await sagemaker.list_labeling_jobs_for_workteam(WorkteamArn=missing)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    await sagemaker.delete_workteam(WorkteamName="reviewers")
    with pytest.raises(ClientError) as caught:
        await sagemaker.list_labeling_jobs_for_workteam(WorkteamArn=teams["reviewers"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"


@pytest.fixture
def boto3_sagemaker() -> Iterator[Any]:
    with BackgroundEmulator(EmulatorConfig(check_responses=True)) as url:
        yield boto3.client(
            "sagemaker",
            region_name="us-east-1",
            endpoint_url=url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )


def test_plain_boto3_lists_a_teams_jobs_page_by_page(boto3_sagemaker: Any) -> None:
    sagemaker = boto3_sagemaker
    arn = sagemaker.create_workteam(
        WorkteamName="labelers", MemberDefinitions=req.cognito_members(), Description="d"
    )["WorkteamArn"]
    for name in ("one", "two", "three"):
        sagemaker.create_labeling_job(**req.labeling(name, arn))
    pages = list(
        sagemaker.get_paginator("list_labeling_jobs_for_workteam").paginate(
            WorkteamArn=arn, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(page["LabelingJobSummaryList"]) for page in pages] == [2, 1]
    listed = {s["LabelingJobName"] for page in pages for s in page["LabelingJobSummaryList"]}
    assert listed == {"one", "two", "three"}
    with pytest.raises(sagemaker.exceptions.ResourceNotFound):
        sagemaker.list_labeling_jobs_for_workteam(WorkteamArn=arn.replace("labelers", "x"))
