"""SageMaker - Training Job, as the v1 component had it, run through the runner core.

v1 behaviours kept: every v1 input and output; ``algorithm_name`` resolves a built-in
algorithm to its image (any other name is sent as ``AlgorithmName``); hyperparameter values
must be strings; spot training needs a checkpoint S3 URI and ``max_wait_time >=
max_run_time``; Debugger rule evaluations are waited for and an ``Error`` fails the step.
v1 defects fixed: logs stream live, a restarted pod re-attaches, SIGTERM stops the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.common.algorithms import builtin_image
from components.common.app import ComponentInputs, ComponentRun, main
from components.common.inputs import InputError, vpc_config
from components.common.spec import (
    ComponentSpec,
    Input,
    Output,
    common_inputs,
    role_input,
    vpc_fields,
    vpc_inputs,
)

# The training job definition's fields, as the train and tuning components fill them.
DEFINITION_FIELDS = {
    "AlgorithmSpecification.TrainingImage": "image",
    "AlgorithmSpecification.AlgorithmName": "algorithm_name",
    "AlgorithmSpecification.TrainingInputMode": "training_input_mode",
    "AlgorithmSpecification.MetricDefinitions": "metric_definitions",
    "RoleArn": "role",
    "InputDataConfig": "channels",
    "OutputDataConfig.KmsKeyId": "output_encryption_key",
    "ResourceConfig.InstanceType": "instance_type",
    "ResourceConfig.InstanceCount": "instance_count",
    "ResourceConfig.VolumeSizeInGB": "volume_size",
    "ResourceConfig.VolumeKmsKeyId": "resource_encryption_key",
    "StoppingCondition.MaxRuntimeInSeconds": "max_run_time",
    "StoppingCondition.MaxWaitTimeInSeconds": "max_wait_time",
    "EnableManagedSpotTraining": "spot_instance",
    "CheckpointConfig": "checkpoint_config",
    "EnableNetworkIsolation": "network_isolation",
    "EnableInterContainerTrafficEncryption": "traffic_encryption",
    **vpc_fields(),
}

KIND = "training"  # the job kind whose request ``build_request`` builds

SPEC = ComponentSpec(
    module="train",
    display_name="SageMaker - Training Job",
    description="Train Machine Learning and Deep Learning Models using SageMaker",
    inputs=[
        Input("spot_instance", "Bool", "False", "Use managed spot training."),
        Input(
            "max_wait_time",
            "Integer",
            "86400",
            "The maximum time in seconds to wait for a spot instance.",
        ),
        Input(
            "max_run_time",
            "Integer",
            "86400",
            "The maximum run time in seconds for the training job.",
        ),
        Input(
            "checkpoint_config",
            "JsonObject",
            "{}",
            "Dictionary of information about the output location for managed spot training checkpoint data.",
        ),
        *common_inputs(),
        Input("job_name", "String", "", "The name of the training job."),
        role_input(),
        Input(
            "image",
            "String",
            "",
            "The registry path of the Docker image that contains the training algorithm.",
        ),
        Input(
            "algorithm_name",
            "String",
            "",
            "The name of the algorithm resource to use for the training job. Do not use if using a custom training image.",
        ),
        Input(
            "metric_definitions",
            "JsonObject",
            "{}",
            "The dictionary of name-regex pairs specify the metrics that the algorithm emits.",
        ),
        Input(
            "training_input_mode",
            "String",
            "File",
            "The input mode that the algorithm supports. File or Pipe.",
        ),
        Input(
            "hyperparameters",
            "JsonObject",
            "{}",
            "Dictionary of hyperparameters for the the algorithm.",
        ),
        Input(
            "channels",
            "JsonArray",
            None,
            "A list of dicts specifying the input channels. Must have at least one.",
        ),
        Input("instance_type", "String", "ml.m4.xlarge", "The ML compute instance type."),
        Input(
            "instance_count",
            "Integer",
            "1",
            "The number of ML compute instances to use in the training job.",
        ),
        Input(
            "volume_size",
            "Integer",
            "30",
            "The size of the ML storage volume that you want to provision.",
        ),
        Input(
            "resource_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt data on the storage volume attached to the ML compute instance(s).",
        ),
        Input(
            "model_artifact_path",
            "String",
            None,
            "Identifies the S3 path where you want Amazon SageMaker to store the model artifacts.",
        ),
        Input(
            "output_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt the model artifacts.",
        ),
        *vpc_inputs(),
        Input("network_isolation", "Bool", "True", "Isolates the training container."),
        Input(
            "traffic_encryption",
            "Bool",
            "False",
            "Encrypts all communications between ML compute instances in distributed training.",
        ),
        Input(
            "debug_hook_config",
            "JsonObject",
            "{}",
            "Dictionary of configuration information for the debug hook parameters, collection configurations and storage paths.",
        ),
        Input(
            "debug_rule_config",
            "JsonArray",
            "[]",
            "List of configuration information for debugging rules.",
        ),
    ],
    fields={
        **DEFINITION_FIELDS,
        "TrainingJobName": "job_name",
        "HyperParameters": "hyperparameters",
        "OutputDataConfig.S3OutputPath": "model_artifact_path",
        "DebugHookConfig": "debug_hook_config",
        "DebugRuleConfigurations": "debug_rule_config",
        "Tags": "tags",
    },
    outputs=[
        Output("model_artifact_url", "The model artifacts URL."),
        Output("job_name", "The training job name."),
        Output(
            "training_image",
            "The registry path of the Docker image that contains the training algorithm.",
        ),
    ],
)


def string_values(name: str, mapping: Mapping[str, Any]) -> dict[str, str]:
    """SageMaker's rule: every hyperparameter value is a string."""
    wrong = [key for key, value in mapping.items() if not isinstance(value, str)]
    if wrong:
        raise InputError(
            name,
            f"every value must be a string (SageMaker's rule); not strings: {', '.join(sorted(wrong))}",
        )
    return dict(mapping)


