"""Turn the text KFP passes into typed values, or a clear error naming the input and the rule.

KFP renders every input as text: Bool as "True"/"true", JsonObject/JsonArray as JSON (v1 also
accepted YAML), Integer as digits, csv inputs as comma-separated strings. A bad value is an
``InputError``: exit code 2, and nothing is created.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.common.spec import ComponentSpec, Input


class InputError(ValueError):
    """A component input breaks a rule; ``str()`` names the input and the rule."""

    def __init__(self, name: str, rule: str) -> None:
        self.name, self.rule = name, rule
        super().__init__(f"input {name!r}: {rule}")


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise InputError(name, f"must be True or False (any case), got {text!r}")


def parse_structured(name: str, text: str, expected: type) -> Any:
    """JSON, or YAML as v1 accepted; empty text is the empty value."""
    if not text.strip():
        return expected()
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(name, f"is neither valid JSON nor valid YAML ({exc})") from None
    if not isinstance(value, expected):
        noun = "a JSON object" if expected is dict else "a JSON array"
        raise InputError(name, f"must be {noun}, got {type(value).__name__}")
    return value


def convert(spec_input: Input, text: str) -> Any:
    name = spec_input.name
    kind = spec_input.type
    if kind == "String":
        return text
    if kind == "Bool":
        return parse_bool(name, text)
    if kind == "Integer":
        try:
            return int(text.strip())
        except ValueError:
            raise InputError(name, f"must be a whole number, got {text!r}") from None
    if kind == "Float":
        try:
            return float(text.strip())
        except ValueError:
            raise InputError(name, f"must be a number, got {text!r}") from None
    if kind == "JsonObject":
        return parse_structured(name, text, dict)
    return parse_structured(name, text, list)


def csv_list(text: str) -> list[str]:
    """v1's csv inputs ("sg-1,sg-2"): the non-empty items, stripped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def unfilled(text: str) -> bool:
    """A KFP placeholder that nothing filled in (the container ran outside KFP v2)."""
    return not text or text.startswith("{{")


def vpc_config(inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """v1's two csv inputs as SageMaker's VpcConfig: both or neither."""
    groups, subnets = csv_list(inputs["vpc_security_group_ids"]), csv_list(inputs["vpc_subnets"])
    if not groups and not subnets:
        return None
    if not groups or not subnets:
        missing = "vpc_subnets" if groups else "vpc_security_group_ids"
        raise InputError(missing, "VPC needs both security group ids and subnets")
    return {"SecurityGroupIds": groups, "Subnets": subnets}


@dataclass
class ParsedArgs:
    values: dict[str, Any]
    output_paths: dict[str, Path]
    kfp_run_id: str
    kfp_task: str


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit; we want our own code path
        raise InputError("(arguments)", message)


def parse_args(spec: ComponentSpec, argv: Sequence[str]) -> ParsedArgs:
    parser = _Parser(prog=f"python -m components.{spec.module}", description=spec.description)
    for item in spec.inputs:
        parser.add_argument(f"--{item.name}", required=item.required, default=item.default)
    parser.add_argument("--kfp_run_id", default="")
    parser.add_argument("--kfp_task", default="")
    for output in spec.all_outputs:
        parser.add_argument(f"--{output.name}_output_path", default=None)
    namespace = vars(parser.parse_args(list(argv)))
    values = {item.name: convert(item, namespace[item.name]) for item in spec.inputs}
    paths = {
        output.name: Path(namespace[f"{output.name}_output_path"])
        for output in spec.all_outputs
        if namespace[f"{output.name}_output_path"]
    }
    return ParsedArgs(values, paths, namespace["kfp_run_id"], namespace["kfp_task"])
