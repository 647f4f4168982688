"""The emulator's AWS query protocol against botocore's own: what botocore's ``QuerySerializer``
writes, the emulator reads back as the same parameters; what the emulator answers, botocore's
``QueryParser`` reads as the same response. Shapes with nested lists, maps and flattened
names come from real query services (STS, SNS, CloudFormation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from emulator.protocols import QueryWire, credential_scope
from runner.validation import operation_model

WIRE = QueryWire("https://sts.amazonaws.com/doc/2011-06-15/")

REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "sts",
        "AssumeRole",
        {
            "RoleArn": "arn:aws:iam::123456789012:role/x",
            "RoleSessionName": "s1",
            "DurationSeconds": 900,
            "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "run", "Value": "7"}],
            "TransitiveTagKeys": ["team"],
            "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            "Policy": '{"Version": "2012-10-17"}',
        },
    ),
    ("sts", "GetCallerIdentity", {}),
    (
        "sns",
        "Publish",
        {
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Message": "hello & <goodbye>",
            "MessageAttributes": {
                "kind": {"DataType": "String", "StringValue": "a=b"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        },
    ),
    (
        "cloudformation",
        "CreateStack",
        {
            "StackName": "s",
            "Parameters": [{"ParameterKey": "k", "ParameterValue": "v", "UsePreviousValue": True}],
            "Capabilities": [],
            "TimeoutInMinutes": 5,
            "DisableRollback": False,
        },
    ),
]


@pytest.mark.parametrize(("service", "operation", "params"), REQUESTS)
def test_the_emulator_reads_what_botocore_writes(
    service: str, operation: str, params: dict[str, Any]
) -> None:
    model = operation_model(service, operation)
    request = create_serializer("query").serialize_to_request(params, model)
    body = request["body"]
    raw = body if isinstance(body, bytes) else _form(body).encode()
    assert WIRE.params(model, raw) == params


def _form(body: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(body)


def test_timestamps_are_read_as_epoch_seconds() -> None:
    # Handlers see the same types whatever the protocol: AWS JSON sends epoch numbers.
    model = operation_model("rds", "DescribeEvents")
    start = dt.datetime(2026, 11, 30, 8, 15, 30, tzinfo=dt.UTC)
    request = create_serializer("query").serialize_to_request({"StartTime": start}, model)
    assert WIRE.params(model, _form(request["body"]).encode()) == {"StartTime": start.timestamp()}


ANSWERS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "sts",
        "AssumeRole",
        {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLEEXAMPLE12",
                "SecretAccessKey": "secret",
                "SessionToken": "token&<>",
                "Expiration": dt.datetime(2026, 12, 1, 12, 0, 0, 123000, dt.UTC).timestamp(),
            },
            "AssumedRoleUser": {"Arn": "arn:aws:sts::1:assumed-role/x/s1", "AssumedRoleId": "A:s1"},
        },
    ),
    ("sts", "GetCallerIdentity", {"UserId": "AIDA", "Account": "123456789012", "Arn": "arn"}),
    (
        "cloudformation",
        "DescribeStacks",
        {
            "Stacks": [
                {
                    "StackName": "s",
                    "CreationTime": 1764590400.0,
                    "StackStatus": "CREATE_COMPLETE",
                    "Capabilities": ["CAPABILITY_IAM"],
                    "EnableTerminationProtection": True,
                }
            ]
        },
    ),
]


@pytest.mark.parametrize(("service", "operation", "answer"), ANSWERS)
def test_botocore_reads_what_the_emulator_answers(
    service: str, operation: str, answer: dict[str, Any]
) -> None:
    model = operation_model(service, operation)
    response = WIRE.answer(model, answer)
    assert response.body is not None
    parsed = create_parser("query").parse(
        {"body": bytes(response.body), "headers": dict(response.headers), "status_code": 200},
        model.output_shape,
    )
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == response.headers["x-amzn-RequestId"]
    assert parsed == _as_botocore_reads(answer)


def _as_botocore_reads(value: Any) -> Any:
    """Epoch floats (what handlers return) come back from botocore as aware datetimes."""
    if isinstance(value, dict):
        return {key: _as_botocore_reads(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_botocore_reads(item) for item in value]
    if isinstance(value, float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return value


def test_errors_are_an_error_response_botocore_reads() -> None:
    from emulator.errors import AwsError, invalid_request
    from runner.validation import Problem

    model = operation_model("sts", "AssumeRole")
    for error, code in (
        (invalid_request([Problem("RoleSessionName", "is bad")]), "ValidationError"),
        (AwsError("AccessDenied", "User: x is not authorized", 403), "AccessDenied"),
    ):
        response = WIRE.error(error)
        assert response.body is not None
        parsed = create_parser("query").parse(
            {
                "body": bytes(response.body),
                "headers": dict(response.headers),
                "status_code": response.status,
            },
            model.output_shape,
        )
        assert parsed["Error"]["Code"] == code
        assert parsed["Error"]["Message"] == error.message
        assert parsed["Error"]["Type"] == "Sender"


def test_the_credential_scope_names_key_and_service() -> None:
    header = (
        "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261201/us-east-1/sts/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )
    assert credential_scope(header) == ("ASIAEXAMPLE", "sts")
    assert credential_scope("") is None
    assert credential_scope("AWS4-HMAC-SHA256 Credential=broken") is None
