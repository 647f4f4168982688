"""SageMaker - Batch Transformation, as the v1 component had it, run through the runner core.

v1 behaviours kept: every v1 input and output; the job name is generated when not given
(``BatchTransform-<ts>-<rand>``); ``max_concurrent`` 0 leaves the choice to SageMaker;
``"None"`` is sent as given where SageMaker takes it (SplitType, CompressionType, AssembleWith,
JoinSource: it is their default); an empty ``data_type`` means ``S3Prefix``; the output is the
job's ``S3OutputPath``. Optional fields left empty are not sent: an empty enum value or KMS key
would be refused. ``Completed`` succeeds; ``Failed`` and ``Stopped`` fail.
v1 defects fixed: logs stream live, a restarted pod re-attaches, SIGTERM stops the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.common.app import ComponentInputs, ComponentRun, main
from components.common.inputs import InputError
from components.common.spec import ComponentSpec, Input, Output, common_inputs

KIND = "transform"  # the job kind whose request ``build_request`` builds

SPEC = ComponentSpec(
    module="batch_transform",
    display_name="SageMaker - Batch Transformation",
    description="Batch Transformation Jobs in SageMaker",
    inputs=[
        *common_inputs(),
        Input("job_name", "String", "", "The name of the transform job. Generated when empty."),
        Input(
            "model_name",
            "String",
            None,
            "The name of the model that you want to use for the transform job.",
        ),
        Input(
            "max_concurrent",
            "Integer",
            "0",
            "The maximum number of parallel requests that can be sent to each instance in a transform job (0: SageMaker chooses).",
        ),
        Input("max_payload", "Integer", "6", "The maximum allowed size of the payload, in MB."),
        Input(
            "batch_strategy",
            "String",
            "",
            "The number of records to include in a mini-batch for an HTTP inference request: MultiRecord or SingleRecord.",
        ),
        Input(
            "environment",
            "JsonObject",
            "{}",
            "The dictionary of the environment variables to set in the Docker container. Up to 16 key-value entries in the map.",
        ),
        Input(
            "input_location",
            "String",
            None,
            "The S3 location of the data source that is associated with a channel.",
        ),
        Input(
            "data_type",
            "String",
            "S3Prefix",
            "Data type of the input. Can be ManifestFile, S3Prefix, or AugmentedManifestFile.",
        ),
        Input(
            "content_type",
            "String",
            "",
            "The multipurpose internet mail extension (MIME) type of the data.",
        ),
        Input(
            "split_type",
            "String",
            "None",
            "The method to use to split the transform job data files into smaller batches.",
        ),
        Input(
            "compression_type",
            "String",
            "None",
            "If the transform data is compressed, the specification of the compression type.",
        ),
        Input(
            "output_location",
            "String",
            None,
            "The Amazon S3 path where you want Amazon SageMaker to store the results of the transform job.",
        ),
        Input("accept", "String", "", "The MIME type used to specify the output data."),
        Input(
            "assemble_with",
            "String",
            "",
            "Defines how to assemble the results of the transform job as a single S3 object. Either None or Line.",
        ),
        Input(
            "output_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt the model artifacts.",
        ),
        Input(
            "input_filter",
            "String",
            "",
            "A JSONPath expression used to select a portion of the input data to pass to the algorithm.",
        ),
        Input(
            "output_filter",
            "String",
            "",
            "A JSONPath expression used to select a portion of the joined dataset to save in the output file for a batch transform job.",
        ),
        Input(
            "join_source",
            "String",
            "None",
            "Specifies the source of the data to join with the transformed data. Either None or Input.",
        ),
        Input(
            "instance_type",
            "String",
            "ml.m4.xlarge",
            "The ML compute instance type for the transform job.",
        ),
        Input(
            "instance_count",
            "Integer",
            "1",
            "The number of ML compute instances to use in the transform job.",
        ),
        Input(
            "resource_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt data on the storage volume attached to the ML compute instance(s).",
        ),
    ],
    fields={
        "TransformJobName": "job_name",
        "ModelName": "model_name",
        "MaxConcurrentTransforms": "max_concurrent",
        "MaxPayloadInMB": "max_payload",
        "BatchStrategy": "batch_strategy",
        "Environment": "environment",
        "TransformInput.DataSource.S3DataSource.S3DataType": "data_type",
        "TransformInput.DataSource.S3DataSource.S3Uri": "input_location",
        "TransformInput.ContentType": "content_type",
        "TransformInput.SplitType": "split_type",
        "TransformInput.CompressionType": "compression_type",
        "TransformOutput.S3OutputPath": "output_location",
        "TransformOutput.Accept": "accept",
        "TransformOutput.AssembleWith": "assemble_with",
        "TransformOutput.KmsKeyId": "output_encryption_key",
        "DataProcessing.InputFilter": "input_filter",
        "DataProcessing.OutputFilter": "output_filter",
        "DataProcessing.JoinSource": "join_source",
        "TransformResources.InstanceType": "instance_type",
        "TransformResources.InstanceCount": "instance_count",
        "TransformResources.VolumeKmsKeyId": "resource_encryption_key",
        "Tags": "tags",
    },
    outputs=[Output("output_location", "S3 URI of the transform job results.")],
)


def string_values(name: str, mapping: Mapping[str, Any]) -> dict[str, str]:
    """SageMaker's rule: every environment value is a string."""
    wrong = sorted(str(key) for key, value in mapping.items() if not isinstance(value, str))
    if wrong:
        raise InputError(
            name,
            f"every value must be a string (SageMaker's rule); not strings: {', '.join(wrong)}",
        )
    return {str(key): value for key, value in mapping.items()}


