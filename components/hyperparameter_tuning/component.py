"""SageMaker - Hyperparameter Tuning, as the v1 component had it, run through the runner core.

v1 behaviours kept: every v1 input and output; the request v1 built (objective, resource
limits, the three parameter-range lists as v1 took them, early stopping, one training job
definition with static hyperparameters, channels, output, resources, VPC, isolation,
encryption, spot and checkpoint); ``algorithm_name`` resolves a built-in algorithm to its
image; static hyperparameter values must be strings; warm start needs both
``warm_start_type`` and ``parent_hpo_jobs``. Outputs: the best training job's name,
hyperparameters (without ``_tuning_objective_metric``), model artifact and image.
v1 defects fixed: a restarted pod re-attaches, SIGTERM stops the tuning job (and so its
training jobs), a tuning job without a best training job fails the step instead of crashing.
Range bounds may be given as JSON numbers; they are sent as the strings SageMaker takes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from components.common.app import ComponentInputs, ComponentRun, JobFailed, main
from components.common.inputs import InputError, csv_list, vpc_config
from components.common.spec import (
    ComponentSpec,
    Input,
    Output,
    common_inputs,
    role_input,
    vpc_inputs,
)
from components.train.component import (
    DEFINITION_FIELDS,
    algorithm_specification,
    spot_settings,
    string_values,
)

TUNING_CONFIG = "HyperParameterTuningJobConfig"
DEFINITION = "TrainingJobDefinition"

KIND = "tuning"  # the job kind whose request ``build_request`` builds

SPEC = ComponentSpec(
    module="hyperparameter_tuning",
    display_name="SageMaker - Hyperparameter Tuning",
    description="Hyperparameter Tuning Jobs in SageMaker",
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
            "The maximum run time in seconds per training job.",
        ),
        Input(
            "checkpoint_config",
            "JsonObject",
            "{}",
            "Dictionary of information about the output location for managed spot training checkpoint data.",
        ),
        *common_inputs(),
        Input(
            "job_name",
            "String",
            "",
            "The name of the tuning job. Must be unique within the same AWS account and AWS region.",
        ),
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
            "The name of the algorithm resource to use for the hyperparameter tuning job. Do not use if using a custom training image.",
        ),
        Input(
            "training_input_mode",
            "String",
            "File",
            "The input mode that the algorithm supports. File or Pipe.",
        ),
        Input(
            "metric_definitions",
            "JsonObject",
            "{}",
            "The dictionary of name-regex pairs specify the metrics that the algorithm emits.",
        ),
        Input(
            "strategy",
            "String",
            "Bayesian",
            "How hyperparameter tuning chooses the combinations of hyperparameter values to use for the training job it launches.",
        ),
        Input(
            "metric_name",
            "String",
            None,
            "The name of the metric to use for the objective metric.",
        ),
        Input(
            "metric_type",
            "String",
            None,
            "Whether to minimize or maximize the objective metric.",
        ),
        Input(
            "early_stopping_type",
            "String",
            "Off",
            "Whether to use early stopping for training jobs launched by the tuning job.",
        ),
        Input(
            "static_parameters",
            "JsonObject",
            "{}",
            "The values of hyperparameters that do not change for the tuning job.",
        ),
        Input(
            "integer_parameters",
            "JsonArray",
            "[]",
            "The array of IntegerParameterRange objects that specify ranges of integer hyperparameters that you want to search.",
        ),
        Input(
            "continuous_parameters",
            "JsonArray",
            "[]",
            "The array of ContinuousParameterRange objects that specify ranges of continuous hyperparameters that you want to search.",
        ),
        Input(
            "categorical_parameters",
            "JsonArray",
            "[]",
            "The array of CategoricalParameterRange objects that specify ranges of categorical hyperparameters that you want to search.",
        ),
        Input(
            "channels",
            "JsonArray",
            None,
            "A list of dicts specifying the input channels. Must have at least one.",
        ),
        Input(
            "output_location",
            "String",
            None,
            "The Amazon S3 path where you want Amazon SageMaker to store the model artifacts is from the best training job.",
        ),
        Input(
            "output_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt the model artifacts.",
        ),
        Input("instance_type", "String", "ml.m4.xlarge", "The ML compute instance type."),
        Input(
            "instance_count",
            "Integer",
            "1",
            "The number of ML compute instances to use in each training job.",
        ),
        Input(
            "volume_size",
            "Integer",
            "30",
            "The size of the ML storage volume that you want to provision.",
        ),
        Input(
            "max_num_jobs",
            "Integer",
            None,
            "The maximum number of training jobs that a hyperparameter tuning job can launch.",
        ),
        Input(
            "max_parallel_jobs",
            "Integer",
            None,
            "The maximum number of concurrent training jobs that a hyperparameter tuning job can launch.",
        ),
        Input(
            "resource_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt data on the storage volume attached to the ML compute instance(s).",
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
            "warm_start_type",
            "String",
            "",
            'Specifies either "IdenticalDataAndAlgorithm" or "TransferLearning".',
        ),
        Input(
            "parent_hpo_jobs",
            "String",
            "",
            "List of previously completed or stopped hyperparameter tuning jobs to be used as a starting point.",
        ),
    ],
    fields={
        **{f"{DEFINITION}.{path}": name for path, name in DEFINITION_FIELDS.items()},
        f"{DEFINITION}.StaticHyperParameters": "static_parameters",
        f"{DEFINITION}.OutputDataConfig.S3OutputPath": "output_location",
        "HyperParameterTuningJobName": "job_name",
        f"{TUNING_CONFIG}.Strategy": "strategy",
        f"{TUNING_CONFIG}.HyperParameterTuningJobObjective.Type": "metric_type",
        f"{TUNING_CONFIG}.HyperParameterTuningJobObjective.MetricName": "metric_name",
        f"{TUNING_CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs": "max_num_jobs",
        f"{TUNING_CONFIG}.ResourceLimits.MaxParallelTrainingJobs": "max_parallel_jobs",
        f"{TUNING_CONFIG}.ParameterRanges.IntegerParameterRanges": "integer_parameters",
        f"{TUNING_CONFIG}.ParameterRanges.ContinuousParameterRanges": "continuous_parameters",
        f"{TUNING_CONFIG}.ParameterRanges.CategoricalParameterRanges": "categorical_parameters",
        f"{TUNING_CONFIG}.TrainingJobEarlyStoppingType": "early_stopping_type",
        "WarmStartConfig.WarmStartType": "warm_start_type",
        "WarmStartConfig.ParentHyperParameterTuningJobs": "parent_hpo_jobs",
        "Tags": "tags",
    },
    outputs=[
        Output("hpo_job_name", "The name of the hyperparameter tuning job."),
        Output("model_artifact_url", "The model artifacts URL of the best training job."),
        Output("best_job_name", "The name of the best training job of the tuning job."),
        Output(
            "best_hyperparameters",
            "The hyperparameters of the best training job, as a JSON object (connects to "
            "train's hyperparameters).",
            "JsonObject",
        ),
        Output(
            "training_image",
            "The registry path of the Docker image that contains the training algorithm.",
        ),
    ],
)

# input -> (ParameterRanges key, whether its entries are MinValue/MaxValue ranges)
RANGE_INPUTS = (
    ("integer_parameters", "IntegerParameterRanges", True),
    ("continuous_parameters", "ContinuousParameterRanges", True),
    ("categorical_parameters", "CategoricalParameterRanges", False),
)


def _as_text(name: str, where: str, value: Any) -> str:
    """A range value as SageMaker takes it: a string; a JSON number is written out as one."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InputError(name, f"{where} must be a string or a number, got {value!r}")


