"""A component's interface, written once, from which its ``component.yaml`` is generated.

Each component module declares a ``ComponentSpec``: the v1 input names, types and defaults
(so pipelines switch by changing the component file only), its outputs, and the module the
container runs. ``to_yaml`` renders the KFP component file; ``python -m components.generate``
writes them all and ``--check`` fails when a committed file differs.

Every container also receives the run's identity through KFP's runtime placeholders
(``{{$.pipeline_job_uuid}}``, ``{{$.pipeline_task_name}}``), which the KFP v2 driver fills in,
and Argo's ``{{workflow.uid}}``, which a kfp 1.8 pipeline's Argo workflow fills in; outside
KFP they arrive unfilled and the component falls back to v1's generated names.

Outputs keep v1's set: a component that had one output (model, deploy, batch_transform,
workteam) has exactly that one, so v1 pipelines' ``task.output`` still works (kfp 1.8 and kfp 2
both refuse ``.output`` on a task with several outputs); the Markdown ``summary`` is added to
components that had several, and offered for the others in an opt-in variant
(``component-with-summary.yaml``). Output types are what v1 pipelines connect them to (v1's
outputs were untyped; kfp 2 reads an untyped output as an artifact, which no parameter input
takes): ``best_hyperparameters`` is a ``JsonObject`` for train's ``hyperparameters``, the rest
are ``String``.

The container image is ``DEFAULT_IMAGE`` unless one is given when the files are generated
(``python -m components.generate --image REGISTRY/smrun:TAG``) or loaded
(``components.load(name, image=...)``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from runner import __version__

DEFAULT_IMAGE = f"ghcr.io/smrun/smrun:{__version__}"
RUN_ID_PLACEHOLDER = "{{$.pipeline_job_uuid}}"
TASK_PLACEHOLDER = "{{$.pipeline_task_name}}"
# kfp 1.8 (v1 mode) runs the container from an Argo workflow, which fills this in instead:
# kfp 1.8's own dsl.RUN_ID_PLACEHOLDER is "{{workflow.uid}}".
ARGO_RUN_ID_PLACEHOLDER = "{{workflow.uid}}"
INPUT_TYPES = ("String", "Integer", "Float", "Bool", "JsonObject", "JsonArray")

# A container image reference, by the grammar of distribution/reference (reference.go, the
# parser Docker, containerd and Kubernetes' kubelet use): [domain[:port]/]path[:tag][@digest],
# path components lower-case, the whole name at most 255 characters (NameTotalLengthMax).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
IMAGE_REFERENCE = re.compile(
    rf"(?P<name>{_NAME})(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
IMAGE_NAME_MAX = 255


def image_problem(image: str) -> str | None:
    """Why ``image`` is not a container image reference a cluster could pull; None if it is."""
    match = IMAGE_REFERENCE.fullmatch(image)
    if match is None:
        return (
            f"{image!r} is not a container image reference "
            "([REGISTRY[:PORT]/]NAME[:TAG][@DIGEST], NAME in lower case)"
        )
    if len(match["name"]) > IMAGE_NAME_MAX:
        return f"the image name is {len(match['name'])} characters long; at most {IMAGE_NAME_MAX}"
    return None


@dataclass(frozen=True)
class Input:
    name: str
    type: str
    default: str | None  # None: required (v1 had no default)
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in INPUT_TYPES:
            raise ValueError(f"input {self.name}: unknown type {self.type}")

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Output:
    name: str
    description: str = ""
    type: str = "String"

    def __post_init__(self) -> None:
        if self.type not in (*INPUT_TYPES, "Markdown"):
            raise ValueError(f"output {self.name}: unknown type {self.type}")


def common_inputs() -> list[Input]:
    """What every v1 component took: where to run and how to tag."""
    return [
        Input("region", "String", None, "The region where the job runs."),
        Input(
            "endpoint_url",
            "String",
            "",
            "The SageMaker endpoint URL to use instead of the region's (SageMaker only, as in "
            "v1; CloudWatch Logs and STS take botocore's own per-service settings, "
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL_STS or the config file's services section).",
        ),
        Input("assume_role", "String", "", "An IAM role ARN to assume before calling SageMaker."),
        Input("tags", "JsonObject", "{}", "Key-value pairs to tag the resources with."),
        Input(
            "events_queue",
            "String",
            "",
            "Not in v1. An SQS queue URL that receives SageMaker's state-change events "
            "(smrun events setup): the step follows its job by them, Describe polling staying "
            "the safety net. Give each step its own queue: a consumer deletes the events of "
            "jobs it does not follow. Empty (the default): poll.",
        ),
    ]


# A Markdown summary for the KFP UI (components/common/summary.py): a system.Markdown artifact,
# which the KFP v2 UI shows in the step's Visualizations.
SUMMARY = Output(
    "summary", "A Markdown summary of the jobs this step ran, for the KFP UI.", "Markdown"
)


def role_input() -> Input:
    return Input(
        "role",
        "String",
        None,
        "The Amazon Resource Name (ARN) that Amazon SageMaker assumes to perform tasks on your behalf.",
    )


def vpc_fields(prefix: str = "") -> dict[str, str]:
    """Where ``vpc_inputs`` go in a request (``VpcConfig``, under ``prefix``)."""
    return {
        f"{prefix}VpcConfig.SecurityGroupIds": "vpc_security_group_ids",
        f"{prefix}VpcConfig.Subnets": "vpc_subnets",
    }


def vpc_inputs() -> list[Input]:
    """v1's csv pair, turned into a VpcConfig by ``inputs.vpc_config``."""
    return [
        Input(
            "vpc_security_group_ids",
            "String",
            "",
            "The VPC security group IDs, in the form sg-xxxxxxxx.",
        ),
        Input(
            "vpc_subnets",
            "String",
            "",
            "The ID of the subnets in the VPC to which you want to connect the job.",
        ),
    ]