def algorithm_specification(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``image`` or ``algorithm_name`` (a built-in's display name resolves to its image)."""
    image, algorithm = inputs["image"], inputs["algorithm_name"]
    if not image and not algorithm:
        raise InputError("image", "either image or algorithm_name must be given")
    if image and algorithm:
        raise InputError("algorithm_name", "give image or algorithm_name, not both")
    spec: dict[str, Any] = {"TrainingInputMode": inputs["training_input_mode"]}
    resolved = builtin_image(algorithm, inputs["region"]) if algorithm else None
    if image or resolved:
        spec["TrainingImage"] = image or resolved
    else:
        spec["AlgorithmName"] = algorithm
    metrics = inputs["metric_definitions"]
    if metrics:
        if "TrainingImage" not in spec:
            raise InputError(
                "metric_definitions",
                "can only be given with a training image, not an algorithm resource",
            )
        spec["MetricDefinitions"] = [
            {"Name": name, "Regex": regex} for name, regex in metrics.items()
        ]
    return spec


def spot_settings(inputs: Mapping[str, Any], stopping: dict[str, Any]) -> dict[str, Any]:
    """Spot needs a checkpoint S3 URI and max_wait_time >= max_run_time; without spot, neither."""
    if not inputs["spot_instance"]:
        return {}
    checkpoint = inputs["checkpoint_config"]
    if not checkpoint.get("S3Uri"):
        raise InputError("checkpoint_config", "spot training needs checkpoint_config with an S3Uri")
    if inputs["max_wait_time"] < inputs["max_run_time"]:
        raise InputError("max_wait_time", "must be at least max_run_time for spot training")
    stopping["MaxWaitTimeInSeconds"] = inputs["max_wait_time"]
    return {"EnableManagedSpotTraining": True, "CheckpointConfig": checkpoint}


def build_request(run: ComponentInputs) -> dict[str, Any]:
    """CreateTrainingJob from the inputs; ``InputError`` with every problem they have."""
    inputs, checks = run.inputs, run.checks
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": inputs["max_run_time"]}
    channels = inputs["channels"]
    if not channels:
        checks.add("channels", "must have at least one channel")
    request: dict[str, Any] = {
        "AlgorithmSpecification": checks.attempt(
            algorithm_specification,
            inputs,
            default={"TrainingInputMode": inputs["training_input_mode"]},
        ),
        "RoleArn": inputs["role"],
        "HyperParameters": checks.attempt(
            string_values, "hyperparameters", inputs["hyperparameters"], default={}
        ),
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": inputs["model_artifact_path"]},
        "ResourceConfig": {
            "InstanceType": inputs["instance_type"],
            "InstanceCount": inputs["instance_count"],
            "VolumeSizeInGB": inputs["volume_size"],
        },
        "StoppingCondition": stopping,
        "EnableNetworkIsolation": inputs["network_isolation"],
        "EnableInterContainerTrafficEncryption": inputs["traffic_encryption"],
        "Tags": run.user_tags(),
    }
    request.update(checks.attempt(spot_settings, inputs, stopping, default={}))
    if inputs["job_name"]:
        request["TrainingJobName"] = inputs["job_name"]
    if inputs["resource_encryption_key"]:
        request["ResourceConfig"]["VolumeKmsKeyId"] = inputs["resource_encryption_key"]
    if inputs["output_encryption_key"]:
        request["OutputDataConfig"]["KmsKeyId"] = inputs["output_encryption_key"]
    vpc = checks.attempt(vpc_config, inputs, default=None, field="VpcConfig")
    if vpc:
        request["VpcConfig"] = vpc
    if inputs["debug_hook_config"]:
        request["DebugHookConfig"] = inputs["debug_hook_config"]
    if inputs["debug_rule_config"]:
        request["DebugRuleConfigurations"] = inputs["debug_rule_config"]
    return run.checked(KIND, request)


async def execute(run: ComponentRun) -> dict[str, Any]:
    outcome = await run.job(KIND, build_request(run))
    return {
        "model_artifact_url": outcome.outputs["model_artifact_url"],
        "job_name": outcome.name,
        "training_image": outcome.outputs["training_image"],
    }


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv, check=build_request)
