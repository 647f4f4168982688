"""SageMaker - Ground Truth, as the v1 component had it, run through the runner core.

One labeling job (CreateLabelingJob) from the v1 inputs, followed until it ends. Outputs the
output manifest's S3 URI and, with automated labeling, the final active-learning model's ARN;
an output with no value is written as a single space, as v1 did (Argo refused empty files).

v1 behaviours kept: every v1 input and output; ``task_type`` one of bounding box, image
classification, text classification, semantic segmentation (case-insensitive) takes Ground
Truth's built-in pre-labeling and consolidation Lambdas for the region, anything else
("custom") needs both functions given; ``worker_type`` public sends the tasks to the public
(Mechanical Turk) workforce at ``workforce_task_price`` dollars a task, private and vendor to
``workteam_arn``; the label attribute name defaults to the job name; zero means "not set" for
the stopping conditions, the task availability and the concurrent task count.

v1 defects fixed: a given pre/post Lambda is used for built-in task types too (v1 always
replaced it); automated labeling uses the algorithm of the task type (v1 always asked for
image classification); a bad label attribute name, a missing work team, a task type without
Lambdas or automated labeling for a task type without it are input errors before anything is
sent (v1 logged them and sent the request anyway); the price is read as a decimal, so that
0.012 is 1 cent and 2 tenths (v1's float arithmetic could lose a tenth).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from components.common.app import ComponentInputs, ComponentRun, main
from components.common.inputs import InputError, csv_list
from components.common.spec import ComponentSpec, Input, Output, common_inputs, role_input
from runner.kinds import kind_named
from runner.naming import deterministic_name, generated_name

log = structlog.get_logger("components.ground_truth")

# Ground Truth's built-in task types: the suffix of their Lambda functions' names.
BUILTIN_TASKS = {
    "bounding box": "BoundingBox",
    "image classification": "ImageMultiClass",
    "semantic segmentation": "SemanticSegmentation",
    "text classification": "TextMultiClass",
}
# The account that owns the built-in PRE-/ACS- Lambda functions, per region (AWS's published
# list for HumanTaskConfig.PreHumanTaskLambdaArn; the same table v1 had).
LAMBDA_ACCOUNTS = {
    "us-east-1": "432418664414",
    "us-east-2": "266458841044",
    "us-west-2": "081040173940",
    "ca-central-1": "918755190332",
    "eu-west-1": "568282634449",
    "eu-west-2": "487402164563",
    "eu-central-1": "203001061592",
    "ap-northeast-1": "477331159723",
    "ap-northeast-2": "845288260483",
    "ap-south-1": "565803892007",
    "ap-southeast-1": "377565633583",
    "ap-southeast-2": "454466003867",
}
# Automated data labeling: the algorithm per task type, owned by one account in every region.
AUTO_LABELING_ALGORITHMS = {
    "bounding box": "object-detection",
    "image classification": "image-classification",
    "text classification": "text-classification",
}
AUTO_LABELING_ACCOUNT = "027400017018"
PUBLIC_WORKFORCE_ACCOUNT = "394669845002"
WORKER_TYPES = ("public", "private", "vendor")
CONTENT_CLASSIFIERS = {
    "no_adult_content": "FreeOfAdultContent",
    "no_ppi": "FreeOfPersonallyIdentifiableInformation",
}
EMPTY_OUTPUT = " "  # v1 wrote a space for an empty output: Argo refused empty output files

KIND = "labeling"  # the job kind whose request ``build_request`` builds

SPEC = ComponentSpec(
    module="ground_truth",
    display_name="SageMaker - Ground Truth",
    description="Ground Truth Jobs in SageMaker",
    inputs=[
        *common_inputs(),
        role_input(),
        Input("job_name", "String", "", "The name of the labeling job."),
        Input(
            "label_attribute_name",
            "String",
            "",
            "The attribute name to use for the label in the output manifest file. Default is the job name.",
        ),
        Input(
            "manifest_location",
            "String",
            None,
            "The Amazon S3 location of the manifest file that describes the input data objects.",
        ),
        Input("output_location", "String", None, "The Amazon S3 location to write output data."),
        Input(
            "output_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt the output data.",
        ),
        Input(
            "task_type",
            "String",
            None,
            "Built in image classification, bounding box, text classification, or semantic segmentation, or custom. If custom, please provide pre- and post-labeling task lambda functions.",
        ),
        Input(
            "worker_type",
            "String",
            None,
            "The workteam for data labeling, either public, private, or vendor.",
        ),
        Input(
            "workteam_arn",
            "String",
            "",
            "The ARN of the work team assigned to complete the tasks (private or vendor workers).",
        ),
        Input("no_adult_content", "Bool", "False", "If true, your data is free of adult content."),
        Input(
            "no_ppi",
            "Bool",
            "False",
            "If true, your data is free of personally identifiable information.",
        ),
        Input(
            "label_category_config",
            "String",
            "",
            "The S3 URL of the JSON structured file that defines the categories used to label the data objects.",
        ),
        Input(
            "max_human_labeled_objects",
            "Integer",
            "0",
            "The maximum number of objects that can be labeled by human workers (0: no limit).",
        ),
        Input(
            "max_percent_objects",
            "Integer",
            "0",
            "The maximum percentage of input data objects that should be labeled (0: no limit).",
        ),
        Input(
            "enable_auto_labeling",
            "Bool",
            "False",
            "Enables auto-labeling, only for bounding box, text classification, and image classification.",
        ),
        Input(
            "initial_model_arn",
            "String",
            "",
            "The ARN of the final model used for a previous auto-labeling job.",
        ),
        Input(
            "resource_encryption_key",
            "String",
            "",
            "The AWS KMS key that Amazon SageMaker uses to encrypt data on the storage volume attached to the ML compute instance(s).",
        ),
        Input("ui_template", "String", None, "The Amazon S3 bucket location of the UI template."),
        Input(
            "pre_human_task_function",
            "String",
            "",
            "The ARN of a Lambda function that is run before a data object is sent to a human worker.",
        ),
        Input(
            "post_human_task_function",
            "String",
            "",
            "The ARN of a Lambda function implements the logic for annotation consolidation.",
        ),
        Input(
            "task_keywords",
            "String",
            "",
            "Keywords used to describe the task so that workers on Amazon Mechanical Turk can discover the task (comma-separated).",
        ),
        Input("title", "String", None, "A title for the task for your human workers."),
        Input("description", "String", None, "A description of the task for your human workers."),
        Input(
            "num_workers_per_object",
            "Integer",
            None,
            "The number of human workers that will label an object.",
        ),
        Input(
            "time_limit",
            "Integer",
            None,
            "The amount of time that a worker has to complete a task in seconds",
        ),
        Input(
            "task_availibility",
            "Integer",
            "0",
            "The length of time that a task remains available for labeling by human workers.",
        ),
        Input(
            "max_concurrent_tasks",
            "Integer",
            "0",
            "The maximum number of data objects that can be labeled by human workers at the same time.",
        ),
        Input(
            "workforce_task_price",
            "String",
            "0.000",
            "The price that you pay for each task performed by a public worker in USD. Specify to the tenth fractions of a cent. Format as '0.000'.",
        ),
    ],
    fields={
        "LabelingJobName": "job_name",
        "LabelAttributeName": "label_attribute_name",
        "InputConfig.DataSource.S3DataSource.ManifestS3Uri": "manifest_location",
        "InputConfig.DataAttributes": "no_adult_content",
        "OutputConfig.S3OutputPath": "output_location",
        "OutputConfig.KmsKeyId": "output_encryption_key",
        "RoleArn": "role",
        "LabelCategoryConfigS3Uri": "label_category_config",
        "StoppingConditions.MaxHumanLabeledObjectCount": "max_human_labeled_objects",
        "StoppingConditions.MaxPercentageOfInputDatasetLabeled": "max_percent_objects",
        "LabelingJobAlgorithmsConfig.InitialActiveLearningModelArn": "initial_model_arn",
        "LabelingJobAlgorithmsConfig.LabelingJobResourceConfig": "resource_encryption_key",
        "HumanTaskConfig.WorkteamArn": "workteam_arn",
        "HumanTaskConfig.PublicWorkforceTaskPrice": "workforce_task_price",
        "HumanTaskConfig.UiConfig": "ui_template",
        "HumanTaskConfig.PreHumanTaskLambdaArn": "pre_human_task_function",
        "HumanTaskConfig.AnnotationConsolidationConfig": "post_human_task_function",
        "HumanTaskConfig.TaskKeywords": "task_keywords",
        "HumanTaskConfig.TaskTitle": "title",
        "HumanTaskConfig.TaskDescription": "description",
        "HumanTaskConfig.NumberOfHumanWorkersPerDataObject": "num_workers_per_object",
        "HumanTaskConfig.TaskTimeLimitInSeconds": "time_limit",
        "HumanTaskConfig.TaskAvailabilityLifetimeInSeconds": "task_availibility",
        "HumanTaskConfig.MaxConcurrentTaskCount": "max_concurrent_tasks",
        "Tags": "tags",
    },
    outputs=[
        Output(
            "output_manifest_location",
            "The Amazon S3 bucket location of the manifest file for labeled data.",
        ),
        Output(
            "active_learning_model_arn",
            "The ARN for the most recent Amazon SageMaker model trained as part of automated data labeling.",
        ),
    ],
)


def task_key(task_type: str) -> str:
    """``"Bounding_Box"``, ``"bounding-box"``, ``" Bounding  box "`` -> ``"bounding box"``."""
    return re.sub(r"[\s_-]+", " ", task_type.strip().lower())


def builtin_lambdas(task: str, region: str) -> tuple[str, str] | None:
    """(pre-labeling, consolidation) Lambda ARNs of a built-in task type, or None if custom."""
    suffix = BUILTIN_TASKS.get(task)
    if suffix is None:
        return None
    account = LAMBDA_ACCOUNTS.get(region)
    if account is None:
        raise InputError(
            "pre_human_task_function",
            f"Ground Truth has no built-in task Lambdas in region {region!r} (it has them in "
            f"{', '.join(sorted(LAMBDA_ACCOUNTS))}); give pre_human_task_function and "
            "post_human_task_function",
        )
    prefix = f"arn:aws:lambda:{region}:{account}:function"
    return f"{prefix}:PRE-{suffix}", f"{prefix}:ACS-{suffix}"


def task_lambdas(inputs: Mapping[str, Any]) -> tuple[str, str]:
    """The given functions; a built-in task type's own for what is not given."""
    pre, post = inputs["pre_human_task_function"], inputs["post_human_task_function"]
    if pre and post:
        return pre, post
    builtin = builtin_lambdas(task_key(inputs["task_type"]), inputs["region"])
    if builtin is None:
        missing = "pre_human_task_function" if not pre else "post_human_task_function"
        raise InputError(
            missing,
            f"task type {inputs['task_type']!r} is not built in ({', '.join(BUILTIN_TASKS)}): "
            "give both pre_human_task_function and post_human_task_function",
        )
    return pre or builtin[0], post or builtin[1]


