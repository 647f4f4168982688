"""A component's interface, written once, from which its ``component.yaml`` is generated.

Each component module declares a ``ComponentSpec``: the v1 input names, types and defaults
(so pipelines switch by changing the component file only), its outputs, and the module the
container runs. ``to_yaml`` renders the KFP component file; ``python -m components.generate``
writes them all and ``--check`` fails when a committed file differs.

Every container also receives the run's identity through KFP's runtime placeholders
(``{{$.pipeline_job_uuid}}``, ``{{$.pipeline_task_name}}``), which the KFP v2 driver fills in;
outside KFP they arrive unfilled and the component falls back to v1's generated names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

IMAGE = "ghcr.io/smrun/smrun:0.1.0"
RUN_ID_PLACEHOLDER = "{{$.pipeline_job_uuid}}"
TASK_PLACEHOLDER = "{{$.pipeline_task_name}}"
INPUT_TYPES = ("String", "Integer", "Float", "Bool", "JsonObject", "JsonArray")


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


def common_inputs() -> list[Input]:
    """What every v1 component took: where to run and how to tag."""
    return [
        Input("region", "String", None, "The region where the job runs."),
        Input(
            "endpoint_url",
            "String",
            "",
            "The SageMaker endpoint URL to use instead of the region's.",
        ),
        Input("assume_role", "String", "", "An IAM role ARN to assume before calling SageMaker."),
        Input("tags", "JsonObject", "{}", "Key-value pairs to tag the resources with."),
    ]


# Every component also leaves a Markdown summary for the KFP UI (components/common/summary.py).
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

    @property
    def all_outputs(self) -> list[Output]:
        """The v1 outputs, then the summary."""
        return [*self.outputs, SUMMARY]

    def input(self, name: str) -> Input:
        for candidate in self.inputs:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def to_dict(self) -> dict[str, object]:
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
        for output in self.all_outputs:
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
                for o in self.all_outputs
            ],
            "implementation": {
                "container": {
                    "image": IMAGE,
                    "command": ["python3", "-m", f"components.{self.module}"],
                    "args": args,
                }
            },
        }

    def to_yaml(self) -> str:
        header = (
            f"# Generated from components/{self.module}/component.py by "
            "`python -m components.generate`; do not edit.\n"
        )
        return header + yaml.safe_dump(self.to_dict(), sort_keys=False, width=100)
