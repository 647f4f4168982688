"""EventBridge event patterns: checked when a rule is put, matched against every event.

The rules are the EventBridge User Guide's ("Amazon EventBridge event patterns" and "Content
filtering in Amazon EventBridge event patterns"):

* a pattern is a JSON object whose fields mirror the event's; a field whose value is an object
  matches the event's object field by field; a leaf is a non-empty array of the values it
  accepts, and matches when the event's value (or, for an array in the event, any of its
  elements) is one of them;
* an array item is a literal (string, number, ``null``, exact match) or an object with one
  operator: ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (a literal, an
  array of literals, or ``{"prefix": ...}``), ``numeric`` (``[">", 0, "<=", 5]``), ``exists``
  (``true``/``false``), ``wildcard``;
* every field of the pattern must match; a field the event lacks matches only ``exists: false``.

A pattern that breaks these rules is refused as EventBridge refuses it:
``InvalidEventPatternException`` "Event pattern is not valid. Reason: ..." (PutRule's API
reference lists the error; the wording of the reasons is the emulator's).
"""

from __future__ import annotations

import fnmatch
import json
import operator
from collections.abc import Callable, Iterator
from typing import Any

from emulator import errors

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
}
_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists")
_OPERATORS_ALL = (*_OPERATORS, "wildcard")

_MISSING = object()


def invalid_pattern(reason: str) -> errors.AwsError:
    return errors.AwsError(
        "InvalidEventPatternException", f"Event pattern is not valid. Reason: {reason}"
    )


def parse(text: str) -> dict[str, Any]:
    """The pattern ``text`` as an object, or ``InvalidEventPatternException`` with every
    problem it has."""
    try:
        pattern = json.loads(text)
    except ValueError:
        raise invalid_pattern("the pattern is not JSON") from None
    if not isinstance(pattern, dict) or not pattern:
        raise invalid_pattern("the pattern must be a non-empty JSON object")
    problems = list(_problems(pattern, ""))
    if problems:
        raise invalid_pattern("; ".join(problems))
    return pattern


def _problems(pattern: dict[str, Any], path: str) -> Iterator[str]:
    for key, value in pattern.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            if not value:
                yield f"{where} is an empty object"
            yield from _problems(value, where)
        elif isinstance(value, list):
            if not value:
                yield f"{where} is an empty array"
            for item in value:
                yield from _item_problems(item, where)
        else:
            yield f"{where} must be an object or an array of values, got {json.dumps(value)}"


def _item_problems(item: Any, where: str) -> Iterator[str]:
    if item is None or isinstance(item, str | int | float | bool):
        return
    if not isinstance(item, dict) or len(item) != 1:
        yield f"{where}: an array item must be a value or an object with one operator"
        return
    (name, argument), *_ = item.items()
    if name not in _OPERATORS_ALL:
        yield f"{where}: unrecognized match type {name}"
    elif name in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
        if not isinstance(argument, str):
            yield f"{where}: {name} match pattern must be a string"
    elif name == "exists":
        if not isinstance(argument, bool):
            yield f"{where}: exists match pattern must be either true or false"
    elif name == "numeric":
        yield from _numeric_problems(argument, where)
    else:
        yield from _anything_but_problems(argument, where)


def _numeric_problems(argument: Any, where: str) -> Iterator[str]:
    if not isinstance(argument, list) or not argument or len(argument) % 2:
        yield f"{where}: numeric must be an array of operator and number pairs"
        return
    for op, number in zip(argument[::2], argument[1::2], strict=True):
        if op not in _NUMERIC or isinstance(number, bool) or not isinstance(number, int | float):
            yield f"{where}: numeric has {json.dumps(op)} {json.dumps(number)}, not a pair"


def _anything_but_problems(argument: Any, where: str) -> Iterator[str]:
    if isinstance(argument, dict):
        if set(argument) != {"prefix"} or not isinstance(argument["prefix"], str):
            yield f"{where}: anything-but takes a value, an array of values or a prefix"
    elif isinstance(argument, list):
        if not argument or any(isinstance(v, dict | list) for v in argument):
            yield f"{where}: anything-but takes a non-empty array of values"
    elif not (argument is None or isinstance(argument, str | int | float)):
        yield f"{where}: anything-but takes a value, an array of values or a prefix"


# --- matching ------------------------------------------------------------------------------


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Whether ``event`` (a JSON object) matches ``pattern`` (one that ``parse`` accepted)."""
    if not isinstance(event, dict):
        return False
    for key, expected in pattern.items():
        value = event.get(key, _MISSING)
        if isinstance(expected, dict):
            if not matches(expected, value):
                return False
        elif not _leaf_matches(expected, value):
            return False
    return True


def _leaf_matches(accepted: list[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(isinstance(item, dict) and item.get("exists") is False for item in accepted)
    values = value if isinstance(value, list) else [value]
    return any(_item_matches(item, one) for item in accepted for one in values)


_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "prefix": str.startswith,
    "suffix": str.endswith,
    "equals-ignore-case": lambda value, wanted: value.casefold() == wanted.casefold(),
    # wildcard: only ``*`` is special (a ``[`` is literal)
    "wildcard": lambda value, wanted: fnmatch.fnmatchcase(value, wanted.replace("[", "[[]")),
}


def _item_matches(item: Any, value: Any) -> bool:
    if not isinstance(item, dict):
        return _same(item, value)
    (name, argument), *_ = item.items()
    if name == "exists":
        return bool(argument)
    if name == "numeric":
        return _is_number(value) and all(
            _NUMERIC[op](value, number)
            for op, number in zip(argument[::2], argument[1::2], strict=True)
        )
    if name == "anything-but":
        return _anything_but(argument, value)
    return isinstance(value, str) and _STRING_TESTS[name](value, str(argument))


def _anything_but(argument: Any, value: Any) -> bool:
    if isinstance(argument, dict):
        return isinstance(value, str) and not value.startswith(argument["prefix"])
    refused = argument if isinstance(argument, list) else [argument]
    return not any(_same(one, value) for one in refused)


def _same(expected: Any, value: Any) -> bool:
    """Exact match; numbers compare as numbers (``5`` matches ``5.0``), never booleans."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if _is_number(expected) and _is_number(value):
        return bool(float(expected) == float(value))
    return bool(expected == value) and type(expected) is type(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
