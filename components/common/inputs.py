"""Turn the text KFP passes into typed values, or clear errors naming the inputs and the rules.

KFP renders every input as text: Bool as "True"/"true", JsonObject/JsonArray as JSON (v1 also
accepted YAML), Integer as digits, csv inputs as comma-separated strings. Bad values are an
``InputError`` listing every problem found (each ``InputProblem`` names the component input,
and the SageMaker field in brackets when the rule is SageMaker's): exit code 2, and nothing is
created. ``InputChecks`` collects problems while a request is built, so that one run reports
them all.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from components.common.spec import ComponentSpec, Input
from runner.documents import DocumentRefused, parse_json, parse_yaml

T = TypeVar("T")
D = TypeVar("D")


@dataclass(frozen=True)
class InputProblem:
    """One broken rule: the component input the user wrote, and the API field it fills."""

    name: str
    rule: str
    field: str | None = None

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        if not self.name:  # a field no input fills (one the runner adds, say)
            return f"request field{where}: {self.rule}"
        return f"input {self.name!r}{where}: {self.rule}"


class InputError(ValueError):
    """Component inputs break rules; ``problems`` has every one, ``name``/``rule`` the first."""

    def __init__(self, name: str, rule: str, field: str | None = None) -> None:
        self.problems = [InputProblem(name, rule, field)]
        self.name, self.rule = name, rule
        super().__init__(str(self.problems[0]))

    @classmethod
    def of(cls, problems: Sequence[InputProblem]) -> InputError:
        first = problems[0]
        error = cls(first.name, first.rule, first.field)
        error.problems = list(problems)
        if len(problems) > 1:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            error.args = (f"{len(problems)} problems with the inputs:\n{listed}",)
        return error


@dataclass
class InputChecks:
    """The problems found so far while reading inputs and building a request.

    ``attempt`` runs one independent part of the request and records its ``InputError``
    instead of stopping there; ``failed_fields`` are the request fields whose part failed (the
    service model's complaints about them are consequences, not news).
    """

    problems: list[InputProblem] = field(default_factory=list)
    failed_fields: set[str] = field(default_factory=set)
    # Inputs whose text could not be read: their default stands in, and what the rules say
    # about that stand-in is not news.
    unreadable: set[str] = field(default_factory=set)

    def add(self, name: str, rule: str) -> None:
        self.extend([InputProblem(name, rule)])

    def extend(self, problems: Iterable[InputProblem]) -> None:
        self.problems.extend(p for p in problems if p.name not in self.unreadable)

    def attempt(self, build: Callable[..., T], *args: Any, default: D, field: str = "") -> T | D:
        try:
            return build(*args)
        except InputError as error:
            self.extend(error.problems)
            if field:
                self.failed_fields.add(field)
            return default

    @property
    def bad_inputs(self) -> set[str]:
        return {problem.name for problem in self.problems}

    def raise_if_any(self, more: Iterable[InputProblem] = ()) -> None:
        """Raise every problem at once: these, then ``more`` for inputs not already named."""
        problems = list(self.problems)
        named = self.bad_inputs
        for problem in more:
            if problem.name not in named:
                problems.append(problem)
        if problems:
            raise InputError.of(problems)


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise InputError(name, f"must be True or False (any case), got {text!r}")


def parse_structured(name: str, text: str, expected: type) -> Any:
    """JSON, or YAML as v1 accepted; empty text is the empty value. Both are read within
    ``runner.documents``' bounds: a value nested 30,000 deep is one problem, not a crash."""
    if not text.strip():
        return expected()
    try:
        value = parse_json(text)
    except DocumentRefused as not_json:
        if not not_json.syntax:
            raise InputError(name, str(not_json)) from None
        try:
            value = parse_yaml(text)
        except DocumentRefused as refused:
            if not refused.syntax:
                raise InputError(name, str(refused)) from None
            reason = f"is neither valid JSON nor valid YAML ({refused.detail})"
            raise InputError(name, reason) from None
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


_INDEX = re.compile(r"\[\d+\]")


def input_for_field(fields: Mapping[str, str], path: str) -> str | None:
    """The component input that fills request field ``path`` (``ResourceConfig.VolumeSizeInGB``
    -> ``volume_size``): the longest entry of ``fields`` that is ``path`` or a parent of it,
    matched with its list indexes first, then without (``Tags[2].Key`` matches ``Tags``)."""
    for candidate in (path, _INDEX.sub("", path)):
        parents = [
            prefix
            for prefix in fields
            if candidate == prefix or candidate.startswith((f"{prefix}.", f"{prefix}["))
        ]
        if parents:
            return fields[max(parents, key=len)]
    return None


@dataclass
class ParsedArgs:
    values: dict[str, Any]
    output_paths: dict[str, Path]
    kfp_run_id: str
    kfp_task: str
    checks: InputChecks = field(default_factory=InputChecks)  # what was wrong with the values
    argo_workflow_uid: str = ""  # the run's id under kfp 1.8 (an Argo workflow)

    @property
    def run_id(self) -> str | None:
        """The pipeline run's id: KFP v2's, else the Argo workflow's (kfp 1.8), else None."""
        for given in (self.kfp_run_id, self.argo_workflow_uid):
            if not unfilled(given):
                return given
        return None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit; we want our own code path
        raise InputError("(arguments)", message)


def parse_args(spec: ComponentSpec, argv: Sequence[str]) -> ParsedArgs:
    parser = _Parser(prog=f"python -m components.{spec.module}", description=spec.description)
    for item in spec.inputs:
        parser.add_argument(f"--{item.name}", required=item.required, default=item.default)
    parser.add_argument("--kfp_run_id", default="")
    parser.add_argument("--kfp_task", default="")
    parser.add_argument("--argo_workflow_uid", default="")
    for output in spec.all_outputs:
        parser.add_argument(f"--{output.name}_output_path", default=None)
    namespace = vars(parser.parse_args(list(argv)))
    checks = InputChecks()
    values = {item.name: read_input(item, namespace[item.name], checks) for item in spec.inputs}
    paths = {
        output.name: Path(namespace[f"{output.name}_output_path"])
        for output in spec.all_outputs
        if namespace[f"{output.name}_output_path"]
    }
    return ParsedArgs(
        values,
        paths,
        namespace["kfp_run_id"],
        namespace["kfp_task"],
        checks,
        namespace["argo_workflow_uid"],
    )


def read_input(item: Input, text: str, checks: InputChecks) -> Any:
    """The input's value; a bad one is recorded and its default stands in, so that the
    request can still be built and checked for every other problem."""
    try:
        return convert(item, text)
    except InputError as error:
        checks.problems.extend(error.problems)
        checks.unreadable.add(item.name)
    if item.default is not None:
        try:
            return convert(item, item.default)
        except InputError:
            pass
    return EMPTY_VALUES[item.type]


EMPTY_VALUES: Mapping[str, Any] = {
    "String": "",
    "Integer": 0,
    "Float": 0.0,
    "Bool": False,
    "JsonObject": {},
    "JsonArray": [],
}
