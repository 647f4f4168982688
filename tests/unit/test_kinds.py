"""``runner.kinds`` against botocore's SageMaker model, and the output readers' v1 names."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.model import ListShape, Shape, StructureShape

from runner.core import RULE_FAILED, RULE_PENDING, RULE_STATUS_KEYS
from runner.kinds import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    KINDS,
    LABELING,
    MODEL,
    PROCESSING,
    TRAINING,
    TRANSFORM,
    TUNING,
    WORKTEAM,
    JobKind,
    kind_named,
    log_stream_of_instance,
    log_stream_owner,
)
from runner.validation import operation_model, service_model

ALL = list(KINDS.values())
POLLED = [kind for kind in ALL if not kind.is_synchronous]
LISTED = [kind for kind in ALL if kind.list_operation]
ids = [kind.key for kind in ALL]


def members(shape: Shape | None) -> dict[str, Shape]:
    assert isinstance(shape, StructureShape)
    return dict(shape.members)


def describe_output(kind: JobKind) -> dict[str, Shape]:
    output = members(operation_model("sagemaker", kind.describe).output_shape)
    return members(output[kind.describe_wrapper]) if kind.describe_wrapper else output


def shape_at(shape: Shape, path: str) -> Shape:
    """``shape_at(output, "ProcessingOutputConfig.Outputs[].S3Output.S3Uri")``."""
    for step in path.split("."):
        name, is_list = step.removesuffix("[]"), step.endswith("[]")
        assert isinstance(shape, StructureShape), f"{path}: {name} is not in a structure"
        assert name in shape.members, f"{path}: no member {name} in {shape.name}"
        shape = shape.members[name]
        if is_list:
            assert isinstance(shape, ListShape), f"{path}: {name} is not a list"
            shape = shape.member
    return shape


def test_the_registry_is_keyed_by_kind() -> None:
    assert all(KINDS[key].key == key for key in KINDS)
    assert kind_named("training") is TRAINING
    with pytest.raises(ValueError, match="unknown job kind 'nope'"):
        kind_named("nope")


# --- against botocore's model -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_operations_exist(kind: JobKind) -> None:
    operations = set(service_model("sagemaker").operation_names)
    named = [kind.create, kind.describe, kind.stop_operation, kind.list_operation]
    for operation in filter(None, named):
        assert operation in operations, operation


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_the_name_is_a_create_and_describe_input(kind: JobKind) -> None:
    assert kind.name_field in members(operation_model("sagemaker", kind.create).input_shape)
    describe_input = members(operation_model("sagemaker", kind.describe).input_shape)
    assert kind.name_field in describe_input
    assert operation_model("sagemaker", kind.describe).input_shape.required_members == [  # type: ignore[union-attr]
        kind.name_field
    ]


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_create_answers_the_arn(kind: JobKind) -> None:
    assert kind.arn_field in members(operation_model("sagemaker", kind.create).output_shape)


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_describe_answers_name_arn_and_status(kind: JobKind) -> None:
    output = describe_output(kind)
    assert kind.name_field in output
    assert kind.arn_field in output
    if kind.status_field:
        assert kind.status_field in output


@pytest.mark.parametrize("kind", POLLED, ids=[k.key for k in POLLED])
def test_terminal_states_are_values_of_the_status_enum(kind: JobKind) -> None:
    assert kind.status_field is not None
    enum = set(describe_output(kind)[kind.status_field].enum)  # type: ignore[attr-defined]
    assert enum, f"{kind.status_field} has no enum"
    assert kind.states.terminal, f"{kind.key} has no terminal state"
    assert kind.states.terminal <= enum, kind.states.terminal - enum
    assert not kind.states.succeeded & kind.states.failed
    assert not kind.states.succeeded & kind.states.stopped


def test_the_endpoint_update_states_used_by_the_core_exist() -> None:
    enum = set(describe_output(ENDPOINT)["EndpointStatus"].enum)  # type: ignore[attr-defined]
    assert {"Updating", "InService", "Failed"} <= enum


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_synchronous_kinds_have_no_states(kind: JobKind) -> None:
    if kind.is_synchronous:
        assert not kind.states.terminal
        assert kind.status_of({kind.name_field: "x"}) is None
    else:
        assert kind.status_field is not None
        assert kind.status_of({kind.status_field: "InProgress"}) == "InProgress"


@pytest.mark.parametrize("kind", [k for k in ALL if k.stop_operation], ids=lambda k: k.key)
def test_stop_takes_the_name(kind: JobKind) -> None:
    assert kind.stop_operation is not None
    stop_input = operation_model("sagemaker", kind.stop_operation).input_shape
    assert stop_input is not None and stop_input.required_members == [kind.name_field]


@pytest.mark.parametrize("kind", LISTED, ids=[k.key for k in LISTED])
def test_list_supports_delta_sweeps(kind: JobKind) -> None:
    assert kind.list_operation and kind.list_key
    model = operation_model("sagemaker", kind.list_operation)
    inputs = members(model.input_shape)
    # What Runner._sweep sends.
    for parameter in (
        "LastModifiedTimeAfter",
        "CreationTimeAfter",
        "NameContains",
        "SortBy",
        "SortOrder",
        "MaxResults",
        "NextToken",
    ):
        assert parameter in inputs, parameter
    assert "CreationTime" in inputs["SortBy"].enum  # type: ignore[attr-defined]
    assert "Descending" in inputs["SortOrder"].enum  # type: ignore[attr-defined]
    outputs = members(model.output_shape)
    assert kind.list_key in outputs and "NextToken" in outputs
    summary = outputs[kind.list_key]
    assert isinstance(summary, ListShape)
    # A sweep reads a summary the way a poll reads a Describe answer.
    summary_members = members(summary.member)
    for field in (kind.name_field, kind.status_field, "CreationTime", "LastModifiedTime"):
        assert field in summary_members, field


def test_training_rule_statuses_exist() -> None:
    output = describe_output(TRAINING)
    for key in RULE_STATUS_KEYS:
        rule = output[key]
        assert isinstance(rule, ListShape)
        status = shape_at(rule.member, "RuleEvaluationStatus")
        assert set(status.enum) >= RULE_PENDING | RULE_FAILED  # type: ignore[attr-defined]
        shape_at(rule.member, "RuleConfigurationName")


READ_PATHS = {
    "training": [
        "TrainingJobName",
        "ModelArtifacts.S3ModelArtifacts",
        "AlgorithmSpecification.TrainingImage",
        "AlgorithmSpecification.AlgorithmName",
        "FinalMetricDataList[].MetricName",
        "FinalMetricDataList[].Value",
        "HyperParameters",
        "FailureReason",
        "SecondaryStatus",
        "SecondaryStatusTransitions[].Status",
        "SecondaryStatusTransitions[].StatusMessage",
    ],
    "tuning": [
        "HyperParameterTuningJobName",
        "BestTrainingJob.TrainingJobName",
        "BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric",
    ],
    "processing": [
        "ProcessingJobName",
        "ProcessingOutputConfig.Outputs[].OutputName",
        "ProcessingOutputConfig.Outputs[].S3Output.S3Uri",
    ],
    "transform": ["TransformJobName", "TransformOutput.S3OutputPath"],
    "labeling": [
        "LabelingJobName",
        "LabelingJobOutput.OutputDatasetS3Uri",
        "LabelingJobOutput.FinalActiveLearningModelArn",
    ],
    "endpoint": ["EndpointName", "EndpointConfigName", "FailureReason"],
    "model": ["ModelName"],
    "endpoint_config": ["EndpointConfigName"],
    "workteam": ["WorkteamArn"],
}


@pytest.mark.parametrize(
    ("key", "path"), [(key, path) for key, paths in READ_PATHS.items() for path in paths]
)
def test_fields_the_readers_use_exist_in_describe(key: str, path: str) -> None:
    kind = KINDS[key]
    output: Shape | None = operation_model("sagemaker", kind.describe).output_shape
    if kind.describe_wrapper:
        output = members(output)[kind.describe_wrapper]
    assert output is not None
    shape_at(output, path)


# --- output readers -----------------------------------------------------------------------------


class FakeCaller:
    """Answers SageMaker calls from a table, and records them."""

    def __init__(self, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        self.calls.append((operation, params))
        return self.answers[operation]


IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def training_description(name: str, **more: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://bucket/output/{name}/output/model.tar.gz"},
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "FinalMetricDataList": [
            {"MetricName": "loss", "Value": 0.25},
            {"MetricName": "accuracy", "Value": 0.9},
        ],
        **more,
    }


async def test_training_outputs() -> None:
    caller = FakeCaller()
    outputs = await TRAINING.read_outputs(training_description("train-1"), caller)
    assert outputs == {
        "job_name": "train-1",
        "model_artifact_url": "s3://bucket/output/train-1/output/model.tar.gz",
        "training_image": IMAGE,
        "metrics": {"loss": 0.25, "accuracy": 0.9},
    }
    assert caller.calls == []


async def test_training_outputs_of_a_marketplace_algorithm_without_artifacts() -> None:
    description = {
        "TrainingJobName": "algo-1",
        "AlgorithmSpecification": {"AlgorithmName": "arn:aws:sagemaker:us-east-1:1:algorithm/a"},
    }
    outputs = await TRAINING.read_outputs(description, FakeCaller())
    assert outputs == {
        "job_name": "algo-1",
        "model_artifact_url": "",
        "training_image": "arn:aws:sagemaker:us-east-1:1:algorithm/a",
        "metrics": {},
    }


async def test_tuning_outputs_read_the_best_training_job() -> None:
    best = training_description(
        "hpo-1-003-abcd",
        HyperParameters={
            "epochs": "12",
            "learning_rate": "0.05",
            "_tuning_objective_metric": "validation:loss",
        },
    )
    caller = FakeCaller({"DescribeTrainingJob": best})
    description = {
        "HyperParameterTuningJobName": "hpo-1",
        "HyperParameterTuningJobStatus": "Completed",
        "BestTrainingJob": {
            "TrainingJobName": "hpo-1-003-abcd",
            "FinalHyperParameterTuningJobObjectiveMetric": {
                "MetricName": "validation:loss",
                "Value": 0.1,
            },
        },
    }
    outputs = await TUNING.read_outputs(description, caller)
    assert caller.calls == [("DescribeTrainingJob", {"TrainingJobName": "hpo-1-003-abcd"})]
    assert outputs == {
        "hpo_job_name": "hpo-1",
        "best_job_name": "hpo-1-003-abcd",
        "best_hyperparameters": {"epochs": "12", "learning_rate": "0.05"},
        "model_artifact_url": "s3://bucket/output/hpo-1-003-abcd/output/model.tar.gz",
        "training_image": IMAGE,
        "best_objective": {"MetricName": "validation:loss", "Value": 0.1},
    }


async def test_tuning_outputs_without_a_best_job() -> None:
    caller = FakeCaller()
    description = {
        "HyperParameterTuningJobName": "hpo-2",
        "HyperParameterTuningJobStatus": "Completed",
    }
    assert await TUNING.read_outputs(description, caller) == {"hpo_job_name": "hpo-2"}
    assert caller.calls == []


async def test_processing_outputs() -> None:
    description = {
        "ProcessingJobName": "proc-1",
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "train",
                    "S3Output": {
                        "S3Uri": "s3://bucket/processed/train",
                        "LocalPath": "/opt/ml/processing/train",
                        "S3UploadMode": "EndOfJob",
                    },
                },
                {
                    "OutputName": "features",
                    "FeatureStoreOutput": {"FeatureGroupName": "fg"},
                },
                {
                    "OutputName": "test",
                    "S3Output": {"S3Uri": "s3://bucket/processed/test", "S3UploadMode": "EndOfJob"},
                },
            ]
        },
    }
    outputs = await PROCESSING.read_outputs(description, FakeCaller())
    assert outputs == {
        "job_name": "proc-1",
        "output_artifacts": {
            "train": "s3://bucket/processed/train",
            "test": "s3://bucket/processed/test",
        },
    }
    no_outputs = await PROCESSING.read_outputs({"ProcessingJobName": "proc-2"}, FakeCaller())
    assert no_outputs == {"job_name": "proc-2", "output_artifacts": {}}


async def test_transform_outputs() -> None:
    description = {
        "TransformJobName": "batch-1",
        "TransformOutput": {"S3OutputPath": "s3://bucket/batch-out"},
    }
    outputs = await TRANSFORM.read_outputs(description, FakeCaller())
    assert outputs == {"job_name": "batch-1", "output_location": "s3://bucket/batch-out"}


async def test_labeling_outputs() -> None:
    description = {
        "LabelingJobName": "label-1",
        "LabelingJobOutput": {
            "OutputDatasetS3Uri": "s3://bucket/labels/label-1/manifests/output/output.manifest",
            "FinalActiveLearningModelArn": "arn:aws:sagemaker:us-east-1:1:model/label-1-al",
        },
    }
    outputs = await LABELING.read_outputs(description, FakeCaller())
    assert outputs == {
        "job_name": "label-1",
        "output_manifest_location": "s3://bucket/labels/label-1/manifests/output/output.manifest",
        "active_learning_model_arn": "arn:aws:sagemaker:us-east-1:1:model/label-1-al",
    }
    without_learning = await LABELING.read_outputs(
        {"LabelingJobName": "label-2", "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://b/o"}},
        FakeCaller(),
    )
    assert without_learning["active_learning_model_arn"] == ""


async def test_hosting_outputs() -> None:
    assert await MODEL.read_outputs({"ModelName": "m"}, FakeCaller()) == {"model_name": "m"}
    assert await ENDPOINT_CONFIG.read_outputs({"EndpointConfigName": "c"}, FakeCaller()) == {
        "endpoint_config_name": "c"
    }
    assert await ENDPOINT.read_outputs(
        {"EndpointName": "e", "EndpointConfigName": "c"}, FakeCaller()
    ) == {"endpoint_name": "e", "endpoint_config_name": "c"}
    arn = "arn:aws:sagemaker:us-east-1:1:workteam/private-crowd/team"
    assert await WORKTEAM.read_outputs({"WorkteamArn": arn}, FakeCaller()) == {"workteam_arn": arn}


# A complete Describe answer of each kind: every output its reader can give is there.
FULL_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "training": training_description("train-1"),
    "tuning": {
        "HyperParameterTuningJobName": "hpo-1",
        "BestTrainingJob": {
            "TrainingJobName": "hpo-1-001",
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "loss", "Value": 0.1},
        },
    },
    "processing": {
        "ProcessingJobName": "proc-1",
        "ProcessingOutputConfig": {
            "Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": "s3://b/t"}}]
        },
    },
    "transform": {"TransformJobName": "t", "TransformOutput": {"S3OutputPath": "s3://b/o"}},
    "labeling": {
        "LabelingJobName": "l",
        "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://b/m", "FinalActiveLearningModelArn": "a"},
    },
    "model": {"ModelName": "m"},
    "endpoint_config": {"EndpointConfigName": "c"},
    "endpoint": {"EndpointName": "e", "EndpointConfigName": "c"},
    "endpoint_update": {"EndpointName": "e", "EndpointConfigName": "c"},
    "workteam": {"WorkteamArn": "arn:aws:sagemaker:us-east-1:1:workteam/private-crowd/team"},
}


@pytest.mark.parametrize("kind", ALL, ids=ids)
async def test_each_kind_declares_exactly_the_outputs_its_reader_gives(kind: JobKind) -> None:
    caller = FakeCaller({"DescribeTrainingJob": training_description("hpo-1-001")})
    outputs = await kind.read_outputs(FULL_DESCRIPTIONS[kind.key], caller)
    assert set(outputs) == kind.outputs
    assert kind.keyed_outputs <= kind.outputs
    assert {name for name, value in outputs.items() if isinstance(value, dict)} == (
        kind.keyed_outputs
    )
    for output, keys_of in kind.output_keys.items():  # a Describe answer repeats the request
        assert set(outputs[output]) == keys_of(FULL_DESCRIPTIONS[kind.key])


def test_every_kinds_name_limit_is_the_service_models() -> None:
    from runner.kinds import KINDS
    from runner.validation import operation_model

    for kind in KINDS.values():
        if kind.key == "endpoint_update":
            continue
        shape = operation_model("sagemaker", kind.create).input_shape
        assert shape is not None
        assert shape.members[kind.name_field].metadata["max"] == kind.max_name_length, kind.key


def test_log_stream_prefixes_and_owners_follow_sagemakers_names() -> None:
    # https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html
    assert TRAINING.log_stream_prefix("job-1") == "job-1/"
    assert PROCESSING.log_stream_prefix("job-1") == "job-1/"
    assert TRANSFORM.log_stream_prefix("job-1") == "job-1/"
    assert LABELING.log_stream_prefix("job-1") == "job-1"  # its one stream is the job's name
    assert TRANSFORM.log_streams_per_instance == 2  # each instance's and its data-log
    assert {TRAINING.log_streams_per_instance, PROCESSING.log_streams_per_instance} == {1}
    assert log_stream_owner("job-1") == "job-1"
    assert log_stream_owner("job-1/algo-1-1700000000") == "job-1"
    assert log_stream_owner("job-1/i-0123456789abcdef0-1700000000/data-log") == "job-1"
    assert log_stream_owner("job-10") != "job-1"  # listed under the prefix "job-1", not its
    assert log_stream_of_instance("job-1/algo-1-1700000000") and log_stream_of_instance("job-1")
    assert not log_stream_of_instance("job-1/i-0123456789abcdef0-1700000000/data-log")


def test_the_readme_lists_each_kinds_outputs_as_declared() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| `{{ outputs.")]
    listed = row.partition("what the entry's kind gives: ")[2]
    for kind in ALL:
        if kind.key == "endpoint_update":  # not a manifest kind
            continue
        part = next(p for p in listed.split("; ") if p.startswith(f"{kind.key} "))
        names = {n.strip("` |").split(".")[0] for n in part.removeprefix(kind.key).split(", ")}
        assert names == kind.outputs, kind.key


def test_kinds_are_hashable_keys() -> None:
    assert {kind: kind.key for kind in ALL}[PROCESSING] == "processing"  # components key by kind