def check_label_attribute(name: str, task: str) -> str:
    """SageMaker's rule: ``-ref`` ends the name for semantic segmentation, and only then;
    ``-metadata`` never ends it."""
    if task == "semantic segmentation":
        if not name.endswith("-ref"):
            raise InputError("label_attribute_name", "must end in '-ref' for semantic segmentation")
    elif name.endswith(("-ref", "-metadata")):
        raise InputError(
            "label_attribute_name",
            "must not end in '-ref' or '-metadata' (only semantic segmentation ends in '-ref')",
        )
    return name


def task_price(text: str) -> dict[str, int]:
    """``"0.012"`` -> 0 dollars, 1 cent, 2 tenths of a cent (PublicWorkforceTaskPrice)."""
    try:
        price = Decimal(text.strip())
    except InvalidOperation:
        raise InputError(
            "workforce_task_price", f"must be a price like '0.012', got {text!r}"
        ) from None
    if not price.is_finite() or price < 0:
        raise InputError("workforce_task_price", f"must be a price like '0.012', got {text!r}")
    tenths = price * 1000
    if tenths != tenths.to_integral_value():
        raise InputError(
            "workforce_task_price", f"is given to a tenth of a cent at most (0.000), got {text!r}"
        )
    whole = int(tenths)
    return {
        "Dollars": whole // 1000,
        "Cents": whole // 10 % 100,
        "TenthFractionsOfACent": whole % 10,
    }