@dataclass(frozen=True)
class ComponentSpec:
    module: str  # "train": run as python -m components.train
    display_name: str  # v1's name: "SageMaker - Training Job"
    description: str
    inputs: list[Input]
    outputs: list[Output] = field(default_factory=list)
    # Request field -> the input that fills it, to name the input when SageMaker's rules (the
    # service model) refuse a field: "ResourceConfig.VolumeSizeInGB" -> "volume_size". A
    # field's members and list items map with it.
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = {item.name for item in self.inputs}
        unknown = sorted(set(self.fields.values()) - names)
        if unknown:
            raise ValueError(f"{self.module}: fields map to unknown inputs {unknown}")

    @property
    def single_output(self) -> bool:
        """v1 gave this component one output: pipelines use ``task.output``."""
        return len(self.outputs) == 1

    def outputs_with(self, summary: bool | None = None) -> list[Output]:
        """The v1 outputs, then the summary: by default only where it keeps ``.output``."""
        with_summary = not self.single_output if summary is None else summary
        return [*self.outputs, SUMMARY] if with_summary else list(self.outputs)

    @property
    def all_outputs(self) -> list[Output]:
        """Every output the container can write (the summary whenever KFP gives it a path)."""
        return self.outputs_with(summary=True)

    def input(self, name: str) -> Input:
        for candidate in self.inputs:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def to_dict(self, image: str = DEFAULT_IMAGE, summary: bool | None = None) -> dict[str, object]:
        inputs: list[dict[str, object]] = []
        for item in self.inputs:
            entry: dict[str, object] = {"name": item.name, "type": item.type}
            if item.default is not None:
                entry["default"] = item.default
            if item.description:
                entry["description"] = item.description
            inputs.append(entry)
        args: list[object] = []
        for item in self.inputs:
            args += [f"--{item.name}", {"inputValue": item.name}]
        args += ["--kfp_run_id", RUN_ID_PLACEHOLDER, "--kfp_task", TASK_PLACEHOLDER]
        args += ["--argo_workflow_uid", ARGO_RUN_ID_PLACEHOLDER]
        outputs = self.outputs_with(summary)
        for output in outputs:
            args += [f"--{output.name}_output_path", {"outputPath": output.name}]
        return {
            "name": self.display_name,
            "description": self.description,
            "inputs": inputs,
            "outputs": [
                {
                    "name": o.name,
                    "type": o.type,
                    **({"description": o.description} if o.description else {}),
                }
                for o in outputs
            ],
            "implementation": {
                "container": {
                    "image": image,
                    "command": ["python3", "-m", f"components.{self.module}"],
                    "args": args,
                }
            },
        }

    def to_yaml(self, image: str = DEFAULT_IMAGE, summary: bool | None = None) -> str:
        header = (
            f"# Generated from components/{self.module}/component.py by "
            "`python -m components.generate`; do not edit.\n"
        )
        return header + yaml.safe_dump(self.to_dict(image, summary), sort_keys=False, width=100)
