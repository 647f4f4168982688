"""Errors the emulator answers with; ``runner.emulator.protocols`` writes them in the wire
format of the service asked (a JSON ``__type``, or the query protocol's XML ``ErrorResponse``).

Codes and messages follow what SageMaker and CloudWatch Logs really answer, which is not always
what the service model suggests: a missing training job is ``ResourceNotFound``, but a missing
model or endpoint is a ``ValidationException`` ("Could not find model ..."), and so is a
duplicate model or endpoint name, while a duplicate job name is ``ResourceInUse``. Clients that
work against the emulator therefore work against AWS.

Codes are written as the JSON services spell them; the query protocol spells the common ones
its own way (``ValidationError``, ``Throttling``, ``ExpiredToken``: see ``protocols``).
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.validation import Problem


class AwsError(Exception):
    """An error response: a code, a message and an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def invalid_request(problems: Sequence[Problem]) -> AwsError:
    """AWS's wording: "2 validation errors detected: Value ... at 'x' failed to satisfy ..."."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    details = "; ".join(f"'{p.path}' {p.rule}" for p in problems)
    return validation_error(f"{count} validation {noun} detected: {details}")


def resource_not_found(message: str = "Requested resource not found.") -> AwsError:
    return AwsError("ResourceNotFound", message)


def logs_not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


def resource_in_use(message: str) -> AwsError:
    return AwsError("ResourceInUse", message)


def resource_limit_exceeded(message: str) -> AwsError:
    return AwsError("ResourceLimitExceeded", message)


def throttled() -> AwsError:
    return AwsError("ThrottlingException", "Rate exceeded")


def internal_failure() -> AwsError:
    return AwsError("InternalFailure", "We encountered an internal error. Please try again.", 500)


def unknown_operation(target: str) -> AwsError:
    return AwsError("UnknownOperationException", f"Unknown operation {target}")


# Credentials: the messages AWS answers with for an expired or unknown session token (field
# reports: "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The
# security token included in the request is expired", aws/aws-cli#7870; SageMaker and the other
# JSON services answer ExpiredTokenException with the same message).
def expired_token() -> AwsError:
    return AwsError(
        "ExpiredTokenException", "The security token included in the request is expired"
    )


def invalid_token() -> AwsError:
    return AwsError(
        "UnrecognizedClientException", "The security token included in the request is invalid.", 403
    )
