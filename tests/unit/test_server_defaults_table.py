"""The server-default table: every path is a field of its Describe output, every constant fits
the field's shape, and filling never touches the request it echoes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.model import ListShape, Shape, StructureShape

from emulator.defaults import BY_OPERATION, Filled, with_defaults
from runner.validation import operation_model
from support import requests as req

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "long": int,
    "list": list,
    "map": dict,
    "structure": dict,
}
ENTRIES = [(operation, filled) for operation, table in BY_OPERATION.items() for filled in table]


def leaf_shape(operation: str, path: str) -> Shape:
    shape = operation_model("sagemaker", operation).output_shape
    assert shape is not None
    for part in path.split("."):
        key = part.removesuffix("[]")
        if shape.type_name == "map":  # a map's keys are free: StaticHyperParameters.<name>
            shape = shape.value  # type: ignore[attr-defined]
            continue
        assert isinstance(shape, StructureShape), f"{operation}.{path}: {key} is not in a structure"
        assert key in shape.members, f"{operation}.{path}: {shape.name} has no member {key}"
        shape = shape.members[key]
        if part.endswith("[]"):
            assert isinstance(shape, ListShape), f"{operation}.{path}: {key} is not a list"
            shape = shape.member
    return shape


@pytest.mark.parametrize(
    ("operation", "filled"), ENTRIES, ids=[f"{op}.{f.path}" for op, f in ENTRIES]
)
def test_every_default_is_a_field_of_its_describe_output(operation: str, filled: Filled) -> None:
    shape = leaf_shape(operation, filled.path)
    assert filled.source, "every default names its source"
    if callable(filled.value):
        return
    expected = PYTHON_TYPES[shape.type_name]
    assert isinstance(filled.value, expected), f"{filled.value!r} is not a {shape.type_name}"
    enum = getattr(shape, "enum", None)
    if enum:
        assert filled.value in enum


def test_filling_copies_and_keeps_what_was_set() -> None:
    request: dict[str, Any] = req.training("t", OutputDataConfig={"S3OutputPath": "s3://b/o"})
    request["InputDataConfig"][0]["CompressionType"] = "Gzip"
    before = copy.deepcopy(request)
    filled = with_defaults("DescribeTrainingJob", request)
    assert request == before, "the request is left as it was"
    assert filled["OutputDataConfig"] == {
        "S3OutputPath": "s3://b/o",
        "KmsKeyId": "",
        "CompressionType": "GZIP",
    }
    assert filled["InputDataConfig"][0] == {
        **request["InputDataConfig"][0],
        "RecordWrapperType": "None",
    }
    assert filled["StoppingCondition"] == request["StoppingCondition"]


def test_structures_are_created_only_where_the_entry_says() -> None:
    request = req.processing("p", ProcessingInputs=[{"InputName": "d", "DatasetDefinition": {}}])
    del request["StoppingCondition"]
    filled = with_defaults("DescribeProcessingJob", request)
    assert filled["StoppingCondition"] == {"MaxRuntimeInSeconds": 86_400}
    # No S3Input is invented for an input that reads a dataset definition.
    assert filled["ProcessingInputs"] == [
        {"InputName": "d", "DatasetDefinition": {}, "AppManaged": False}
    ]


def test_an_operation_without_defaults_answers_its_echo() -> None:
    echo = {"WorkteamName": "team"}
    assert with_defaults("DescribeWorkteam", echo) is echo
