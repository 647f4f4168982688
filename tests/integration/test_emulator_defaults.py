"""Describe answers carry SageMaker's server-filled defaults, through boto3 and aiobotocore.

For every kind the emulator serves, a request that leaves the fields out gets AWS's defaults
back (``emulator.defaults`` names the source of each), and a request that sets them
gets its own values back. The emulator runs on its own thread, so a plain (blocking) boto3
client and an aiobotocore client talk to the same server; ``check_responses`` is on, so every
answer is also checked against botocore's output shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import boto3
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.config import Config

from emulator.server import BackgroundEmulator
from emulator.state import EmulatorConfig
from support import requests as req

Call = Callable[..., Awaitable[dict[str, Any]]]
PRIVATE_TEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team"
PUBLIC_TEAM = "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"
ONE_DAY = 86_400
RETRIES = {"mode": "standard", "total_max_attempts": 1}


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    config = EmulatorConfig(job_duration=600, check_responses=True)
    with BackgroundEmulator(config) as url:
        yield url


@pytest.fixture(params=["boto3", "aiobotocore"])
async def sm(request: pytest.FixtureRequest, emulator_url: str) -> AsyncIterator[Call]:
    """``await sm("describe_model", ModelName=...)`` through the client named by the param."""
    if request.param == "boto3":
        client = boto3.client(
            "sagemaker",
            region_name="us-east-1",
            endpoint_url=emulator_url,
            config=Config(retries=RETRIES),  # type: ignore[arg-type]
        )

        async def blocking(operation: str, **params: Any) -> dict[str, Any]:
            answer: dict[str, Any] = getattr(client, operation)(**params)
            return answer

        yield blocking
        return
    async with get_session().create_client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=emulator_url,
        config=AioConfig(retries=RETRIES),
    ) as aio:

        async def awaited(operation: str, **params: Any) -> dict[str, Any]:
            answer: dict[str, Any] = await getattr(aio, operation)(**params)
            return answer

        yield awaited


@pytest.fixture
def name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names unique per test and client (the emulator is shared by the module)."""
    suffix = request.node.callspec.params["sm"]

    def make(base: str) -> str:
        return f"{base}-{suffix}"

    return make


# --- training ---------------------------------------------------------------------------------


async def test_training_job_gets_the_server_defaults(sm: Call, name: Callable[[str], str]) -> None:
    request = req.training(name("train-defaults"))
    del request["StoppingCondition"]
    await sm("create_training_job", **request)
    job = await sm("describe_training_job", TrainingJobName=request["TrainingJobName"])

    assert job["EnableNetworkIsolation"] is False
    assert job["EnableInterContainerTrafficEncryption"] is False
    assert job["EnableManagedSpotTraining"] is False
    assert job["OutputDataConfig"] == {
        "S3OutputPath": "s3://bucket/output",
        "KmsKeyId": "",
        "CompressionType": "GZIP",
    }
    assert job["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is False
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": ONE_DAY}
    assert job["InputDataConfig"][0]["RecordWrapperType"] == "None"
    # Not filled: ACK leaves a channel's CompressionType alone, so AWS echoes it as sent.
    assert "CompressionType" not in job["InputDataConfig"][0]
    assert job["ResourceConfig"] == request["ResourceConfig"]
    assert job["ProfilingStatus"] == "Disabled"
    # Not filled: AWS leaves out hyperparameters a request did not give (the SDK copes).
    assert "HyperParameters" not in job


async def test_training_job_keeps_what_the_request_set(
    sm: Call, name: Callable[[str], str]
) -> None:
    request = req.training(
        name("train-explicit"),
        EnableNetworkIsolation=True,
        EnableInterContainerTrafficEncryption=True,
        EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        OutputDataConfig={
            "S3OutputPath": "s3://bucket/output",
            "KmsKeyId": "alias/models",
            "CompressionType": "NONE",
        },
        ProfilerConfig={"S3OutputPath": "s3://bucket/profiles"},
    )
    request["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] = True
    request["InputDataConfig"][0].update(
        {"RecordWrapperType": "RecordIO", "CompressionType": "Gzip"}
    )
    await sm("create_training_job", **request)
    job = await sm("describe_training_job", TrainingJobName=request["TrainingJobName"])

    for flag in (
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
    ):
        assert job[flag] is True, flag
    assert job["OutputDataConfig"] == request["OutputDataConfig"]
    assert job["StoppingCondition"] == request["StoppingCondition"]
    assert job["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is True
    assert job["InputDataConfig"] == request["InputDataConfig"]
    assert job["ProfilingStatus"] == "Enabled"


# --- tuning and its training jobs -------------------------------------------------------------


def tuning_request(job_name: str, **definition_fields: Any) -> dict[str, Any]:
    training = req.training("unused")
    return {
        "HyperParameterTuningJobName": job_name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "val:acc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1", "MaxValue": "8"}]
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": req.IMAGE, "TrainingInputMode": "File"},
            "RoleArn": training["RoleArn"],
            "InputDataConfig": training["InputDataConfig"],
            "OutputDataConfig": training["OutputDataConfig"],
            "HyperParameterTuningResourceConfig": {
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
            },
            "StoppingCondition": {},
            **definition_fields,
        },
    }


