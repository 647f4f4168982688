"""Retries, once, in one place.

Throttling, 5xx answers, timeouts and dropped connections are transient: they back off
exponentially with full jitter (tenacity's ``wait_random_exponential``) and never count
against a job. Everything else (validation, access denied, not found, conflicts) fails at once
with AWS's own code and message, as ``AwsCallFailed``.

This is the AWS error boundary: what leaves ``call_with_retries`` is the call's answer or a
``RunnerError``, never botocore's, aiohttp's or asyncio's own exception. Transient trouble that
outlasts the retries is ``AwsUnreachable`` (the call could not get through); any other botocore
or aiohttp failure (no credentials, a certificate refused, an answer that does not parse) is an
``AwsCallFailed`` whose code names the error's class.

botocore's own retry layer is switched off on every client the runner makes
(``total_max_attempts=1``, see ``runner.session``), so the two layers never multiply: one
logical call makes at most ``RetryPolicy.max_attempts`` HTTP requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import structlog
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    SSLError,
)
from botocore.parsers import ResponseParserError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
    stop_never,
    wait_random_exponential,
)
from tenacity.stop import StopBaseT, stop_base

from runner.config import RetryPolicy
from runner.errors import AwsCallFailed, AwsUnreachable, RunnerError, error_code

T = TypeVar("T")
log = structlog.get_logger("runner.retry")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
    }
)


def is_throttling(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error_code(error) in THROTTLING_CODES


def is_transient(error: BaseException) -> bool:
    """True for errors that a later attempt can fix."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = error_code(error)
        return code in THROTTLING_CODES or code in TRANSIENT_CODES or status >= 500
    if isinstance(error, SSLError):
        return False  # a certificate problem does not go away by waiting
    return isinstance(
        error,
        ConnectionError
        | HTTPClientError
        | aiohttp.ClientConnectionError
        | aiohttp.ClientPayloadError
        | TimeoutError,
    )


def _log_retry(operation: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.debug(
            "aws.call_retrying",
            operation=operation,
            attempt=state.attempt_number,
            error=type(error).__name__,
            code=error_code(error) if isinstance(error, ClientError) else None,
            wait_s=round(state.upcoming_sleep, 3),
        )

    return before_sleep


def _stop_for(policy: RetryPolicy) -> StopBaseT:
    stops: list[stop_base] = []
    if policy.max_attempts > 0:
        stops.append(stop_after_attempt(policy.max_attempts))
    if policy.max_elapsed > 0:
        stops.append(stop_after_delay(policy.max_elapsed))
    return stop_any(*stops) if stops else stop_never


async def call_with_retries(
    operation: str, policy: RetryPolicy, call: Callable[[], Awaitable[T]]
) -> T:
    """Run ``call`` until it succeeds or fails for good; a final ClientError becomes ``AwsCallFailed``."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=wait_random_exponential(multiplier=policy.initial, max=policy.maximum),
        stop=_stop_for(policy),
        before_sleep=_log_retry(operation),
        sleep=asyncio.sleep,
        reraise=True,
    )
    try:
        return await retrying(call)
    except RunnerError:
        raise  # already the project's (CredentialsUnavailable from inside the call)
    except (
        ClientError,
        BotoCoreError,
        ResponseParserError,
        aiohttp.ClientError,
        TimeoutError,
    ) as error:
        raise boundary_error(
            operation, error, retrying.statistics.get("attempt_number", 1)
        ) from error


def boundary_error(operation: str, error: BaseException, attempts: int) -> AwsCallFailed:
    """The project's error for a call's last failure: ``AwsUnreachable`` if it was transient
    (the retries ran out), else ``AwsCallFailed`` with AWS's code or the error's class."""
    if is_transient(error):
        return AwsUnreachable.after(operation, error, attempts)
    if isinstance(error, ClientError):
        return AwsCallFailed.from_client_error(operation, error)
    return AwsCallFailed(operation, type(error).__name__, " ".join(str(error).split()))
