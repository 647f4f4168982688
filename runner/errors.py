"""The runner's exceptions, drawn once (tests/unit/test_errors.py checks the drawing).

    RunnerError                      anything the runner raises on purpose
    ├── RequestInvalid (ValueError)  a request breaks botocore's model (runner.validation)
    ├── JobConflict                  a job with this name exists and was made from another request
    ├── AwsCallFailed                an AWS call failed for good (validation, access, not found...)
    │   ├── ResourceMissing          the resource does not exist
    │   ├── CredentialsUnavailable   the role to assume could not be assumed (STS refused or failed)
    │   └── AwsUnreachable           the call could not get through: still throttled, timed out,
    │                                unreachable or answering 5xx when the retries ran out
    └── RunnerClosed                 submit() after shutdown() began

Transient trouble (throttling, 5xx, timeouts, dropped connections) is retried below every
caller (runner.retry); only when the retries run out does it come out, and then always as
``AwsUnreachable``, never as botocore's, aiohttp's or asyncio's own exception. Per-job failures
are not exceptions: they are ``Outcome``s.

``RequestInvalid`` is a ``ValueError`` too (a bad argument, as Python's own convention has it),
so code that catches either finds it. It lives here, and ``runner.validation`` (which the
emulator also reads) raises it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from runner.validation import Problem

__all__ = [
    "AwsCallFailed",
    "AwsUnreachable",
    "CredentialsUnavailable",
    "JobConflict",
    "RequestInvalid",
    "ResourceMissing",
    "RunnerClosed",
    "RunnerError",
    "error_code",
    "is_not_found",
]


class RunnerError(Exception):
    """Base of the runner's own errors."""


class RequestInvalid(RunnerError, ValueError):
    """A request that breaks the service model; carries every problem found."""

    def __init__(self, operation: str, problems: list[Problem]) -> None:
        self.operation = operation
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{operation}: {len(problems)} invalid field(s):\n{lines}")


class JobConflict(RunnerError):
    """The deterministic name is taken by a job made from a different request."""

    def __init__(self, kind: str, name: str, existing_digest: str | None, digest: str) -> None:
        self.kind, self.name = kind, name
        self.existing_digest, self.digest = existing_digest, digest
        found = f"digest {existing_digest[:12]}" if existing_digest else "no smrun digest tag"
        super().__init__(
            f"{kind} job {name!r} already exists but was created from a different request "
            f"({found}, this request {digest[:12]}); change the job identity or the name to run it"
        )


class AwsCallFailed(RunnerError):
    """An AWS call that retrying cannot fix; carries AWS's own code and message."""

    def __init__(self, operation: str, code: str, message: str, response: Any = None) -> None:
        self.operation, self.code, self.aws_message = operation, code, message
        self.response = response
        super().__init__(f"{operation} failed: {code}: {message}")

    @classmethod
    def from_client_error(cls, operation: str, error: ClientError) -> AwsCallFailed:
        code, message = error_code(error), str(error.response.get("Error", {}).get("Message", ""))
        error_class = ResourceMissing if is_not_found(error, operation) else AwsCallFailed
        return error_class(operation, code, message, error.response)


class ResourceMissing(AwsCallFailed):
    """Describe* of something that does not exist."""


class CredentialsUnavailable(AwsCallFailed):
    """STS AssumeRole failed for good: refused (``code`` is STS's: AccessDenied,
    ValidationError...) or never answered properly (``code`` is empty). Raised from inside
    whichever call needed the credentials, so its text names AssumeRole and the role rather
    than that call."""

    def __init__(self, role_arn: str, code: str, message: str) -> None:
        message = " ".join(message.split())  # one line, whatever the cause's text was
        self.role_arn, self.operation, self.code, self.aws_message = (
            role_arn,
            "AssumeRole",
            code,
            message,
        )
        self.response = None
        reason = f"{code}: {message}" if code else message
        RunnerError.__init__(
            self, f"AssumeRole failed: {reason} (could not assume role {role_arn} through STS)"
        )


class AwsUnreachable(AwsCallFailed):
    """The call could not get through: every attempt was throttled, timed out, lost its
    connection or was answered with a 5xx. ``code`` is AWS's code of the last answer
    (``ThrottlingException``, ``ServiceUnavailable``) or, when no answer came, the name of
    the last error (``TimeoutError``, ``ClientConnectorError``); ``attempts`` how many were
    made. Trying again later may work: nothing was refused."""

    def __init__(self, operation: str, code: str, message: str, attempts: int) -> None:
        super().__init__(operation, code, message)
        self.attempts = attempts
        Exception.__init__(
            self,
            f"{operation} could not get through: {code}: {message} "
            f"(gave up after {attempts} attempt(s))",
        )

    @classmethod
    def after(cls, operation: str, error: BaseException, attempts: int) -> AwsUnreachable:
        if isinstance(error, ClientError):
            code = error_code(error)
            message = str(error.response.get("Error", {}).get("Message", "")) or str(error)
        else:
            code, message = type(error).__name__, str(error) or type(error).__name__
        return cls(operation, code, " ".join(message.split()), attempts)


class RunnerClosed(RunnerError):
    """The runner is shutting down and takes no new jobs."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


_NOT_FOUND_WORDS = ("could not find", "not found", "does not exist")
# Describe calls whose only input is the name, and for which AWS answers a missing resource
# with a ValidationException whose message no public source gives: the ACK SageMaker
# controller treats any ValidationException of DescribeLabelingJob as "not found"
# (aws-controllers-k8s/sagemaker-controller#303).
_NAME_ONLY_VALIDATION_IS_MISSING = frozenset({"DescribeLabelingJob"})


def is_not_found(error: ClientError, operation: str | None = None) -> bool:
    """SageMaker says "not found" several ways, whatever botocore's model lists:
    ResourceNotFound (tuning jobs, CloudWatch Logs' ResourceNotFoundException), and a
    ValidationException for training jobs ("Requested resource not found."), processing and
    transform jobs ("Could not find requested job with name ..."), models, endpoints and
    endpoint configs ("Could not find model ..."): the ACK SageMaker controller's
    generator.yaml, boto/boto3#2808. ``operation`` names the call, for the Describes whose
    message is not known (``_NAME_ONLY_VALIDATION_IS_MISSING``)."""
    code = error_code(error)
    if code in ("ResourceNotFound", "ResourceNotFoundException"):
        return True
    if code != "ValidationException":
        return False
    if operation in _NAME_ONLY_VALIDATION_IS_MISSING:
        return True
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return any(word in message for word in _NOT_FOUND_WORDS)


class NotSent(RunnerClosed):
    """A Create the runner never sent: shutdown came while it waited for its budget (or a
    retry), and no attempt of it reached SageMaker but to be throttled. Nothing exists."""


class AnswerUnknown(RunnerClosed):
    """Shutdown came after an attempt of a Create reached SageMaker without an answer that
    says whether the job was made (a dropped connection, a timeout, a 5xx): the caller looks
    the job up, and stops it if it exists."""
