"""The ground truth component as KFP runs it: a subprocess with v1-style arguments, against the emulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from components.common.app import ComponentInputs
from components.common.inputs import InputError, parse_args
from components.ground_truth.component import SPEC, build_request, name_the_job
from support import requests as req
from support.components import run_component as run_named
from support.stats import fetch_stats

WORKTEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/labelers"
OUTPUTS = ("output_manifest_location", "active_learning_model_arn")
BUILTIN = "arn:aws:lambda:us-east-1:432418664414:function"


def gt_args(url: str, out: Path, **overrides: str) -> list[str]:
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "role": req.ROLE,
        "manifest_location": "s3://bucket/cars/input.manifest",
        "output_location": "s3://bucket/cars/labels",
        "task_type": "Bounding Box",
        "worker_type": "private",
        "workteam_arn": WORKTEAM,
        "label_category_config": "s3://bucket/cars/categories.json",
        "ui_template": "s3://bucket/cars/template.liquid",
        "task_keywords": "cars, boxes",
        "title": "Draw boxes",
        "description": "Draw a box around each car",
        "num_workers_per_object": "1",
        "time_limit": "300",
        "tags": json.dumps({"emulator:duration-seconds": "0.3", "team": "ml"}),
    }
    values.update(overrides)
    args = [item for name, value in values.items() for item in (f"--{name}", value)]
    for output in OUTPUTS:
        args += [f"--{output}_output_path", str(out / output)]
    return args


async def run_component(args: list[str]) -> tuple[int, str]:
    code, _, stderr = await run_named("ground_truth", args)
    return code, stderr


async def test_private_team_with_builtin_lambdas_and_a_restart_reattaches(
    emulator: Any, tmp_path: Path
) -> None:
    args = [*gt_args(emulator.url, tmp_path), "--kfp_run_id", "run-1", "--kfp_task", "label"]
    code, stderr = await run_component(args)
    assert code == 0, stderr
    (name,) = emulator.emulator.jobs["labeling"]
    job = emulator.emulator.jobs["labeling"][name]
    assert (tmp_path / "output_manifest_location").read_text() == (
        f"s3://bucket/cars/labels/{name}/manifests/output/output.manifest"
    )
    # No automated labeling: v1 wrote a space, since Argo refused empty output files.
    assert (tmp_path / "active_learning_model_arn").read_text() == " "

    request = job.request
    assert request["LabelAttributeName"] == name  # v1: the job's name by default
    assert request["LabelCategoryConfigS3Uri"] == "s3://bucket/cars/categories.json"
    task = request["HumanTaskConfig"]
    assert task["WorkteamArn"] == WORKTEAM
    assert task["PreHumanTaskLambdaArn"] == f"{BUILTIN}:PRE-BoundingBox"
    assert task["AnnotationConsolidationConfig"] == {
        "AnnotationConsolidationLambdaArn": f"{BUILTIN}:ACS-BoundingBox"
    }
    assert task["TaskKeywords"] == ["cars", "boxes"]
    assert task["TaskTitle"] == "Draw boxes" and task["TaskTimeLimitInSeconds"] == 300
    for absent in ("PublicWorkforceTaskPrice", "TaskAvailabilityLifetimeInSeconds"):
        assert absent not in task
    for absent in ("StoppingConditions", "LabelingJobAlgorithmsConfig"):
        assert absent not in request
    assert "DataAttributes" not in request["InputConfig"]
    assert job.tags["team"] == "ml" and job.tags["smrun:run-id"] == "run-1"

    # A restarted pod derives the same name (and label attribute) and re-attaches.
    code, stderr = await run_component(args)
    assert code == 0, stderr
    assert (await fetch_stats(emulator.url))["calls"]["CreateLabelingJob"] == 1
    assert "job.attached" in stderr


async def test_public_workforce_with_auto_labeling(emulator: Any, tmp_path: Path) -> None:
    code, stderr = await run_component(
        gt_args(
            emulator.url,
            tmp_path,
            job_name="intents",
            label_attribute_name="intent",
            task_type="text_classification",
            worker_type="Public",
            workteam_arn="",
            workforce_task_price="0.012",
            no_adult_content="True",
            no_ppi="true",
            enable_auto_labeling="True",
            initial_model_arn="arn:aws:sagemaker:us-east-1:123456789012:model/previous",
            max_human_labeled_objects="500",
            max_percent_objects="80",
            task_availibility="3600",
            max_concurrent_tasks="100",
        )
    )
    assert code == 0, stderr
    job = emulator.emulator.jobs["labeling"]["intents"]
    assert (tmp_path / "active_learning_model_arn").read_text() == (
        job.arn.replace("labeling-job/", "model/") + "-final-model"
    )
    request = job.request
    assert request["LabelAttributeName"] == "intent"
    assert request["InputConfig"]["DataAttributes"] == {
        "ContentClassifiers": ["FreeOfAdultContent", "FreeOfPersonallyIdentifiableInformation"]
    }
    assert request["StoppingConditions"] == {
        "MaxHumanLabeledObjectCount": 500,
        "MaxPercentageOfInputDatasetLabeled": 80,
    }
    assert request["LabelingJobAlgorithmsConfig"] == {
        "LabelingJobAlgorithmSpecificationArn": "arn:aws:sagemaker:us-east-1:027400017018:"
        "labeling-job-algorithm-specification/text-classification",
        "InitialActiveLearningModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/previous",
    }
    task = request["HumanTaskConfig"]
    assert task["WorkteamArn"] == (
        "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"
    )
    assert task["PublicWorkforceTaskPrice"] == {
        "AmountInUsd": {"Dollars": 0, "Cents": 1, "TenthFractionsOfACent": 2}
    }
    assert task["PreHumanTaskLambdaArn"] == f"{BUILTIN}:PRE-TextMultiClass"
    assert task["TaskAvailabilityLifetimeInSeconds"] == 3600
    assert task["MaxConcurrentTaskCount"] == 100


def request_for(**overrides: str) -> dict[str, Any]:
    """The request the component would send, built in-process (no runner, nothing sent)."""
    parsed = parse_args(SPEC, gt_args("http://unused", Path("unused"), **overrides))
    run = ComponentInputs(SPEC, parsed.values, checks=parsed.checks)
    return name_the_job(run, build_request(run))


def test_input_rules_are_checked_before_anything_is_sent() -> None:
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"worker_type": "crowd"}, "worker_type", "public, private, vendor"),
        ({"task_type": "custom"}, "pre_human_task_function", "give both"),
        (
            {"task_type": "semantic segmentation", "label_attribute_name": "mask"},
            "label_attribute_name",
            "-ref",
        ),
        ({"label_attribute_name": "label-metadata"}, "label_attribute_name", "-metadata"),
        (
            {"task_type": "semantic segmentation", "enable_auto_labeling": "True"},
            "enable_auto_labeling",
            "only for",
        ),
        ({"region": "sa-east-1"}, "pre_human_task_function", "no built-in task Lambdas"),
        (
            {"worker_type": "public", "workforce_task_price": "0.0125"},
            "workforce_task_price",
            "tenth of a cent",
        ),
        (
            {"worker_type": "public", "workforce_task_price": "free"},
            "workforce_task_price",
            "price",
        ),
        ({"max_percent_objects": "120"}, "max_percent_objects", "at most 100"),
    ]
    for values, name, rule in cases:
        with pytest.raises(InputError) as caught:
            request_for(**values)
        assert caught.value.name == name and rule in caught.value.rule, (values, caught.value)


def test_given_lambdas_win_and_semantic_segmentation_labels_end_in_ref() -> None:
    pre = "arn:aws:lambda:us-east-1:123456789012:function:my-pre"
    post = "arn:aws:lambda:us-east-1:123456789012:function:my-post"
    task = request_for(
        task_type="custom", pre_human_task_function=pre, post_human_task_function=post
    )["HumanTaskConfig"]
    assert task["PreHumanTaskLambdaArn"] == pre
    assert task["AnnotationConsolidationConfig"]["AnnotationConsolidationLambdaArn"] == post
    # A built-in task type keeps a given function (v1 replaced it) and fills in the other.
    task = request_for(task_type="Image Classification", pre_human_task_function=pre)[
        "HumanTaskConfig"
    ]
    assert task["PreHumanTaskLambdaArn"] == pre
    assert task["AnnotationConsolidationConfig"]["AnnotationConsolidationLambdaArn"] == (
        f"{BUILTIN}:ACS-ImageMultiClass"
    )
    request = request_for(task_type="semantic_segmentation", job_name="masks")
    assert request["LabelAttributeName"] == "masks-ref"
    assert request["HumanTaskConfig"]["PreHumanTaskLambdaArn"] == (
        f"{BUILTIN}:PRE-SemanticSegmentation"
    )
    eu = request_for(region="eu-west-1")["HumanTaskConfig"]["PreHumanTaskLambdaArn"]
    assert eu == "arn:aws:lambda:eu-west-1:568282634449:function:PRE-BoundingBox"


async def test_bad_input_exits_2_and_creates_nothing(emulator: Any, tmp_path: Path) -> None:
    cases = [
        ({"workteam_arn": ""}, "workteam_arn", "needs the work team's ARN"),
        ({"time_limit": "five minutes"}, "time_limit", "whole number"),
    ]
    results = await asyncio.gather(
        *(run_component(gt_args(emulator.url, tmp_path, **values)) for values, _, _ in cases)
    )
    for (values, name, rule), (code, stderr) in zip(cases, results, strict=True):
        assert code == 2, (values, stderr)
        assert name in stderr and rule in stderr, (values, stderr)
    assert "CreateLabelingJob" not in (await fetch_stats(emulator.url))["calls"]
