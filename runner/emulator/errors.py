"""Errors the emulator answers with, in AWS's JSON 1.1 error format.

Codes and messages follow what SageMaker and CloudWatch Logs really answer, which is not always
what the service model suggests: a missing training job is ``ResourceNotFound``, but a missing
model or endpoint is a ``ValidationException`` ("Could not find model ..."), and so is a
duplicate model or endpoint name, while a duplicate job name is ``ResourceInUse``. Clients that
work against the emulator therefore work against AWS.
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.validation import Problem


class AwsError(Exception):
    """An error response: ``{"__type": code, "message": message}`` with an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message}


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
