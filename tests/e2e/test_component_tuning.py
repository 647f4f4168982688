"""The tuning component as KFP runs it: a subprocess with v1-style arguments, against the emulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from components.common.algorithms import builtin_image
from components.common.app import ComponentInputs
from components.common.inputs import InputError, parse_args
from components.hyperparameter_tuning.component import SPEC, build_request
from runner.validation import validate_request
from support import requests as req
from support.components import run_component as run_named
from support.stats import fetch_stats

OUTPUTS = ("hpo_job_name", "model_artifact_url", "best_job_name", "best_hyperparameters")
OUTPUTS += ("training_image",)
CHANNELS = [
    {
        "ChannelName": "train",
        "DataSource": {
            "S3DataSource": {
                "S3Uri": "s3://bucket/mnist/train",
                "S3DataType": "S3Prefix",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "CompressionType": "None",
        "RecordWrapperType": "None",
        "InputMode": "File",
    }
]


def tuning_args(url: str, out: Path, **overrides: str) -> list[str]:
    """The arguments of v1's MNIST k-means tuning sample."""
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "image": req.IMAGE,
        "role": req.ROLE,
        "metric_name": "test:msd",
        "metric_type": "Minimize",
        "strategy": "Bayesian",
        "early_stopping_type": "Off",
        "static_parameters": json.dumps({"k": "10", "feature_dim": "784"}),
        # v1 took the ranges as SageMaker's lists; bounds as strings, or here a JSON number.
        "integer_parameters": json.dumps(
            [{"Name": "mini_batch_size", "MinValue": "450", "MaxValue": 550}]
        ),
        "continuous_parameters": json.dumps(
            [
                {
                    "Name": "extra_center_factor",
                    "MinValue": "2.5",
                    "MaxValue": "10",
                    "ScalingType": "Linear",
                }
            ]
        ),
        "categorical_parameters": json.dumps(
            [{"Name": "init_method", "Values": ["random", "kmeans++"]}]
        ),
        "channels": json.dumps(CHANNELS),
        "output_location": "s3://bucket/mnist/hpo",
        "instance_type": "ml.m5.xlarge",
        "max_num_jobs": "3",
        "max_parallel_jobs": "2",
        "network_isolation": "True",
        "traffic_encryption": "False",
        "spot_instance": "False",
        "tags": json.dumps({"emulator:duration-seconds": "0.3", "team": "ml"}),
    }
    values.update(overrides)
    args = [item for name, value in values.items() for item in (f"--{name}", value)]
    for output in OUTPUTS:
        args += [f"--{output}_output_path", str(out / output)]
    return args


async def run_component(args: list[str]) -> tuple[int, str, str]:
    return await run_named("hyperparameter_tuning", args)


async def test_tuning_succeeds_and_writes_v1_outputs(emulator: Any, tmp_path: Path) -> None:
    args = tuning_args(
        emulator.url,
        tmp_path,
        job_name="mnist-hpo",
        image="",
        algorithm_name="K-Means",  # a built-in, by v1's display name
        warm_start_type="IdenticalDataAndAlgorithm",
        parent_hpo_jobs="hpo-a, hpo-b",
    )
    code, _, stderr = await run_component(args)
    assert code == 0, stderr

    assert (tmp_path / "hpo_job_name").read_text() == "mnist-hpo"
    best_name = (tmp_path / "best_job_name").read_text()
    best = emulator.emulator.jobs["training"][best_name]
    assert best_name.startswith("mnist-hpo-")
    best_hyperparameters = json.loads((tmp_path / "best_hyperparameters").read_text())
    expected = dict(best.request["HyperParameters"])
    del expected["_tuning_objective_metric"]
    assert best_hyperparameters == expected
    assert best_hyperparameters["k"] == "10"
    assert {"mini_batch_size", "extra_center_factor", "init_method"} <= set(best_hyperparameters)
    assert (
        tmp_path / "model_artifact_url"
    ).read_text() == f"s3://bucket/mnist/hpo/{best_name}/output/model.tar.gz"
    image = builtin_image("K-Means", "us-east-1")
    assert (tmp_path / "training_image").read_text() == image

    request = emulator.emulator.jobs["tuning"]["mnist-hpo"].request
    config = request["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": "Minimize",
        "MetricName": "test:msd",
    }
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2}
    assert config["ParameterRanges"]["IntegerParameterRanges"] == [
        {"Name": "mini_batch_size", "MinValue": "450", "MaxValue": "550"}
    ]
    assert config["ParameterRanges"]["CategoricalParameterRanges"][0]["Values"] == [
        "random",
        "kmeans++",
    ]
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    definition = request["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["TrainingImage"] == image
    assert definition["StaticHyperParameters"] == {"k": "10", "feature_dim": "784"}
    assert definition["OutputDataConfig"] == {"S3OutputPath": "s3://bucket/mnist/hpo"}
    assert definition["EnableNetworkIsolation"] is True
    assert "EnableManagedSpotTraining" not in definition
    assert "MaxWaitTimeInSeconds" not in definition["StoppingCondition"]
    assert request["WarmStartConfig"] == {
        "WarmStartType": "IdenticalDataAndAlgorithm",
        "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": "hpo-a"},
            {"HyperParameterTuningJobName": "hpo-b"},
        ],
    }
    assert emulator.emulator.jobs["tuning"]["mnist-hpo"].tags["team"] == "ml"


def request_of(url: str, out: Path, **overrides: str) -> dict[str, Any]:
    """The request the component builds from these arguments, in-process: for rules that need
    no job to be checked."""
    parsed = parse_args(SPEC, tuning_args(url, out, **overrides))
    run = ComponentInputs(SPEC, parsed.values, checks=parsed.checks)
    return build_request(run)