def workforce(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """WorkteamArn (and the public workforce's task price) for the worker type."""
    worker_type = inputs["worker_type"].strip().lower()
    if worker_type not in WORKER_TYPES:
        raise InputError("worker_type", f"must be one of {', '.join(WORKER_TYPES)}")
    if worker_type == "public":
        arn = f"arn:aws:sagemaker:{inputs['region']}:{PUBLIC_WORKFORCE_ACCOUNT}:workteam/public-crowd/default"
        return {
            "WorkteamArn": arn,
            "PublicWorkforceTaskPrice": {"AmountInUsd": task_price(inputs["workforce_task_price"])},
        }
    if not inputs["workteam_arn"].strip():
        raise InputError("workteam_arn", f"worker type {worker_type} needs the work team's ARN")
    return {"WorkteamArn": inputs["workteam_arn"].strip()}


def human_task_config(run: ComponentInputs) -> dict[str, Any]:
    inputs, checks = run.inputs, run.checks
    pre, post = checks.attempt(
        task_lambdas, inputs, default=("", ""), field="HumanTaskConfig.PreHumanTaskLambdaArn"
    )
    if not post:
        checks.failed_fields.add("HumanTaskConfig.AnnotationConsolidationConfig")
    config: dict[str, Any] = {
        **checks.attempt(workforce, inputs, default={}, field="HumanTaskConfig.WorkteamArn"),
        "UiConfig": {"UiTemplateS3Uri": inputs["ui_template"]},
        "PreHumanTaskLambdaArn": pre,
        "TaskTitle": inputs["title"],
        "TaskDescription": inputs["description"],
        "NumberOfHumanWorkersPerDataObject": inputs["num_workers_per_object"],
        "TaskTimeLimitInSeconds": inputs["time_limit"],
        "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": post},
    }
    keywords = csv_list(inputs["task_keywords"])
    if keywords:
        config["TaskKeywords"] = keywords
    if inputs["task_availibility"] > 0:
        config["TaskAvailabilityLifetimeInSeconds"] = inputs["task_availibility"]
    if inputs["max_concurrent_tasks"] > 0:
        config["MaxConcurrentTaskCount"] = inputs["max_concurrent_tasks"]
    return config


