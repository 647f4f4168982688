"""The emulator against moto: the same calls, the same requests, the same answers where it counts.

Moto is an independent implementation of the same API, so where both answer an operation,
the fields a client relies on (names, ARNs, statuses, times, the echoed request) must be
there in both, with the same values where the values are not a matter of timing.

Where moto differs from AWS, the emulator follows AWS, and these tests compare nothing:

* Moto completes every job and endpoint the moment it is created (no InProgress/Creating);
  the emulator runs them for a while. Tests wait for the emulator's jobs to finish before
  comparing statuses.
* Moto's List* operations page first and filter after, as AWS does (and the emulator); but
  the order of its pages and its tokens are its own, so listings are compared unfiltered and
  in one page, as sets.
* Moto accepts a second CreateTrainingJob with a name in use; AWS (and the emulator) answers
  ResourceInUse.
* Moto answers DescribeTrainingJob on an unknown job with ValidationException ("Could not
  find training job"), as AWS does (with "Requested resource not found.", which the emulator
  answers): the code is the same, the message is not compared.
* Moto's DescribeProcessingJob leaves out ProcessingResources, which AWS's output shape
  requires; its DescribeTransformJob adds an empty FailureReason and LabelingJobArn.
* Moto's tuning jobs are Completed at once with a made-up best training job; it launches no
  training jobs.
* Moto creates a transform job for a model that does not exist; AWS (and the emulator)
  refuses it with ValidationException ("Could not find model").
* Moto echoes a request verbatim; AWS fills in server defaults the request left out
  (``emulator.defaults``). Moto's answers get those defaults before they are compared.
* Moto has no workteams or labeling jobs, and its CloudWatch Logs knows nothing of SageMaker's
  job log groups: those are not compared here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import botocore.exceptions
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from emulator.defaults import with_defaults
from emulator.state import EmulatorConfig
from support.moto_server import MotoServer
from support.requests import IMAGE, ROLE, model, processing, tags, training, transform

pytestmark = pytest.mark.moto

RUN_FOR = 0.3  # how long the emulator's jobs and endpoints take
Clients = dict[str, Any]
Scenario = Callable[[Any], Awaitable[dict[str, Any]]]
# One botocore session for the module: it parses the (large) SageMaker model once, not per client.
SESSION = get_session()


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        job_duration=RUN_FOR,
        endpoint_duration=RUN_FOR,
        stop_duration=0.1,
        late_event_delay=0.1,
        check_responses=True,
    )


@pytest.fixture
async def clients(emulator: Any, moto_server: MotoServer, moto_url: str) -> AsyncIterator[Clients]:
    moto_server.reset()
    session = SESSION
    config = AioConfig(retries={"mode": "standard", "total_max_attempts": 1})
    async with (
        session.create_client(
            "sagemaker", region_name="us-east-1", endpoint_url=emulator.url, config=config
        ) as ours,
        session.create_client(
            "sagemaker", region_name="us-east-1", endpoint_url=moto_url, config=config
        ) as theirs,
    ):
        yield {"emulator": ours, "moto": theirs}


async def run_both(clients: Clients, scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """The responses of ``scenario`` on the emulator, then on moto (metadata removed)."""
    results = []
    for name in ("emulator", "moto"):
        responses = await scenario(clients[name])
        for response in responses.values():
            if isinstance(response, dict):
                response.pop("ResponseMetadata", None)
        results.append(responses)
    return results[0], results[1]


def assert_contract(
    operation: str,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    present: Iterable[str],
    equal: Iterable[str] = (),
) -> None:
    """``present`` keys are in both answers; ``equal`` keys are in both, with the same value."""
    present, equal = list(present), list(equal)
    theirs = with_defaults(operation, theirs)
    for key in present + equal:
        assert key in ours, (
            f"{operation}: the emulator's answer has no {key} (moto's has {sorted(theirs)})"
        )
        assert key in theirs, f"{operation}: moto's answer has no {key}: the contract is wrong"
    for key in equal:
        assert ours[key] == theirs[key], (
            f"{operation}.{key}: emulator {ours[key]!r} != moto {theirs[key]!r}"
        )


def only(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: mapping[key] for key in keys if key in mapping}


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


# --- training ---------------------------------------------------------------------------------


async def test_a_missing_training_job_is_a_validation_exception_in_both(clients: Clients) -> None:
    async def scenario(sm: Any) -> dict[str, Any]:
        with pytest.raises(botocore.exceptions.ClientError) as missing:
            await sm.describe_training_job(TrainingJobName="contract-never-created")
        return {"missing": missing.value.response["Error"]}

    ours, theirs = await run_both(clients, scenario)
    # Not the ResourceNotFound that botocore's model declares (boto/boto3#2808).
    assert ours["missing"]["Code"] == theirs["missing"]["Code"] == "ValidationException"


async def test_training_job(clients: Clients) -> None:
    request = training("contract-train", HyperParameters={"epochs": "3"}, Tags=tags(team="ml"))

    async def scenario(sm: Any) -> dict[str, Any]:
        created = await sm.create_training_job(**request)

        async def done() -> bool:
            described = await sm.describe_training_job(TrainingJobName="contract-train")
            return bool(described["TrainingJobStatus"] == "Completed")

        await wait_until(done)
        return {
            "create": created,
            "describe": await sm.describe_training_job(TrainingJobName="contract-train"),
            "list": await sm.list_training_jobs(MaxResults=100),
        }

    ours, theirs = await run_both(clients, scenario)
    assert_contract("CreateTrainingJob", ours["create"], theirs["create"], [], ["TrainingJobArn"])
    assert_contract(
        "DescribeTrainingJob",
        ours["describe"],
        theirs["describe"],
        present=[
            "CreationTime",
            "LastModifiedTime",
            "TrainingStartTime",
            "TrainingEndTime",
            "SecondaryStatusTransitions",
            "AlgorithmSpecification",
        ],
        equal=[
            "TrainingJobName",
            "TrainingJobArn",
            "TrainingJobStatus",
            "SecondaryStatus",
            "ModelArtifacts",
            "RoleArn",
            "HyperParameters",
            "InputDataConfig",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
        ],
    )
    # Moto adds a default MetricDefinitions entry of its own; the request's fields are echoed.
    fields = ("TrainingImage", "TrainingInputMode")
    assert only(ours["describe"]["AlgorithmSpecification"], *fields) == only(
        theirs["describe"]["AlgorithmSpecification"], *fields
    )
    [our_summary] = ours["list"]["TrainingJobSummaries"]
    [their_summary] = theirs["list"]["TrainingJobSummaries"]
    assert_contract(
        "ListTrainingJobs",
        our_summary,
        their_summary,
        present=["CreationTime", "LastModifiedTime", "TrainingEndTime"],
        equal=["TrainingJobName", "TrainingJobArn", "TrainingJobStatus"],
    )


async def test_list_training_jobs_contains_the_same_jobs(clients: Clients) -> None:
    names = [f"listed-{i}" for i in range(5)]

    async def scenario(sm: Any) -> dict[str, Any]:
        for name in names:
            await sm.create_training_job(**training(name))
        return {"list": await sm.list_training_jobs(MaxResults=100)}

    ours, theirs = await run_both(clients, scenario)
    # Compared as sets: moto's default order is not AWS's (newest first).
    assert {s["TrainingJobName"] for s in ours["list"]["TrainingJobSummaries"]} == set(names)
    assert {s["TrainingJobName"] for s in theirs["list"]["TrainingJobSummaries"]} == set(names)
    assert "NextToken" not in ours["list"]


# --- processing -------------------------------------------------------------------------------


async def test_processing_job(clients: Clients) -> None:
    request = processing("contract-proc", Environment={"MODE": "full"})

    async def scenario(sm: Any) -> dict[str, Any]:
        created = await sm.create_processing_job(**request)

        async def done() -> bool:
            described = await sm.describe_processing_job(ProcessingJobName="contract-proc")
            return bool(described["ProcessingJobStatus"] == "Completed")

        await wait_until(done)
        return {
            "create": created,
            "describe": await sm.describe_processing_job(ProcessingJobName="contract-proc"),
            "list": await sm.list_processing_jobs(MaxResults=100),
        }

    ours, theirs = await run_both(clients, scenario)
    assert_contract(
        "CreateProcessingJob", ours["create"], theirs["create"], [], ["ProcessingJobArn"]
    )
    assert_contract(
        "DescribeProcessingJob",
        ours["describe"],
        theirs["describe"],
        present=["CreationTime", "LastModifiedTime", "ProcessingEndTime"],
        equal=[
            "ProcessingJobName",
            "ProcessingJobArn",
            "ProcessingJobStatus",
            "AppSpecification",
            "RoleArn",
            "ProcessingOutputConfig",
            "StoppingCondition",
        ],
    )
    # Moto leaves ProcessingResources out; AWS's output shape requires it, and the emulator echoes it.
    assert ours["describe"]["ProcessingResources"] == request["ProcessingResources"]
    [our_summary] = ours["list"]["ProcessingJobSummaries"]
    [their_summary] = theirs["list"]["ProcessingJobSummaries"]
    assert_contract(
        "ListProcessingJobs",
        our_summary,
        their_summary,
        present=["CreationTime", "LastModifiedTime", "ProcessingEndTime"],
        equal=["ProcessingJobName", "ProcessingJobArn", "ProcessingJobStatus"],
    )


# --- models and transform jobs ----------------------------------------------------------------


async def test_model_lifecycle(clients: Clients) -> None:
    async def scenario(sm: Any) -> dict[str, Any]:
        created = await sm.create_model(**model("contract-model"))
        described = await sm.describe_model(ModelName="contract-model")
        listed = await sm.list_models(MaxResults=100)
        deleted = await sm.delete_model(ModelName="contract-model")
        try:
            await sm.describe_model(ModelName="contract-model")
            missing: dict[str, Any] = {}
        except botocore.exceptions.ClientError as error:
            missing = dict(error.response["Error"])
        return {
            "create": created,
            "describe": described,
            "list": listed,
            "delete": deleted,
            "missing": missing,
        }

    ours, theirs = await run_both(clients, scenario)
    assert_contract("CreateModel", ours["create"], theirs["create"], [], ["ModelArn"])
    assert_contract(
        "DescribeModel",
        ours["describe"],
        theirs["describe"],
        present=["CreationTime"],
        equal=["ModelName", "ModelArn", "PrimaryContainer", "ExecutionRoleArn"],
    )
    [our_summary] = ours["list"]["Models"]
    [their_summary] = theirs["list"]["Models"]
    assert_contract(
        "ListModels", our_summary, their_summary, ["CreationTime"], ["ModelName", "ModelArn"]
    )
    assert ours["delete"] == theirs["delete"] == {}
    # After the delete, both refuse to describe it, as AWS does: ValidationException, "Could not find model".
    assert ours["missing"]["Code"] == theirs["missing"]["Code"] == "ValidationException"
    assert "Could not find model" in ours["missing"]["Message"]
    assert "Could not find model" in theirs["missing"]["Message"]


async def test_transform_job(clients: Clients) -> None:
    request = transform("contract-transform", "contract-tmodel")

    async def scenario(sm: Any) -> dict[str, Any]:
        await sm.create_model(**model("contract-tmodel"))
        created = await sm.create_transform_job(**request)

        async def done() -> bool:
            described = await sm.describe_transform_job(TransformJobName="contract-transform")
            return bool(described["TransformJobStatus"] == "Completed")

        await wait_until(done)
        return {
            "create": created,
            "describe": await sm.describe_transform_job(TransformJobName="contract-transform"),
            "list": await sm.list_transform_jobs(MaxResults=100),
        }

    ours, theirs = await run_both(clients, scenario)
    assert_contract("CreateTransformJob", ours["create"], theirs["create"], [], ["TransformJobArn"])
    assert_contract(
        "DescribeTransformJob",
        ours["describe"],
        theirs["describe"],
        present=["CreationTime", "TransformStartTime", "TransformEndTime"],
        equal=[
            "TransformJobName",
            "TransformJobArn",
            "TransformJobStatus",
            "ModelName",
            "TransformInput",
            "TransformOutput",
            "TransformResources",
        ],
    )
    [our_summary] = ours["list"]["TransformJobSummaries"]
    [their_summary] = theirs["list"]["TransformJobSummaries"]
    assert_contract(
        "ListTransformJobs",
        our_summary,
        their_summary,
        present=["CreationTime", "LastModifiedTime", "TransformEndTime"],
        equal=["TransformJobName", "TransformJobArn", "TransformJobStatus"],
    )


# --- hosting ----------------------------------------------------------------------------------

VARIANTS = [
    {
        "VariantName": "primary",
        "ModelName": "contract-hmodel",
        "InstanceType": "ml.m5.xlarge",
        "InitialInstanceCount": 1,
    }
]


async def test_endpoint_config_and_endpoint(clients: Clients) -> None:
    async def scenario(sm: Any) -> dict[str, Any]:
        await sm.create_model(**model("contract-hmodel"))
        config = await sm.create_endpoint_config(
            EndpointConfigName="contract-config", ProductionVariants=VARIANTS
        )
        config_described = await sm.describe_endpoint_config(EndpointConfigName="contract-config")
        endpoint = await sm.create_endpoint(
            EndpointName="contract-endpoint", EndpointConfigName="contract-config"
        )

        async def in_service() -> bool:
            described = await sm.describe_endpoint(EndpointName="contract-endpoint")
            return bool(described["EndpointStatus"] == "InService")

        await wait_until(in_service)
        endpoint_described = await sm.describe_endpoint(EndpointName="contract-endpoint")
        endpoints = await sm.list_endpoints(MaxResults=100)
        configs = await sm.list_endpoint_configs(MaxResults=100)
        return {
            "create_config": config,
            "describe_config": config_described,
            "create_endpoint": endpoint,
            "describe_endpoint": endpoint_described,
            "list_endpoints": endpoints,
            "list_configs": configs,
        }

    ours, theirs = await run_both(clients, scenario)
    assert_contract(
        "CreateEndpointConfig",
        ours["create_config"],
        theirs["create_config"],
        [],
        ["EndpointConfigArn"],
    )
    assert_contract(
        "DescribeEndpointConfig",
        ours["describe_config"],
        theirs["describe_config"],
        present=["CreationTime"],
        equal=["EndpointConfigName", "EndpointConfigArn"],
    )
    variant_fields = ("VariantName", "ModelName", "InstanceType", "InitialInstanceCount")
    assert [only(v, *variant_fields) for v in ours["describe_config"]["ProductionVariants"]] == [
        only(v, *variant_fields) for v in theirs["describe_config"]["ProductionVariants"]
    ]
    assert_contract(
        "CreateEndpoint", ours["create_endpoint"], theirs["create_endpoint"], [], ["EndpointArn"]
    )
    assert_contract(
        "DescribeEndpoint",
        ours["describe_endpoint"],
        theirs["describe_endpoint"],
        present=["CreationTime", "LastModifiedTime", "ProductionVariants"],
        equal=["EndpointName", "EndpointArn", "EndpointConfigName", "EndpointStatus"],
    )
    assert [v["VariantName"] for v in ours["describe_endpoint"]["ProductionVariants"]] == [
        "primary"
    ]
    [our_endpoint] = ours["list_endpoints"]["Endpoints"]
    [their_endpoint] = theirs["list_endpoints"]["Endpoints"]
    assert_contract(
        "ListEndpoints",
        our_endpoint,
        their_endpoint,
        present=["CreationTime", "LastModifiedTime"],
        equal=["EndpointName", "EndpointArn", "EndpointStatus"],
    )
    [our_config] = ours["list_configs"]["EndpointConfigs"]
    [their_config] = theirs["list_configs"]["EndpointConfigs"]
    assert_contract(
        "ListEndpointConfigs",
        our_config,
        their_config,
        present=["CreationTime"],
        equal=["EndpointConfigName", "EndpointConfigArn"],
    )


async def test_deleting_hosting_resources(clients: Clients) -> None:
    async def scenario(sm: Any) -> dict[str, Any]:
        await sm.create_model(**model("contract-hmodel"))
        await sm.create_endpoint_config(
            EndpointConfigName="contract-config", ProductionVariants=VARIANTS
        )
        await sm.create_endpoint(
            EndpointName="contract-endpoint", EndpointConfigName="contract-config"
        )

        async def in_service() -> bool:
            described = await sm.describe_endpoint(EndpointName="contract-endpoint")
            return bool(described["EndpointStatus"] == "InService")

        await wait_until(in_service)
        result = {
            "delete_endpoint": await sm.delete_endpoint(EndpointName="contract-endpoint"),
            "delete_config": await sm.delete_endpoint_config(EndpointConfigName="contract-config"),
        }

        async def endpoint_gone() -> bool:
            try:
                await sm.describe_endpoint(EndpointName="contract-endpoint")
            except botocore.exceptions.ClientError as error:
                result["endpoint_missing"] = dict(error.response["Error"])
                return True
            return False

        await wait_until(endpoint_gone)
        try:
            await sm.describe_endpoint_config(EndpointConfigName="contract-config")
        except botocore.exceptions.ClientError as error:
            result["config_missing"] = dict(error.response["Error"])
        return result

    ours, theirs = await run_both(clients, scenario)
    assert ours["delete_endpoint"] == theirs["delete_endpoint"] == {}
    assert ours["delete_config"] == theirs["delete_config"] == {}
    assert (
        ours["endpoint_missing"]["Code"]
        == theirs["endpoint_missing"]["Code"]
        == "ValidationException"
    )
    assert "Could not find endpoint" in ours["endpoint_missing"]["Message"]
    assert (
        ours["config_missing"]["Code"] == theirs["config_missing"]["Code"] == "ValidationException"
    )
    assert "Could not find endpoint configuration" in ours["config_missing"]["Message"]


# --- tags -------------------------------------------------------------------------------------


async def test_tags(clients: Clients) -> None:
    async def scenario(sm: Any) -> dict[str, Any]:
        arn = (await sm.create_training_job(**training("contract-tagged", Tags=tags(a="1"))))[
            "TrainingJobArn"
        ]
        added = await sm.add_tags(ResourceArn=arn, Tags=tags(b="2", c="3"))
        after_add = await sm.list_tags(ResourceArn=arn)
        deleted = await sm.delete_tags(ResourceArn=arn, TagKeys=["b"])
        after_delete = await sm.list_tags(ResourceArn=arn)
        return {
            "add": added,
            "after_add": after_add,
            "delete": deleted,
            "after_delete": after_delete,
        }

    ours, theirs = await run_both(clients, scenario)

    def pairs(response: dict[str, Any]) -> dict[str, str]:
        return {tag["Key"]: tag["Value"] for tag in response["Tags"]}

    assert "Tags" in ours["add"]
    assert "Tags" in theirs["add"]
    assert pairs(ours["after_add"]) == pairs(theirs["after_add"]) == {"a": "1", "b": "2", "c": "3"}
    assert ours["delete"] == theirs["delete"] == {}
    assert pairs(ours["after_delete"]) == pairs(theirs["after_delete"]) == {"a": "1", "c": "3"}


# --- hyperparameter tuning --------------------------------------------------------------------


def tuning_request(name: str) -> dict[str, Any]:
    base = training("unused")
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {
                "Type": "Minimize",
                "MetricName": "validation:loss",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.1"}
                ]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": "2"},
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "validation:loss", "Regex": "loss=(\\S+)"}],
            },
            "RoleArn": ROLE,
            "InputDataConfig": base["InputDataConfig"],
            "OutputDataConfig": base["OutputDataConfig"],
            "ResourceConfig": base["ResourceConfig"],
            "StoppingCondition": base["StoppingCondition"],
        },
    }


async def test_hyper_parameter_tuning_job(clients: Clients) -> None:
    request = tuning_request("contract-tuning")

    async def scenario(sm: Any) -> dict[str, Any]:
        created = await sm.create_hyper_parameter_tuning_job(**request)

        async def done() -> bool:
            described = await sm.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName="contract-tuning"
            )
            return bool(described["HyperParameterTuningJobStatus"] == "Completed")

        await wait_until(done, within=10)
        return {
            "create": created,
            "describe": await sm.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName="contract-tuning"
            ),
            "list": await sm.list_hyper_parameter_tuning_jobs(MaxResults=100),
        }

    ours, theirs = await run_both(clients, scenario)
    assert_contract(
        "CreateHyperParameterTuningJob",
        ours["create"],
        theirs["create"],
        [],
        ["HyperParameterTuningJobArn"],
    )
    assert_contract(
        "DescribeHyperParameterTuningJob",
        ours["describe"],
        theirs["describe"],
        present=[
            "CreationTime",
            "LastModifiedTime",
            "HyperParameterTuningEndTime",
            "TrainingJobStatusCounters",
            "ObjectiveStatusCounters",
            "BestTrainingJob",
        ],
        equal=[
            "HyperParameterTuningJobName",
            "HyperParameterTuningJobArn",
            "HyperParameterTuningJobStatus",
            "HyperParameterTuningJobConfig",
            "TrainingJobDefinition",
        ],
    )
    assert set(ours["describe"]["TrainingJobStatusCounters"]) == set(
        theirs["describe"]["TrainingJobStatusCounters"]
    )
    assert set(ours["describe"]["ObjectiveStatusCounters"]) == set(
        theirs["describe"]["ObjectiveStatusCounters"]
    )
    [our_summary] = ours["list"]["HyperParameterTuningJobSummaries"]
    [their_summary] = theirs["list"]["HyperParameterTuningJobSummaries"]
    assert_contract(
        "ListHyperParameterTuningJobs",
        our_summary,
        their_summary,
        present=["CreationTime", "TrainingJobStatusCounters", "ObjectiveStatusCounters"],
        equal=[
            "HyperParameterTuningJobName",
            "HyperParameterTuningJobArn",
            "HyperParameterTuningJobStatus",
            "Strategy",
            "ResourceLimits",
        ],
    )