def put(target: dict[str, Any], key: str, value: str) -> None:
    """Set an optional string field; an empty one is left out (SageMaker's default applies)."""
    if value:
        target[key] = value


def build_request(run: ComponentInputs) -> dict[str, Any]:
    """CreateTransformJob from the inputs; ``InputError`` with every problem they have."""
    inputs = run.inputs
    transform_input: dict[str, Any] = {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": inputs["data_type"] or "S3Prefix",
                "S3Uri": inputs["input_location"],
            }
        }
    }
    put(transform_input, "ContentType", inputs["content_type"])
    put(transform_input, "SplitType", inputs["split_type"])
    put(transform_input, "CompressionType", inputs["compression_type"])

    transform_output: dict[str, Any] = {"S3OutputPath": inputs["output_location"]}
    put(transform_output, "Accept", inputs["accept"])
    put(transform_output, "AssembleWith", inputs["assemble_with"])
    put(transform_output, "KmsKeyId", inputs["output_encryption_key"])

    resources: dict[str, Any] = {
        "InstanceType": inputs["instance_type"],
        "InstanceCount": inputs["instance_count"],
    }
    put(resources, "VolumeKmsKeyId", inputs["resource_encryption_key"])

    data_processing: dict[str, Any] = {}
    put(data_processing, "InputFilter", inputs["input_filter"])
    put(data_processing, "OutputFilter", inputs["output_filter"])
    put(data_processing, "JoinSource", inputs["join_source"])

    request: dict[str, Any] = {
        "ModelName": inputs["model_name"],
        "MaxPayloadInMB": inputs["max_payload"],
        "TransformInput": transform_input,
        "TransformOutput": transform_output,
        "TransformResources": resources,
        "Tags": run.user_tags(),
    }
    put(request, "TransformJobName", inputs["job_name"])
    if inputs["max_concurrent"]:
        request["MaxConcurrentTransforms"] = inputs["max_concurrent"]
    put(request, "BatchStrategy", inputs["batch_strategy"])
    environment = run.checks.attempt(
        string_values, "environment", inputs["environment"], default={}
    )
    if environment:
        request["Environment"] = environment
    if data_processing:
        request["DataProcessing"] = data_processing
    return run.checked(KIND, request)


async def execute(run: ComponentRun) -> dict[str, Any]:
    outcome = await run.job(KIND, build_request(run))
    return {"output_location": outcome.outputs["output_location"]}


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv, check=build_request)