def _range(name: str, index: int, entry: Any, bounded: bool) -> dict[str, Any]:
    where = f"entry {index}"
    if not isinstance(entry, dict):
        raise InputError(name, f"{where} must be a JSON object, got {entry!r}")
    if not isinstance(entry.get("Name"), str) or not entry["Name"]:
        raise InputError(name, f"{where} needs a Name (the hyperparameter to tune)")
    checked = dict(entry)
    if bounded:
        for bound in ("MinValue", "MaxValue"):
            if bound not in entry:
                raise InputError(name, f"{where} ({entry['Name']}) needs a {bound}")
            checked[bound] = _as_text(name, f"{where} ({entry['Name']}) {bound}", entry[bound])
    else:
        values = entry.get("Values")
        if not isinstance(values, list) or not values:
            raise InputError(name, f"{where} ({entry['Name']}) needs a non-empty list of Values")
        checked["Values"] = [
            _as_text(name, f"{where} ({entry['Name']}) Values", value) for value in values
        ]
    return checked


def parameter_ranges(run: ComponentInputs) -> dict[str, Any]:
    """ParameterRanges from v1's three lists; an empty list is left out."""
    ranges: dict[str, Any] = {}
    for name, key, bounded in RANGE_INPUTS:
        entries = [
            run.checks.attempt(
                _range,
                name,
                index,
                entry,
                bounded,
                default=None,
                field=f"{TUNING_CONFIG}.ParameterRanges.{key}",
            )
            for index, entry in enumerate(run.inputs[name])
        ]
        if entries:
            ranges[key] = [entry for entry in entries if entry is not None]
    return ranges


