"""``runner.retry``: which errors are transient, and how ``call_with_retries`` treats each kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from structlog.testing import capture_logs

from runner.config import RetryPolicy
from runner.errors import AwsCallFailed, AwsUnreachable, ResourceMissing, is_not_found
from runner.retry import call_with_retries, is_throttling, is_transient

FAST = RetryPolicy(initial=0.001, maximum=0.002, max_attempts=0)


def client_error(
    code: str, message: str = "", status: int = 400, operation: str = "DescribeTrainingJob"
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "req-1"},
    }
    return ClientError(response, operation)


TRANSIENT: dict[str, Callable[[], BaseException]] = {
    "ThrottlingException": lambda: client_error("ThrottlingException", "Rate exceeded"),
    "Throttling": lambda: client_error("Throttling", "Rate exceeded"),
    "TooManyRequestsException": lambda: client_error("TooManyRequestsException", status=429),
    "RequestLimitExceeded": lambda: client_error("RequestLimitExceeded"),
    "InternalFailure": lambda: client_error("InternalFailure", status=500),
    "InternalFailure-at-400": lambda: client_error("InternalFailure", status=400),
    "ServiceUnavailable": lambda: client_error("ServiceUnavailable", status=503),
    "any-500": lambda: client_error("SomethingBroke", status=500),
    "any-503": lambda: client_error("", status=503),
    "EndpointConnectionError": lambda: EndpointConnectionError(endpoint_url="http://x"),
    "ConnectTimeoutError": lambda: ConnectTimeoutError(endpoint_url="http://x"),
    "ReadTimeoutError": lambda: ReadTimeoutError(endpoint_url="http://x"),
    "ConnectionClosedError": lambda: ConnectionClosedError(endpoint_url="http://x"),
    "aiohttp.ServerDisconnectedError": aiohttp.ServerDisconnectedError,
    "aiohttp.ClientConnectionError": lambda: aiohttp.ClientConnectionError("reset"),
    "aiohttp.ClientPayloadError": lambda: aiohttp.ClientPayloadError("truncated"),
    "TimeoutError": TimeoutError,
}
FATAL: dict[str, Callable[[], ClientError]] = {
    "ValidationException": lambda: client_error("ValidationException", "1 validation error"),
    "AccessDeniedException": lambda: client_error(
        "AccessDeniedException", "not authorized to perform: sagemaker:CreateTrainingJob"
    ),
    "ResourceNotFound": lambda: client_error("ResourceNotFound", "Requested resource not found."),
    "ResourceInUse": lambda: client_error("ResourceInUse", "Job name must be unique"),
    "ResourceLimitExceeded": lambda: client_error("ResourceLimitExceeded", "quota"),
    "any-4xx": lambda: client_error("SomethingElse", status=404),
}


@pytest.mark.parametrize("make", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_errors(make: Callable[[], BaseException]) -> None:
    assert is_transient(make())


@pytest.mark.parametrize("make", FATAL.values(), ids=FATAL.keys())
def test_fatal_errors(make: Callable[[], ClientError]) -> None:
    assert not is_transient(make())


@pytest.mark.parametrize("error", [ValueError("bug"), KeyError("x"), RuntimeError("no")])
def test_programming_errors_are_not_transient(error: BaseException) -> None:
    assert not is_transient(error)


def test_throttling_is_told_apart() -> None:
    assert is_throttling(client_error("ThrottlingException"))
    assert not is_throttling(client_error("InternalFailure", status=500))
    assert not is_throttling(TimeoutError())


# --- is_not_found -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ResourceNotFound", "Requested resource not found."),
        ("ResourceNotFoundException", "whatever"),
        # Models, endpoints and endpoint configs answer a ValidationException instead.
        ("ValidationException", 'Could not find model "arn:aws:sagemaker:us-east-1:1:model/m".'),
        ("ValidationException", 'Could not find endpoint "e".'),
        ("ValidationException", "Endpoint configuration c does not exist."),
        # Training, processing and transform jobs too (boto/boto3#2808, ACK generator.yaml).
        ("ValidationException", "Requested resource not found."),
        ("ValidationException", "Could not find requested job with name job-1"),
        (
            "ResourceNotFound",
            "Amazon SageMaker can't find a tuning job called t. Type another name.",
        ),
    ],
)
def test_not_found_in_each_of_sagemakers_forms(code: str, message: str) -> None:
    assert is_not_found(client_error(code, message))


def test_a_labeling_jobs_validation_exception_is_not_found_whatever_its_message() -> None:
    # ACK's LabelingJob maps every ValidationException of DescribeLabelingJob to 404; the
    # message is not documented, so it is not read.
    error = client_error("ValidationException", "The job gt-1 is unknown")
    assert is_not_found(error, "DescribeLabelingJob")
    assert not is_not_found(error, "CreateLabelingJob")
    assert not is_not_found(error)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ValidationException", "1 validation error detected: Value 'x' at 'roleArn'"),
        ("AccessDeniedException", "Could not find credentials"),
        ("ThrottlingException", "Rate exceeded"),
    ],
)
def test_other_errors_are_not_not_found(code: str, message: str) -> None:
    assert not is_not_found(client_error(code, message))


# --- call_with_retries --------------------------------------------------------------------------


class Flaky:
    """Fails with the given errors, in order, then answers."""

    def __init__(self, *errors: BaseException, answer: Any = "done") -> None:
        self.errors = list(errors)
        self.calls = 0
        self.answer = answer

    async def __call__(self) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.answer


async def test_success_at_once_calls_once() -> None:
    call = Flaky(answer={"ok": True})
    assert await call_with_retries("DescribeTrainingJob", FAST, call) == {"ok": True}
    assert call.calls == 1


@pytest.mark.parametrize("failures", [1, 3, 7])
async def test_transient_failures_are_retried_until_success(failures: int) -> None:
    makers = list(TRANSIENT.values())
    call = Flaky(*(makers[i % len(makers)]() for i in range(failures)))
    assert await call_with_retries("DescribeTrainingJob", FAST, call) == "done"
    assert call.calls == failures + 1


async def test_retries_stop_after_max_attempts_with_awss_code() -> None:
    policy = RetryPolicy(initial=0.001, maximum=0.002, max_attempts=3)
    call = Flaky(*(client_error("ThrottlingException", "Rate exceeded") for _ in range(10)))
    with pytest.raises(AwsUnreachable) as failed:
        await call_with_retries("ListTrainingJobs", policy, call)
    assert call.calls == 3
    assert failed.value.attempts == 3
    assert failed.value.code == "ThrottlingException"
    assert failed.value.aws_message == "Rate exceeded"
    assert failed.value.operation == "ListTrainingJobs"
    assert not isinstance(failed.value, ResourceMissing)


async def test_a_dead_endpoint_surfaces_as_its_own_error_after_max_attempts() -> None:
    policy = RetryPolicy(initial=0.001, maximum=0.002, max_attempts=4)
    call = Flaky(*(EndpointConnectionError(endpoint_url="http://x") for _ in range(10)))
    with pytest.raises(AwsUnreachable) as failed:
        await call_with_retries("DescribeTrainingJob", policy, call)
    assert call.calls == 4
    assert failed.value.code == "EndpointConnectionError"
    assert isinstance(failed.value.__cause__, EndpointConnectionError)
    assert "could not get through" in str(failed.value)


TRANSIENT_RAW: dict[str, Callable[[], BaseException]] = {
    "timeout": TimeoutError,
    "aiohttp-connector": aiohttp.ServerDisconnectedError,
    "aiohttp-payload": lambda: aiohttp.ClientPayloadError("truncated"),
    "botocore-read-timeout": lambda: ReadTimeoutError(endpoint_url="http://x"),
    "throttled": lambda: client_error("ThrottlingException", "Rate exceeded"),
    "5xx": lambda: client_error("InternalFailure", status=500),
}


@pytest.mark.parametrize("make", TRANSIENT_RAW.values(), ids=TRANSIENT_RAW.keys())
async def test_every_exhausted_transient_error_is_one_project_error(
    make: Callable[[], BaseException],
) -> None:
    policy = RetryPolicy(initial=0.001, maximum=0.002, max_attempts=2)
    call = Flaky(*(make() for _ in range(5)))
    with pytest.raises(AwsUnreachable) as failed:
        await call_with_retries("DescribeTrainingJob", policy, call)
    assert call.calls == 2
    assert isinstance(failed.value, AwsCallFailed)
    assert failed.value.operation == "DescribeTrainingJob"


async def test_other_botocore_failures_are_project_errors_and_not_retried() -> None:
    call = Flaky(NoCredentialsError(), answer="never")
    with pytest.raises(AwsCallFailed) as failed:
        await call_with_retries("DescribeTrainingJob", FAST, call)
    assert call.calls == 1
    assert not isinstance(failed.value, AwsUnreachable)
    assert failed.value.code == "NoCredentialsError"


async def test_max_attempts_zero_means_no_bound() -> None:
    call = Flaky(*(client_error("InternalFailure", status=500) for _ in range(25)))
    assert await call_with_retries("DescribeTrainingJob", FAST, call) == "done"
    assert call.calls == 26


@pytest.mark.parametrize("make", FATAL.values(), ids=FATAL.keys())
async def test_fatal_errors_are_never_retried(make: Callable[[], ClientError]) -> None:
    error = make()
    call = Flaky(error, answer="never")
    with pytest.raises(AwsCallFailed) as failed:
        await call_with_retries("CreateTrainingJob", FAST, call)
    assert call.calls == 1
    assert failed.value.code == error.response["Error"]["Code"]
    assert failed.value.aws_message == error.response["Error"]["Message"]
    assert failed.value.response is error.response
    assert failed.value.__cause__ is error
    assert "CreateTrainingJob failed" in str(failed.value)


async def test_not_found_becomes_resource_missing() -> None:
    for error in (
        client_error("ResourceNotFound", "Requested resource not found."),
        client_error("ValidationException", 'Could not find model "m".'),
    ):
        with pytest.raises(ResourceMissing) as missing:
            await call_with_retries("DescribeModel", FAST, Flaky(error))
        assert missing.value.code == error.response["Error"]["Code"]


async def test_a_validation_error_is_not_resource_missing() -> None:
    with pytest.raises(AwsCallFailed) as failed:
        await call_with_retries(
            "CreateTrainingJob", FAST, Flaky(client_error("ValidationException", "bad role"))
        )
    assert type(failed.value) is AwsCallFailed


async def test_other_exceptions_pass_through_unretried() -> None:
    call = Flaky(ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        await call_with_retries("DescribeTrainingJob", FAST, call)
    assert call.calls == 1


async def test_a_transient_then_a_fatal_error_stops_at_the_fatal_one() -> None:
    call = Flaky(
        client_error("ThrottlingException"), client_error("AccessDeniedException", "no"), answer="x"
    )
    with pytest.raises(AwsCallFailed) as failed:
        await call_with_retries("DescribeTrainingJob", FAST, call)
    assert failed.value.code == "AccessDeniedException"
    assert call.calls == 2


async def test_each_retry_is_logged_with_the_operation_and_code() -> None:
    call = Flaky(client_error("ThrottlingException"), TimeoutError())
    with capture_logs() as logs:
        await call_with_retries("DescribeTrainingJob", FAST, call)
    retries = [entry for entry in logs if entry["event"] == "aws.call_retrying"]
    assert [(r["attempt"], r["error"], r["code"]) for r in retries] == [
        (1, "ClientError", "ThrottlingException"),
        (2, "TimeoutError", None),
    ]
    assert all(r["operation"] == "DescribeTrainingJob" for r in retries)
    assert all(0 <= r["wait_s"] <= FAST.maximum for r in retries)
