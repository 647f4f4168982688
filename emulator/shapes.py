"""Check an emulator response against botocore's output shape.

With ``check_responses`` on (the test suite turns it on), every response is walked against the
operation's output shape: a key the shape does not have, or a value of the wrong type, is an
emulator bug, reported as a 500 so that the test that provoked it fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from runner.validation import operation_model

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "timestamp": (int, float),
    "blob": (str,),
}


def response_problems(service: str, operation: str, response: dict[str, Any]) -> list[str]:
    shape = operation_model(service, operation).output_shape
    if shape is None:
        return [] if not response else [f"{operation} has no output, got keys {sorted(response)}"]
    return list(_walk(response, shape, operation))


def _walk(value: Any, shape: Shape, path: str) -> Iterator[str]:
    if isinstance(shape, StructureShape):
        yield from _walk_structure(value, shape, path)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            yield f"{path}: expected a list, got {type(value).__name__}"
            return
        for index, item in enumerate(value):
            yield from _walk(item, shape.member, f"{path}[{index}]")
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            yield f"{path}: expected a map, got {type(value).__name__}"
            return
        for key, item in value.items():
            yield from _walk(item, shape.value, f"{path}.{key}")
    else:
        yield from _scalar_problems(value, shape, path)


def _walk_structure(value: Any, shape: StructureShape, path: str) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"{path}: expected a structure, got {type(value).__name__}"
        return
    for key, item in value.items():
        member = shape.members.get(key)
        if member is None:
            yield f"{path}.{key}: not a member of {shape.name}"
        elif item is not None:
            yield from _walk(item, member, f"{path}.{key}")


def _scalar_problems(value: Any, shape: Shape, path: str) -> Iterator[str]:
    expected = _PYTHON_TYPES.get(shape.type_name)
    wrong_bool = isinstance(value, bool) and shape.type_name != "boolean"
    if expected and (not isinstance(value, expected) or wrong_bool):
        yield f"{path}: expected {shape.type_name}, got {type(value).__name__} {value!r}"
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        yield f"{path}: {value!r} is not one of {shape.name}'s values"