async def test_tuning_job_gets_the_server_defaults(sm: Call, name: Callable[[str], str]) -> None:
    request = tuning_request(name("hpo-defaults"))
    tuning_name = request["HyperParameterTuningJobName"]
    await sm("create_hyper_parameter_tuning_job", **request)
    job = await sm("describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=tuning_name)

    config = job["HyperParameterTuningJobConfig"]
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["ParameterRanges"] == {
        "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1", "MaxValue": "8"}],
        "ContinuousParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    definition = job["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {"_tuning_objective_metric": "val:acc"}
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "val:acc", "Regex": r"val:acc=([-+0-9.eE]+)"}
    ]
    for flag in (
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
    ):
        assert definition[flag] is False, flag
    assert definition["ResourceConfig"] == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 30,
    }
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": ONE_DAY}
    # The SDK adds this one itself when it is missing: AWS may leave it out here.
    assert "KmsKeyId" not in definition["OutputDataConfig"]

    children = await sm(
        "list_training_jobs_for_hyper_parameter_tuning_job", HyperParameterTuningJobName=tuning_name
    )
    child_name = children["TrainingJobSummaries"][0]["TrainingJobName"]
    child = await sm("describe_training_job", TrainingJobName=child_name)
    assert child["OutputDataConfig"]["KmsKeyId"] == ""
    assert child["EnableManagedSpotTraining"] is False
    assert child["HyperParameters"]["_tuning_objective_metric"] == "val:acc"


