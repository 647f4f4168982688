"""Where the emulator must answer as AWS does, not as is convenient: List pages cut before
their filters, an account with history, not-found errors per kind. Through plain boto3 (the
emulator on its own thread) and aiobotocore, and the runner's own sweeps and lookups against
them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from structlog.testing import capture_logs

from emulator.listing import EXACT_PAGING, Paging
from emulator.server import BackgroundEmulator
from emulator.state import EmulatorConfig
from runner.core import Runner
from support import requests as req
from support.runner_setup import runner_config
from support.stats import fetch_stats

WORKTEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team"


def boto3_client(url: str, service: str = "sagemaker") -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


@pytest.fixture
def history_url() -> Iterator[str]:
    """An emulator on its own thread whose account has 300 ended jobs of every kind."""
    config = EmulatorConfig(job_duration=1.0, history=300, check_responses=True)
    with BackgroundEmulator(config) as url:
        yield url


# --- List paging --------------------------------------------------------------------------------


def test_a_filtered_listing_walks_the_whole_history_through_boto3(history_url: str) -> None:
    sagemaker = boto3_client(history_url)
    sagemaker.create_training_job(
        **req.training("brand-new", Tags=req.tags(**{"emulator:duration-seconds": 600}))
    )
    # The newest 100 jobs hold one InProgress job: a page of one, and a token for the rest.
    first = sagemaker.list_training_jobs(StatusEquals="InProgress", MaxResults=100)
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == ["brand-new"]
    assert "NextToken" in first
    # NameContains matching only the oldest job: empty pages with a NextToken until it.
    oldest = sagemaker.list_training_jobs(SortOrder="Ascending", MaxResults=1)
    oldest_name = oldest["TrainingJobSummaries"][0]["TrainingJobName"]
    pages = list(
        sagemaker.get_paginator("list_training_jobs").paginate(
            NameContains=oldest_name, PaginationConfig={"PageSize": 100}
        )
    )
    assert len(pages) == 4  # 301 jobs, 100 at a time
    assert [len(page["TrainingJobSummaries"]) for page in pages] == [0, 0, 0, 1]


def test_creation_time_bounds_can_bound_the_scan() -> None:
    config = EmulatorConfig(history=300, paging=Paging(creation_time_bounds_scan=True))
    with BackgroundEmulator(config) as url:
        sagemaker = boto3_client(url)
        sagemaker.create_training_job(**req.training("recent"))
        since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        page = sagemaker.list_training_jobs(CreationTimeAfter=since, MaxResults=100)
    assert [s["TrainingJobName"] for s in page["TrainingJobSummaries"]] == ["recent"]
    assert "NextToken" not in page


def test_the_pessimistic_default_filters_creation_time_after_the_page(history_url: str) -> None:
    sagemaker = boto3_client(history_url)
    sagemaker.create_training_job(**req.training("recent"))
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    pages = list(
        sagemaker.get_paginator("list_training_jobs").paginate(
            CreationTimeAfter=since, PaginationConfig={"PageSize": 100}
        )
    )
    assert len(pages) == 4
    assert [s["TrainingJobName"] for p in pages for s in p["TrainingJobSummaries"]] == ["recent"]


def test_exact_paging_is_there_when_asked_for() -> None:
    with BackgroundEmulator(EmulatorConfig(history=300, paging=EXACT_PAGING)) as url:
        page = boto3_client(url).list_training_jobs(StatusEquals="Stopped", MaxResults=100)
    assert page["TrainingJobSummaries"]
    assert all(s["TrainingJobStatus"] == "Stopped" for s in page["TrainingJobSummaries"])
    assert "NextToken" not in page  # about 4% of 300 are Stopped: one full answer


# --- an account with history --------------------------------------------------------------------


def test_history_is_listed_described_and_counted_like_any_job(history_url: str) -> None:
    sagemaker = boto3_client(history_url)
    statuses: dict[str, int] = {}
    for page in sagemaker.get_paginator("list_processing_jobs").paginate():
        for summary in page["ProcessingJobSummaries"]:
            statuses[summary["ProcessingJobStatus"]] = (
                statuses.get(summary["ProcessingJobStatus"], 0) + 1
            )
    assert sum(statuses.values()) == 300
    assert set(statuses) == {"Completed", "Failed", "Stopped"}  # all ended, mostly Completed
    assert statuses["Completed"] > statuses["Failed"] > statuses["Stopped"] > 0
    oldest = sagemaker.list_labeling_jobs(SortOrder="Ascending", MaxResults=1)
    name = oldest["LabelingJobSummaryList"][0]["LabelingJobName"]
    job = sagemaker.describe_labeling_job(LabelingJobName=name)
    assert job["CreationTime"] < dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    assert job["LastModifiedTime"] > job["CreationTime"]
    tuning = sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=100)
    assert len(tuning["HyperParameterTuningJobSummaries"]) == 15  # one in twenty
    trainings = sum(
        len(page["TrainingJobSummaries"])
        for page in sagemaker.get_paginator("list_training_jobs").paginate()
    )
    assert trainings == 300  # the tuning jobs' children among them


async def test_stats_count_list_pages_and_leave_history_out_of_the_jobs() -> None:
    with BackgroundEmulator(EmulatorConfig(history=250)) as url:
        sagemaker = boto3_client(url)
        sagemaker.create_training_job(**req.training("mine"))
        for _ in sagemaker.get_paginator("list_training_jobs").paginate(
            StatusEquals="InProgress", PaginationConfig={"PageSize": 100}
        ):
            pass
        stats = await fetch_stats(url)
    # [mine] + token, [] + token, [] (251 jobs, 100 a page)
    assert stats["listing"]["ListTrainingJobs"] == {"pages": 3, "summaries": 1, "empty_pages": 1}
    assert stats["history"]["training"] == 250 and stats["history"]["labeling"] == 250
    assert [row["name"] for row in stats["jobs"]] == ["mine"]
    assert stats["paging"].startswith("aws")


# --- not-found errors ---------------------------------------------------------------------------

NOT_FOUND = [
    (
        "describe_training_job",
        "TrainingJobName",
        "ValidationException",
        "Requested resource not found.",
    ),
    (
        "describe_processing_job",
        "ProcessingJobName",
        "ValidationException",
        "Could not find requested job with name nobody",
    ),
    (
        "describe_transform_job",
        "TransformJobName",
        "ValidationException",
        "Could not find requested job with name nobody",
    ),
    (
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "ResourceNotFound",
        "Amazon SageMaker can't find a tuning job called nobody. Type another name.",
    ),
    (
        "describe_labeling_job",
        "LabelingJobName",
        "ValidationException",
        "Requested resource not found.",
    ),
    (
        "stop_training_job",
        "TrainingJobName",
        "ValidationException",
        "Requested resource not found.",
    ),
    (
        "stop_processing_job",
        "ProcessingJobName",
        "ValidationException",
        "Could not find requested job with name nobody",
    ),
]


@pytest.mark.parametrize(("method", "field", "code", "message"), NOT_FOUND)
async def test_missing_jobs_answer_as_aws_does_per_kind(
    sagemaker: Any, method: str, field: str, code: str, message: str
) -> None:
    with pytest.raises(ClientError) as missing:
        await getattr(sagemaker, method)(**{field: "nobody"})
    assert missing.value.response["Error"] == {"Code": code, "Message": message}


def test_missing_jobs_through_boto3() -> None:
    with BackgroundEmulator(EmulatorConfig(labeling_not_found="ResourceNotFound")) as url:
        sagemaker = boto3_client(url)
        with pytest.raises(ClientError) as training:
            sagemaker.describe_training_job(TrainingJobName="nobody")
        with pytest.raises(sagemaker.exceptions.ResourceNotFound):
            sagemaker.describe_labeling_job(LabelingJobName="nobody")
    assert training.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize("answer", ["ValidationException", "ResourceNotFound"])
async def test_the_runner_reads_either_labeling_answer_as_missing(answer: str) -> None:
    # The lookup before Create must see "missing", not a failure, however AWS answers.
    config = EmulatorConfig(job_duration=0.5, labeling_not_found=answer)
    with BackgroundEmulator(config) as url:
        async with Runner(runner_config(url)) as runner:
            handle = await runner.submit("labeling", req.labeling("gt-lookup", WORKTEAM))
            outcome = await handle.wait()
    assert outcome.succeeded, outcome.failure_reason


@pytest.mark.parametrize("job_kind", ["training", "processing", "tuning"])
async def test_the_runner_creates_after_a_missing_lookup_of_every_kind(
    emulator: Any, job_kind: str
) -> None:
    requests = {
        "training": lambda: req.training("lookup-t"),
        "processing": lambda: req.processing("lookup-p"),
        "tuning": lambda: req.tuning("lookup-h"),
    }
    async with Runner(runner_config(emulator.url)) as runner:
        outcome = await (await runner.submit(job_kind, requests[job_kind]())).wait()
    assert outcome.succeeded, outcome.failure_reason


# --- the runner's sweeps on an account with history ---------------------------------------------


@pytest.mark.parametrize(
    "paging", [Paging(), Paging(creation_time_bounds_scan=True)], ids=["pessimistic", "bounded"]
)
async def test_sweeps_follow_every_job_through_a_long_history(paging: Paging) -> None:
    config = EmulatorConfig(job_duration=1.0, history=450, paging=paging)
    with BackgroundEmulator(config) as url, capture_logs() as events:
        async with Runner(runner_config(url)) as runner:
            handles = [
                await runner.submit(
                    "training",
                    req.training(
                        f"swept-{index}", Tags=req.tags(**{"emulator:duration-seconds": 1.5})
                    ),
                )
                for index in range(6)
            ]
            outcomes = await runner.wait_all(handles)
        stats = await fetch_stats(url)
    assert all(outcome.succeeded for outcome in outcomes)
    listing = stats["listing"]["ListTrainingJobs"]
    assert listing["pages"] >= 1
    # Sweeps are bounded by the batch (runner/sweeps.py): newest first, they stop at the page
    # that reaches the oldest job followed, so the 450 old jobs are never walked (before that
    # bound, each sweep read 5 pages here, the last one empty).
    sweeps = [e for e in events if e["event"] == "sweep.done" and e["kind"] == "training"]
    assert sweeps and all(sweep["pages"] == 1 for sweep in sweeps), sweeps
    assert listing["empty_pages"] == 0
    # A job is never declared over by a listing alone: its final Describe is there.
    assert stats["calls"]["DescribeTrainingJob"] >= 6