def algorithms_config(inputs: Mapping[str, Any], task: str) -> dict[str, Any] | None:
    """LabelingJobAlgorithmsConfig for automated labeling, or None without it."""
    if not inputs["enable_auto_labeling"]:
        for name in ("initial_model_arn", "resource_encryption_key"):
            if inputs[name]:
                log.warning("ground_truth.input_ignored", input=name, reason="no auto-labeling")
        return None
    algorithm = AUTO_LABELING_ALGORITHMS.get(task)
    if algorithm is None:
        raise InputError(
            "enable_auto_labeling",
            f"automated labeling is only for {', '.join(AUTO_LABELING_ALGORITHMS)}, "
            f"not task type {inputs['task_type']!r}",
        )
    config: dict[str, Any] = {
        "LabelingJobAlgorithmSpecificationArn": (
            f"arn:aws:sagemaker:{inputs['region']}:{AUTO_LABELING_ACCOUNT}:"
            f"labeling-job-algorithm-specification/{algorithm}"
        )
    }
    if inputs["initial_model_arn"]:
        config["InitialActiveLearningModelArn"] = inputs["initial_model_arn"]
    if inputs["resource_encryption_key"]:
        config["LabelingJobResourceConfig"] = {"VolumeKmsKeyId": inputs["resource_encryption_key"]}
    return config


