"""Errors the emulator answers with; ``emulator.protocols`` writes them in the wire
format of the service asked (a JSON ``__type``, or the query protocol's XML ``ErrorResponse``).

Codes and messages follow what SageMaker and CloudWatch Logs really answer, which is not always
what the service model suggests (botocore's model lists ``ResourceNotFound`` for every
Describe of a job). A missing job is answered per kind (``jobs.EmulatedKind.not_found``):

* training: ``ValidationException`` "Requested resource not found." (boto/boto3#2808,
  aws/aws-sdk#165; the ACK SageMaker controller's generator.yaml maps TrainingJob's 404 to
  that code and message prefix);
* processing and transform: ``ValidationException`` "Could not find requested job with name
  ..." (ACK generator.yaml: ProcessingJob "Could not find requested job", TransformJob "Could not
  find requested job with name");
* tuning: ``ResourceNotFound`` "Amazon SageMaker can't find a tuning job called ..." (ACK maps
  HyperParameterTuningJob's 404 to ResourceNotFound; the message is the one reported in
  aws/amazon-sagemaker-examples#1540);
* labeling: ``ValidationException`` by ACK (aws-controllers-k8s/sagemaker-controller#303 maps
  LabelingJob's 404 to it with no message prefix); no public source gives the message, so
  ``EmulatorConfig.labeling_not_found`` also offers ``ResourceNotFound``, and the runner must
  read both as "missing".

A missing model or endpoint is a ``ValidationException`` ("Could not find model ..."), and so is
a duplicate model or endpoint name, while a duplicate job name is ``ResourceInUse``. Clients
that work against the emulator therefore work against AWS.

SQS (JSON 1.0 since botocore 1.31, ``awsQueryCompatible`` in its model) answers ``__type``
with the error shape's name and, in an ``x-amzn-query-error`` header, the code its query API
used (``AWS.SimpleQueueService.NonExistentQueue;Sender``); botocore reports the latter as
``Error.Code`` and the former as ``Error.QueryErrorCode`` (botocore ``parsers.py``
``_do_query_compatible_error_parse``; softwaremill/elasticmq#905 fixed its JSON answer to this
form; moto's ``core/serialize.py`` writes the same header).

Codes are written as the JSON services spell them; the query protocol spells the common ones
its own way (``ValidationError``, ``Throttling``, ``ExpiredToken``: see ``protocols``).
"""

from __future__ import annotations

from collections.abc import Sequence

from runner.validation import Problem


class AwsError(Exception):
    """An error response: a code, a message and an HTTP status."""

    def __init__(
        self, code: str, message: str, status: int = 400, *, query_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        # A service that left the query protocol for JSON but stays "awsQueryCompatible" (SQS)
        # also names its old query error code: ``x-amzn-query-error: <code>;Sender``.
        self.query_code = query_code


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def invalid_request(problems: Sequence[Problem]) -> AwsError:
    """AWS's wording: "2 validation errors detected: Value ... at 'x' failed to satisfy ...",
    each problem in AWS's words where ``runner.validation`` has them (its sources there)."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    details = "; ".join(p.aws or f"'{p.path}' {p.rule}" for p in problems)
    return validation_error(f"{count} validation {noun} detected: {details}")


def resource_not_found(message: str = "Requested resource not found.") -> AwsError:
    return AwsError("ResourceNotFound", message)


def requested_resource_not_found(name: str) -> AwsError:
    return validation_error("Requested resource not found.")


def requested_job_not_found(name: str) -> AwsError:
    return validation_error(f"Could not find requested job with name {name}")


def tuning_job_not_found(name: str) -> AwsError:
    return resource_not_found(
        f"Amazon SageMaker can't find a tuning job called {name}. Type another name."
    )


def labeling_job_not_found(name: str, code: str) -> AwsError:
    """``code``: ``EmulatorConfig.labeling_not_found`` (see the module docstring)."""
    if code == "ResourceNotFound":
        return resource_not_found()
    return validation_error("Requested resource not found.")


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