async def test_tuning_job_keeps_what_the_request_set(sm: Call, name: Callable[[str], str]) -> None:
    metrics = [{"Name": "val:acc", "Regex": "acc=([0-9.]+)"}]
    request = tuning_request(
        name("hpo-explicit"),
        StaticHyperParameters={"epochs": "3"},
        EnableNetworkIsolation=True,
        EnableInterContainerTrafficEncryption=True,
        EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200},
    )
    request["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] = "Auto"
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] = metrics
    tuning_name = request["HyperParameterTuningJobName"]
    await sm("create_hyper_parameter_tuning_job", **request)
    job = await sm("describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=tuning_name)

    assert job["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Auto"
    definition = job["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {
        "epochs": "3",
        "_tuning_objective_metric": "val:acc",
    }
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == metrics
    assert definition["EnableManagedSpotTraining"] is True
    assert definition["EnableNetworkIsolation"] is True
    assert definition["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 600,
        "MaxWaitTimeInSeconds": 1200,
    }


async def test_each_training_job_definition_gets_its_own_objective(
    sm: Call, name: Callable[[str], str]
) -> None:
    single = tuning_request("unused")
    definitions = []
    for definition_name, metric in (("small", "val:acc"), ("large", "val:f1")):
        definition = {
            **single["TrainingJobDefinition"],
            "DefinitionName": definition_name,
            "TuningObjective": {"Type": "Maximize", "MetricName": metric},
            "HyperParameterRanges": {
                "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]}]
            },
        }
        definitions.append(definition)
    config = dict(single["HyperParameterTuningJobConfig"])
    del config["HyperParameterTuningJobObjective"], config["ParameterRanges"]
    tuning_name = name("hpo-several")
    await sm(
        "create_hyper_parameter_tuning_job",
        HyperParameterTuningJobName=tuning_name,
        HyperParameterTuningJobConfig=config,
        TrainingJobDefinitions=definitions,
    )
    job = await sm("describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=tuning_name)

    assert "ParameterRanges" not in job["HyperParameterTuningJobConfig"]
    described = {d["DefinitionName"]: d for d in job["TrainingJobDefinitions"]}
    for definition_name, metric in (("small", "val:acc"), ("large", "val:f1")):
        definition = described[definition_name]
        assert definition["StaticHyperParameters"] == {"_tuning_objective_metric": metric}
        assert definition["HyperParameterRanges"] == {
            "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]}],
            "ContinuousParameterRanges": [],
            "IntegerParameterRanges": [],
        }
        assert definition["EnableNetworkIsolation"] is False


# --- processing, transform, labeling ----------------------------------------------------------


def processing_input(**s3_fields: Any) -> dict[str, Any]:
    return {
        "InputName": "data",
        "S3Input": {
            "S3Uri": "s3://bucket/raw",
            "LocalPath": "/opt/ml/processing/input",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            **s3_fields,
        },
    }


async def test_processing_job_gets_the_server_defaults(
    sm: Call, name: Callable[[str], str]
) -> None:
    request = req.processing(name("proc-defaults"), ProcessingInputs=[processing_input()])
    del request["StoppingCondition"]
    await sm("create_processing_job", **request)
    job = await sm("describe_processing_job", ProcessingJobName=request["ProcessingJobName"])

    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": ONE_DAY}
    [given] = job["ProcessingInputs"]
    assert given["AppManaged"] is False
    assert given["S3Input"]["S3DataDistributionType"] == "FullyReplicated"
    assert [output["AppManaged"] for output in job["ProcessingOutputConfig"]["Outputs"]] == [False]


async def test_processing_job_keeps_what_the_request_set(
    sm: Call, name: Callable[[str], str]
) -> None:
    given = {**processing_input(S3DataDistributionType="ShardedByS3Key"), "AppManaged": True}
    request = req.processing(name("proc-explicit"), ProcessingInputs=[given])
    await sm("create_processing_job", **request)
    job = await sm("describe_processing_job", ProcessingJobName=request["ProcessingJobName"])

    assert job["ProcessingInputs"] == [given]
    assert job["StoppingCondition"] == request["StoppingCondition"]


async def test_transform_job_gets_the_server_defaults(sm: Call, name: Callable[[str], str]) -> None:
    model_name = name("transform-model")
    await sm("create_model", **req.model(model_name))
    request = req.transform(name("batch-defaults"), model_name)
    await sm("create_transform_job", **request)
    job = await sm("describe_transform_job", TransformJobName=request["TransformJobName"])

    assert job["DataProcessing"] == {"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"}
    assert job["TransformInput"]["SplitType"] == "None"
    assert job["TransformInput"]["CompressionType"] == "None"
    assert job["TransformOutput"] == {
        "S3OutputPath": "s3://bucket/batch-out",
        "AssembleWith": "None",
        "KmsKeyId": "",
    }
    # Documented defaults with no sign that Describe echoes them stay out (defaults.py).
    for absent in (
        "MaxConcurrentTransforms",
        "MaxPayloadInMB",
        "BatchStrategy",
        "ModelClientConfig",
    ):
        assert absent not in job, absent


async def test_transform_job_keeps_what_the_request_set(
    sm: Call, name: Callable[[str], str]
) -> None:
    model_name = name("transform-model-2")
    await sm("create_model", **req.model(model_name))
    request = req.transform(
        name("batch-explicit"),
        model_name,
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"},
        TransformOutput={
            "S3OutputPath": "s3://bucket/batch-out",
            "AssembleWith": "Line",
            "KmsKeyId": "alias/batch",
        },
        MaxConcurrentTransforms=4,
        BatchStrategy="MultiRecord",
    )
    request["TransformInput"].update({"SplitType": "Line", "CompressionType": "Gzip"})
    await sm("create_transform_job", **request)
    job = await sm("describe_transform_job", TransformJobName=request["TransformJobName"])

    # What the request set is kept; what it left out of a structure it gave is still filled.
    assert job["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "JoinSource": "Input",
        "OutputFilter": "$",
    }
    assert job["TransformOutput"] == request["TransformOutput"]
    assert job["TransformInput"] == request["TransformInput"]
    assert (job["MaxConcurrentTransforms"], job["BatchStrategy"]) == (4, "MultiRecord")


@pytest.mark.parametrize(
    ("team", "lifetime"), [(PRIVATE_TEAM, 30 * ONE_DAY), (PUBLIC_TEAM, 6 * 3600)]
)
async def test_labeling_job_gets_the_server_defaults(
    sm: Call, name: Callable[[str], str], team: str, lifetime: int
) -> None:
    request = req.labeling(name(f"label-defaults-{lifetime}"), team)
    await sm("create_labeling_job", **request)
    job = await sm("describe_labeling_job", LabelingJobName=request["LabelingJobName"])

    assert job["OutputConfig"] == {"S3OutputPath": "s3://bucket/labels", "KmsKeyId": ""}
    assert job["HumanTaskConfig"]["MaxConcurrentTaskCount"] == 1000
    assert job["HumanTaskConfig"]["TaskAvailabilityLifetimeInSeconds"] == lifetime


async def test_labeling_job_keeps_what_the_request_set(
    sm: Call, name: Callable[[str], str]
) -> None:
    request = req.labeling(
        name("label-explicit"),
        PRIVATE_TEAM,
        OutputConfig={"S3OutputPath": "s3://bucket/labels", "KmsKeyId": "alias/labels"},
    )
    request["HumanTaskConfig"].update(
        {"MaxConcurrentTaskCount": 50, "TaskAvailabilityLifetimeInSeconds": 3600}
    )
    await sm("create_labeling_job", **request)
    job = await sm("describe_labeling_job", LabelingJobName=request["LabelingJobName"])

    assert job["OutputConfig"] == request["OutputConfig"]
    assert job["HumanTaskConfig"] == request["HumanTaskConfig"]


# --- hosting ----------------------------------------------------------------------------------


def variant(model_name: str) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": model_name,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
    }


async def test_model_and_endpoint_config_get_the_server_defaults(
    sm: Call, name: Callable[[str], str]
) -> None:
    single, pipeline, config_name = name("model"), name("pipeline"), name("config")
    await sm("create_model", **req.model(single))
    await sm(
        "create_model",
        ModelName=pipeline,
        ExecutionRoleArn=req.ROLE,
        Containers=[{"Image": req.IMAGE}, {"Image": req.IMAGE}],
    )
    await sm(
        "create_endpoint_config",
        EndpointConfigName=config_name,
        ProductionVariants=[variant(single)],
    )

    model = await sm("describe_model", ModelName=single)
    assert model["EnableNetworkIsolation"] is False
    assert model["PrimaryContainer"]["Mode"] == "SingleModel"
    containers = (await sm("describe_model", ModelName=pipeline))["Containers"]
    assert [container["Mode"] for container in containers] == ["SingleModel", "SingleModel"]
    config = await sm("describe_endpoint_config", EndpointConfigName=config_name)
    assert config["EnableNetworkIsolation"] is False
    assert config["ProductionVariants"] == [variant(single)]


async def test_model_and_endpoint_config_keep_what_the_request_set(
    sm: Call, name: Callable[[str], str]
) -> None:
    model_name, config_name = name("model-explicit"), name("config-explicit")
    container = {"Image": req.IMAGE, "Mode": "MultiModel", "ModelDataUrl": "s3://bucket/models/"}
    await sm(
        "create_model",
        ModelName=model_name,
        ExecutionRoleArn=req.ROLE,
        PrimaryContainer=container,
        EnableNetworkIsolation=True,
    )
    await sm(
        "create_endpoint_config",
        EndpointConfigName=config_name,
        ProductionVariants=[variant(model_name)],
        EnableNetworkIsolation=True,
    )

    model = await sm("describe_model", ModelName=model_name)
    assert (model["PrimaryContainer"], model["EnableNetworkIsolation"]) == (container, True)
    config = await sm("describe_endpoint_config", EndpointConfigName=config_name)
    assert config["EnableNetworkIsolation"] is True