def stopping_conditions(inputs: Mapping[str, Any]) -> dict[str, int]:
    conditions: dict[str, int] = {}
    for name, field in (
        ("max_human_labeled_objects", "MaxHumanLabeledObjectCount"),
        ("max_percent_objects", "MaxPercentageOfInputDatasetLabeled"),
    ):
        if inputs[name] < 0:
            raise InputError(name, "must not be negative (0: no limit)")
        if inputs[name] > 0:
            conditions[field] = inputs[name]
    if conditions.get("MaxPercentageOfInputDatasetLabeled", 0) > 100:
        raise InputError("max_percent_objects", "is a percentage: at most 100")
    return conditions


def build_request(run: ComponentInputs) -> dict[str, Any]:
    """The CreateLabelingJob request; LabelAttributeName left out when it is to be the job's
    name (``execute`` fills it in once the name is known). ``InputError`` with every problem."""
    inputs, checks = run.inputs, run.checks
    task = task_key(inputs["task_type"])
    input_config: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"ManifestS3Uri": inputs["manifest_location"]}}
    }
    classifiers = [label for name, label in CONTENT_CLASSIFIERS.items() if inputs[name]]
    if classifiers:
        input_config["DataAttributes"] = {"ContentClassifiers": classifiers}
    output_config: dict[str, Any] = {"S3OutputPath": inputs["output_location"]}
    if inputs["output_encryption_key"]:
        output_config["KmsKeyId"] = inputs["output_encryption_key"]
    request: dict[str, Any] = {
        "InputConfig": input_config,
        "OutputConfig": output_config,
        "RoleArn": inputs["role"],
        "HumanTaskConfig": human_task_config(run),
        "Tags": run.user_tags(),
    }
    if inputs["label_attribute_name"]:
        request["LabelAttributeName"] = checks.attempt(
            check_label_attribute, inputs["label_attribute_name"], task, default=""
        )
    if inputs["job_name"]:
        request["LabelingJobName"] = inputs["job_name"]
    if inputs["label_category_config"]:
        request["LabelCategoryConfigS3Uri"] = inputs["label_category_config"]
    conditions = checks.attempt(stopping_conditions, inputs, default={})
    if conditions:
        request["StoppingConditions"] = conditions
    algorithms = checks.attempt(algorithms_config, inputs, task, default=None)
    if algorithms:
        request["LabelingJobAlgorithmsConfig"] = algorithms
    return run.checked(KIND, request, filled_later=("LabelAttributeName",))


def name_the_job(run: ComponentInputs, request: dict[str, Any]) -> dict[str, Any]:
    """The label attribute defaults to the job's name (v1), so the name is decided here, the
    way the runner would: from the run's identity (the same on a restart), else generated."""
    if "LabelAttributeName" in request:
        return request
    kind = kind_named("labeling")
    name = request.get(kind.name_field)
    if not name:
        identity = run.identity(kind.key, request, "")
        name = (
            deterministic_name(identity, kind.name_prefix)
            if identity
            else generated_name(kind.name_prefix)
        )
    task = task_key(run.inputs["task_type"])
    label = f"{name}-ref" if task == "semantic segmentation" else name
    return {**request, kind.name_field: name, "LabelAttributeName": label}


async def execute(run: ComponentRun) -> dict[str, Any]:
    request = name_the_job(run, build_request(run))
    outcome = await run.job(KIND, request)
    counters = outcome.description.get("LabelCounters")
    if counters:
        log.info("ground_truth.labels", job=outcome.name, **counters)
    return {
        "output_manifest_location": outcome.outputs.get("output_manifest_location") or EMPTY_OUTPUT,
        "active_learning_model_arn": outcome.outputs.get("active_learning_model_arn")
        or EMPTY_OUTPUT,
    }


def run(argv: Sequence[str] | None = None) -> int:
    return main(SPEC, execute, argv, check=build_request)
