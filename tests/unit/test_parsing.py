"""``runner.parsing``'s JSON parser gives what botocore's gives, for every answer shape of the
services the runner calls over the JSON protocol."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from aiobotocore.parsers import AioJSONParser
from botocore.model import OperationModel, ServiceModel

from runner.parsing import ParserFactory, TableJSONParser, service_timestamp

SERVICES = ("sagemaker", "logs", "sqs", "events")
MAX_DEPTH = 6


SCALARS: dict[str, Callable[[random.Random], Any]] = {
    "timestamp": lambda rng: rng.choice([1_700_000_000, 1_700_000_000.25]),
    "blob": lambda rng: base64.b64encode(b"bytes").decode(),
    "integer": lambda rng: rng.randint(-5, 10_000),
    "long": lambda rng: rng.randint(-5, 10_000),
    "float": lambda rng: rng.random(),
    "double": lambda rng: rng.random(),
    "boolean": lambda rng: rng.random() < 0.5,
}


def wire_value(shape: Any, rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value for ``shape`` as the service would send it: members missing, null or
    set, under their serialized names."""
    kind = shape.type_name
    if kind == "structure":
        return wire_structure(shape, rng, depth)
    count = 0 if depth >= MAX_DEPTH else rng.randint(0, 3)
    if kind == "list":
        return [
            None if rng.random() < 0.1 else wire_value(shape.member, rng, depth + 1)
            for _ in range(count)
        ]
    if kind == "map":
        return {f"k{n}": wire_value(shape.value, rng, depth + 1) for n in range(count)}
    return SCALARS.get(kind, some_text)(rng)


def some_text(rng: random.Random) -> str:
    return rng.choice(["", "text", "Completed"])


def wire_structure(shape: Any, rng: random.Random, depth: int) -> dict[str, Any]:
    members = list(shape.members.items())
    if shape.is_tagged_union and members:  # exactly one member set
        name, member = rng.choice(members)
        return {member.serialization.get("name", name): wire_value(member, rng, depth + 1)}
    value: dict[str, Any] = {}
    for name, member in members if depth < MAX_DEPTH else []:
        roll = rng.random()
        if roll >= 0.2:
            key = member.serialization.get("name", name)
            value[key] = None if roll < 0.3 else wire_value(member, rng, depth + 1)
    return value


def parse(parser_class: type, operation: OperationModel, body: bytes) -> Any:
    response = {
        "body": body,
        "headers": {"x-amzn-requestid": "r-1"},
        "status_code": 200,
        "context": {"operation_name": operation.name},
    }
    parser = parser_class(timestamp_parser=service_timestamp)
    return asyncio.run(parser.parse(response, operation.output_shape))


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_parses_as_botocore_parses_it(service: str) -> None:
    model = botocore.session.get_session().get_service_model(service)
    assert model.protocol == "json"  # the protocol ParserFactory gives TableJSONParser
    rng = random.Random(service)
    compared = 0
    for name in model.operation_names:
        operation = model.operation_model(name)
        if operation.output_shape is None or operation.output_shape.event_stream_name:
            continue
        for _ in range(4):
            body = json.dumps(wire_value(operation.output_shape, rng)).encode()
            assert parse(TableJSONParser, operation, body) == parse(
                AioJSONParser, operation, body
            ), (service, name, body[:300])
            compared += 1
    assert compared > 4 * len(model.operation_names) // 2


def test_a_log_page_is_parsed_whole() -> None:
    """The flat-list path: every event, every member under its model name, nulls and members
    the model does not have (a newer API's) dropped; an event that has neither is taken as it
    comes."""
    model = botocore.session.get_session().get_service_model("logs")
    operation = model.operation_model("FilterLogEvents")
    events = [
        {"logStreamName": "job/algo-1", "timestamp": 5, "message": "hi", "eventId": "1"},
        None,
        {"logStreamName": "job/algo-2", "timestamp": 6, "message": None, "ingestionTime": 7},
        {"logStreamName": "job/algo-3", "timestamp": 8, "message": "x", "newMember": "y"},
    ]
    body = json.dumps({"events": events, "nextToken": "t"}).encode()
    parsed = parse(TableJSONParser, operation, body)
    assert parsed["events"] == [
        {"logStreamName": "job/algo-1", "timestamp": 5, "message": "hi", "eventId": "1"},
        None,
        {"logStreamName": "job/algo-2", "timestamp": 6, "ingestionTime": 7},
        {"logStreamName": "job/algo-3", "timestamp": 8, "message": "x"},  # not in the model
    ]
    assert parsed == parse(AioJSONParser, operation, body)


def test_the_factory_gives_the_table_parser_only_for_json() -> None:
    factory = ParserFactory()
    assert isinstance(factory.create_parser("json"), TableJSONParser)
    assert not isinstance(factory.create_parser("query"), TableJSONParser)


def test_members_are_read_under_their_serialized_names() -> None:
    """None of the four services renames a member of its answers today; a model that does
    (``serialization.name``, as botocore's JSON parser honours it) is read the same way."""
    model = ServiceModel(
        {
            "metadata": {"protocol": "json", "apiVersion": "1", "jsonVersion": "1.1"},
            "operations": {
                "Get": {"name": "Get", "http": {"method": "POST"}, "output": {"shape": "Out"}}
            },
            "shapes": {
                "Out": {"type": "structure", "members": {"Items": {"shape": "Items"}}},
                "Items": {"type": "list", "member": {"shape": "Item"}},
                "Item": {
                    "type": "structure",
                    "members": {"Name": {"shape": "Text", "locationName": "name"}},
                },
                "Text": {"type": "string"},
            },
        }
    )
    operation = model.operation_model("Get")
    body = json.dumps({"Items": [{"name": "a", "Name": "wrong"}]}).encode()
    assert parse(TableJSONParser, operation, body) == parse(AioJSONParser, operation, body)
    assert parse(TableJSONParser, operation, body)["Items"] == [{"Name": "a"}]


@pytest.mark.parametrize(
    "body",
    [
        b'{"events": [{"timestamp": NaN, "message": "a"}]}',  # json reads it, orjson refuses
        b"not json at all",  # botocore: {"message": <the body>}
        b"",
    ],
)
def test_a_body_orjson_refuses_is_read_as_botocore_reads_it(body: bytes) -> None:
    operation = (
        botocore.session.get_session().get_service_model("logs").operation_model("FilterLogEvents")
    )
    mine, botocores = parse(TableJSONParser, operation, body), parse(AioJSONParser, operation, body)
    assert repr(mine) == repr(botocores)  # repr: NaN is not equal to itself


def test_an_integer_past_64_bits_is_a_float() -> None:
    """The one answer read otherwise than botocore reads it (orjson's choice): no AWS shape
    carries such a number, a long being 64 bits."""
    operation = (
        botocore.session.get_session().get_service_model("logs").operation_model("FilterLogEvents")
    )
    body = b'{"events": [{"timestamp": 123456789012345678901234567890}]}'
    assert parse(TableJSONParser, operation, body)["events"] == [
        {"timestamp": 1.2345678901234568e29}
    ]