def test_spot_vpc_and_keys_reach_the_training_job_definition(tmp_path: Path) -> None:
    request = request_of(
        "http://unused",
        tmp_path,
        spot_instance="True",
        max_run_time="3600",
        max_wait_time="7200",
        checkpoint_config=json.dumps({"S3Uri": "s3://bucket/checkpoints"}),
        vpc_security_group_ids="sg-1, sg-2",
        vpc_subnets="subnet-1",
        resource_encryption_key="kms-volume",
        output_encryption_key="kms-output",
    )
    named = {**request, "HyperParameterTuningJobName": "spot-hpo"}  # the runner names it
    assert validate_request("sagemaker", "CreateHyperParameterTuningJob", named) == []
    definition = request["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is True
    assert definition["CheckpointConfig"] == {"S3Uri": "s3://bucket/checkpoints"}
    assert definition["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 7200,
    }
    assert definition["VpcConfig"] == {
        "SecurityGroupIds": ["sg-1", "sg-2"],
        "Subnets": ["subnet-1"],
    }
    assert definition["ResourceConfig"]["VolumeKmsKeyId"] == "kms-volume"
    assert definition["OutputDataConfig"]["KmsKeyId"] == "kms-output"
    assert "WarmStartConfig" not in request and "HyperParameterTuningJobName" not in request
    # No ranges of a kind: that kind is left out.
    request = request_of("http://unused", tmp_path, continuous_parameters="[]")
    assert (
        "ContinuousParameterRanges"
        not in request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    )


@pytest.mark.parametrize(
    ("overrides", "name", "rule"),
    [
        ({"parent_hpo_jobs": "hpo-a"}, "warm_start_type", "IdenticalDataAndAlgorithm"),
        (
            {"integer_parameters": json.dumps([{"Name": "k", "MinValue": "1"}])},
            "integer_parameters",
            "needs a MaxValue",
        ),
        (
            {"continuous_parameters": json.dumps([{"MinValue": "1", "MaxValue": "2"}])},
            "continuous_parameters",
            "needs a Name",
        ),
        (
            {
                "continuous_parameters": json.dumps(
                    [{"Name": "lr", "MinValue": True, "MaxValue": "2"}]
                )
            },
            "continuous_parameters",
            "string or a number",
        ),
        (
            {"categorical_parameters": json.dumps([{"Name": "init", "Values": []}])},
            "categorical_parameters",
            "non-empty list of Values",
        ),
        ({"categorical_parameters": json.dumps(["init"])}, "categorical_parameters", "JSON object"),
        ({"spot_instance": "True"}, "checkpoint_config", "S3Uri"),
        ({"max_num_jobs": "many"}, "max_num_jobs", "whole number"),
        ({"channels": "[]"}, "channels", "at least one channel"),
        ({"image": ""}, "image", "either image or algorithm_name"),
        (
            {"image": "", "algorithm_name": "LDA", "region": "eu-west-3"},
            "algorithm_name",
            "'eu-west-3'",
        ),
        ({"vpc_subnets": "subnet-1"}, "vpc_security_group_ids", "both"),
    ],
)
def test_input_rules(tmp_path: Path, overrides: dict[str, str], name: str, rule: str) -> None:
    with pytest.raises(InputError) as caught:
        request_of("http://unused", tmp_path, **overrides)
    assert caught.value.name == name and rule in caught.value.rule


async def test_bad_input_exits_2_and_creates_nothing(emulator: Any, tmp_path: Path) -> None:
    cases: dict[str, tuple[dict[str, str], str, str]] = {
        "static": (
            {"static_parameters": json.dumps({"k": 10})},
            "static_parameters",
            "must be a string",
        ),
        "warm start": (
            {"warm_start_type": "TransferLearning"},
            "parent_hpo_jobs",
            "at least one parent",
        ),
        "strategy": ({"strategy": "Sideways"}, "HyperParameterTuningJobConfig.Strategy", ""),
    }
    results = await asyncio.gather(
        *(
            run_component(tuning_args(emulator.url, tmp_path, **overrides))
            for overrides, _, _ in cases.values()
        )
    )
    for (case, (_, name, rule)), (code, _, stderr) in zip(cases.items(), results, strict=True):
        assert code == 2, (case, stderr)
        assert name in stderr and rule in stderr, (case, stderr)
    stats = await fetch_stats(emulator.url)
    assert "CreateHyperParameterTuningJob" not in stats["calls"] and stats["jobs"] == []
    assert not any((tmp_path / output).exists() for output in OUTPUTS)


async def test_failed_tuning_job_and_one_without_a_best_job_exit_1(
    emulator: Any, tmp_path: Path
) -> None:
    failing = json.dumps(
        {"emulator:duration-seconds": "0.3", "emulator:fail-reason": "ClientError: no capacity"}
    )
    # Every training job fails: the tuning job completes, but there is nothing to pass on.
    no_best = json.dumps({"emulator:duration-seconds": "0.3", "emulator:child-fail-count": "3"})
    first, second = tmp_path / "failed", tmp_path / "no-best"
    (code1, _, stderr1), (code2, _, stderr2) = await asyncio.gather(
        run_component(tuning_args(emulator.url, first, job_name="failing-hpo", tags=failing)),
        run_component(tuning_args(emulator.url, second, job_name="no-best-hpo", tags=no_best)),
    )
    assert code1 == 1, stderr1
    assert "ClientError: no capacity" in stderr1
    assert code2 == 1, stderr2
    assert "no best training job" in stderr2
    assert not any((out / name).exists() for out in (first, second) for name in OUTPUTS)