def warm_start_config(inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """v1: both warm_start_type and parent_hpo_jobs, or neither."""
    warm_start_type = inputs["warm_start_type"].strip()
    parents = csv_list(inputs["parent_hpo_jobs"])
    if not warm_start_type and not parents:
        return None
    if not warm_start_type:
        raise InputError(
            "warm_start_type",
            'parent_hpo_jobs needs a warm start type: "IdenticalDataAndAlgorithm" or "TransferLearning"',
        )
    if not parents:
        raise InputError(
            "parent_hpo_jobs", "warm_start_type needs at least one parent hyperparameter tuning job"
        )
    return {
        "WarmStartType": warm_start_type,
        "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": parent} for parent in parents
        ],
    }


def training_job_definition(run: ComponentInputs) -> dict[str, Any]:
    inputs, checks = run.inputs, run.checks
    channels = inputs["channels"]
    if not channels:
        checks.add("channels", "must have at least one channel")
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": inputs["max_run_time"]}
    definition: dict[str, Any] = {
        "StaticHyperParameters": checks.attempt(
            string_values, "static_parameters", inputs["static_parameters"], default={}
        ),
        "AlgorithmSpecification": checks.attempt(
            algorithm_specification,
            inputs,
            default={"TrainingInputMode": inputs["training_input_mode"]},
        ),
        "RoleArn": inputs["role"],
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": inputs["output_location"]},
        "ResourceConfig": {
            "InstanceType": inputs["instance_type"],
            "InstanceCount": inputs["instance_count"],
            "VolumeSizeInGB": inputs["volume_size"],
        },
        "StoppingCondition": stopping,
        "EnableNetworkIsolation": inputs["network_isolation"],
        "EnableInterContainerTrafficEncryption": inputs["traffic_encryption"],
    }
    definition.update(checks.attempt(spot_settings, inputs, stopping, default={}))
    if inputs["output_encryption_key"]:
        definition["OutputDataConfig"]["KmsKeyId"] = inputs["output_encryption_key"]
    if inputs["resource_encryption_key"]:
        definition["ResourceConfig"]["VolumeKmsKeyId"] = inputs["resource_encryption_key"]
    vpc = checks.attempt(vpc_config, inputs, default=None, field=f"{DEFINITION}.VpcConfig")
    if vpc:
        definition["VpcConfig"] = vpc
    return definition


def build_request(run: ComponentInputs) -> dict[str, Any]:
    """CreateHyperParameterTuningJob from the inputs; ``InputError`` with every problem."""
    inputs = run.inputs
    config: dict[str, Any] = {
        "Strategy": inputs["strategy"],
        "HyperParameterTuningJobObjective": {
            "Type": inputs["metric_type"],
            "MetricName": inputs["metric_name"],
        },
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": inputs["max_num_jobs"],
            "MaxParallelTrainingJobs": inputs["max_parallel_jobs"],
        },
        "ParameterRanges": parameter_ranges(run),
        "TrainingJobEarlyStoppingType": inputs["early_stopping_type"],
    }
    request: dict[str, Any] = {
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": training_job_definition(run),
        "Tags": run.user_tags(),
    }
    if inputs["job_name"]:
        request["HyperParameterTuningJobName"] = inputs["job_name"]
    warm_start = run.checks.attempt(
        warm_start_config, inputs, default=None, field="WarmStartConfig"
    )
    if warm_start:
        request["WarmStartConfig"] = warm_start
    return run.checked(KIND, request)


async def execute(run: ComponentRun) -> dict[str, Any]:
    outcome = await run.job(KIND, build_request(run))
    outputs = outcome.outputs
    if "best_job_name" not in outputs:
        # Completed, but no training job finished with an objective value: nothing to pass on.
        raise JobFailed(
            dataclasses.replace(
                outcome,
                succeeded=False,
                failure_reason="no training job of the tuning job completed with an objective "
                "metric, so there is no best training job",
            )
        )
    return {
        "hpo_job_name": outcome.name,
        "model_artifact_url": outputs["model_artifact_url"],
        "best_job_name": outputs["best_job_name"],
        "best_hyperparameters": outputs["best_hyperparameters"],
        "training_image": outputs["training_image"],
    }


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv, check=build_request)
