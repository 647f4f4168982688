"""Check a request against botocore's own service model before it is sent.

botocore's ``ParamValidator`` checks required members, types and minimums but not the
constraints AWS enforces on the server: maximum lengths and values, regular-expression
patterns and enum values. ``validate_request`` runs both, so that bad input is refused
locally with the same rules SageMaker would apply, and nothing is created.

Problems are reported one per field, as ``Problem(path, rule)``, where ``path`` names the
field in the request (``ResourceConfig.InstanceCount``, ``Tags[2].Key``). A problem of a rule
AWS checks on the server also carries AWS's own words for it (``Problem.aws``), which the
emulator answers with: "Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member
must satisfy regular expression pattern: [\\w+=,.@-]*", members in lower camel case and list
items as ``tags.1.member.key``, joined by "; " after "N validation errors detected: ". Field
reports of AWS's answers: zalando-stups/aws-credentials-service#7 and
aws-actions/configure-aws-credentials#1306 (the pattern), tenesys/awsconsole#2 (length),
goldstack/goldstack#425 ("Value '600' at 'durationSeconds' ... Member must have value greater
than or equal to 900"), hashicorp/terraform-provider-aws#41023 (list members, the separator).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url
from botocore.validate import ParamValidator

from runner.errors import RequestInvalid
from runner.models import model_session

__all__ = [
    "Problem",
    "RequestInvalid",
    "endpoint_url_problem",
    "operation_model",
    "region_problem",
    "role_arn_problem",
    "service_model",
    "validate_request",
]


@dataclass(frozen=True)
class Problem:
    """One broken rule: where in the request, and what the rule is (and AWS's words for it)."""

    path: str
    rule: str
    aws: str | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return one_line(f"{self.path or '(request)'}: {self.rule}")


# Characters that would break a problem's one line (a key the user wrote may hold them).
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``)."""
    return _LINE_BREAKING.sub(lambda found: found.group().encode("unicode_escape").decode(), text)


@functools.cache
def service_model(service: str) -> ServiceModel:
    """The botocore service model of ``service`` ("sagemaker", "logs"), loaded once."""
    return model_session().get_service_model(service)


@functools.cache
def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


def role_arn_problem(role: str) -> str | None:
    """Why ``role`` is not an IAM role ARN, or None: the pattern of SageMaker's own role fields
    (shape ``RoleArn`` in botocore's SageMaker model). A malformed role to assume would only
    fail at STS, inside the first call that needs credentials, once per job."""
    pattern = service_model("sagemaker").shape_for("RoleArn").metadata["pattern"]
    if re.fullmatch(pattern, role) is None:
        return f"must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got {role!r}"
    return None


@functools.cache
def _region_patterns() -> tuple[re.Pattern[str], ...]:
    """Each AWS partition's ``regionRegex``, from botocore's own ``endpoints.json``."""
    partitions = model_session().get_data("endpoints")["partitions"]
    return tuple(re.compile(p["regionRegex"]) for p in partitions)


def region_problem(region: str) -> str | None:
    """Why ``region`` is not an AWS region name, or None: the name must match a partition's
    ``regionRegex`` (``us-east-1``, ``cn-north-1``, ``us-gov-west-1``); botocore's own check
    (a DNS label) lets ``eu-west`` or ``useast1`` through, to fail at the first call."""
    if any(pattern.fullmatch(region) for pattern in _region_patterns()):
        return None
    return f"must be an AWS region name like us-east-1, got {region!r}"


def endpoint_url_problem(url: str) -> str | None:
    """Why ``url`` is not an endpoint botocore can call, or None: an http(s) URL with a host
    (botocore.utils' ``is_valid_endpoint_url``, or its IPv6 form, which the client itself
    checks, raising a bare ValueError)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("http", "https") and (
        is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)
    ):
        return None
    return f"must be an http:// or https:// URL with a host name, got {url!r}"


# An SQS queue URL: scheme and host, the 12-digit account, the queue's name (the SQS API
# reference's CreateQueue: up to 80 alphanumerics, hyphens and underscores; ".fifo" ends a
# FIFO queue's). https://sqs.<region>.amazonaws.com/<account>/<name>, or an emulator's.
_QUEUE_URL = re.compile(
    r"https?://[A-Za-z0-9.\-]+(:[0-9]+)?/[0-9]{12}/[A-Za-z0-9_-]{1,75}(\.fifo|[A-Za-z0-9_-]{0,5})"
)


def queue_url_problem(url: str) -> str | None:
    """Why ``url`` is not an SQS queue URL, or None. A wrong one would only show as a feed
    that is unhealthy from the start, polling as if no feed were given."""
    if _QUEUE_URL.fullmatch(url) is None:
        return (
            "must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>, "
            f"as smrun events setup prints it), got {url!r}"
        )
    return None


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    # AWS patterns are Java regexes matched against the whole value. The few that use Java-only
    # syntax (\p{L} classes) cannot be checked here and are skipped rather than guessed at.
    try:
        return re.compile(pattern)
    except re.error:
        return None


def validate_request(service: str, operation: str, params: Mapping[str, Any]) -> list[Problem]:
    """Every problem in ``params`` for ``service``.``operation``; empty when the request is valid."""
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return [] if not params else [Problem("", "this operation takes no parameters")]
    problems = list(_botocore_problems(params, shape))
    reported = {p.path for p in problems}
    # Both layers run, so one answer lists every problem; a field botocore already refused
    # (a wrong type, say) is not reported twice.
    problems.extend(p for p in _constraint_problems(params, shape, "") if p.path not in reported)
    return problems


def _botocore_problems(params: Mapping[str, Any], shape: Shape) -> Iterator[Problem]:
    report = ParamValidator().validate(dict(params), shape)
    if not report.has_errors():
        return
    # The report has no public structured accessor; its ``_errors`` triples (kind, dotted
    # path, details) have been stable for years. Fall back to the text report if that changes.
    errors = getattr(report, "_errors", None)
    if not isinstance(errors, list):
        yield Problem("", report.generate_report())
        return
    for kind, dotted, details in errors:
        path = dotted.lstrip(".")
        yield _botocore_problem(kind, path, details, params)


def _botocore_problem(
    kind: str, path: str, details: dict[str, Any], params: Mapping[str, Any]
) -> Problem:
    if kind == "missing required field":
        missing = _join(path, details["required_name"])
        return Problem(missing, "is required", _aws_words(None, missing, "not be null"))
    if kind == "unknown field":
        valid = ", ".join(details.get("valid_names", []))
        return Problem(
            _join(path, details["unknown_param"]), f"is not a known field (valid: {valid})"
        )
    if kind == "invalid type":
        valid = " or ".join(
            t.replace("<class '", "").replace("'>", "") for t in details["valid_types"]
        )
        got = type(details["param"]).__name__
        return Problem(path, f"must be of type {valid} (got {got} {details['param']!r})")
    if kind == "invalid range":
        least = details["min_allowed"]
        return Problem(
            path,
            f"must be at least {least} (got {details['param']})",
            _aws_words(details["param"], path, f"have value greater than or equal to {least}"),
        )
    if kind == "invalid length":
        least = details["min_allowed"]
        value = _value_at(params, path)
        words = f"have length greater than or equal to {least}"
        return Problem(
            path,
            f"must have length at least {least} (has {details['param']})",
            _aws_words(value, path, words) if isinstance(value, str) else None,
        )
    return Problem(path, f"{kind}: {details}")


def aws_member_path(path: str) -> str | None:
    """``path`` as AWS's validation messages name a member (``Tags[0].Key`` ->
    ``tags.1.member.key``); None for a map's entry, which AWS names otherwise."""
    if "(key " in path:
        return None
    names = []
    for segment in path.split("."):
        name, *rest = re.split(r"\[(\d+)\]", segment)
        names.append(name[:1].lower() + name[1:])
        names += [f"{int(index) + 1}.member" for index in rest[::2]]
    return ".".join(names)


def _aws_words(value: Any, path: str, constraint: str, *, sensitive: bool = False) -> str | None:
    member = aws_member_path(path)
    if member is None:
        return None
    shown = "" if sensitive else (" null" if value is None else f" '{value}'")
    return f"Value{shown} at '{member}' failed to satisfy constraint: Member must {constraint}"


def _value_at(params: Mapping[str, Any], path: str) -> Any:
    """The value at a botocore path (``Tags[0].Key``), or None."""
    value: Any = params
    for segment in path.split("."):
        name, *rest = re.split(r"\[(\d+)\]", segment)
        value = value.get(name) if isinstance(value, Mapping) else None
        for index in rest[::2]:
            value = (
                value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
            )
    return value


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _constraint_problems(value: Any, shape: Shape, path: str) -> Iterator[Problem]:
    if isinstance(shape, StructureShape):
        yield from _structure_problems(value, shape, path)
    elif isinstance(shape, ListShape):
        yield from _list_problems(value, shape, path)
    elif isinstance(shape, MapShape):
        yield from _map_problems(value, shape, path)
    elif shape.type_name == "string" and isinstance(value, str):
        yield from _string_problems(value, shape, path)
    elif shape.type_name in ("integer", "long", "float", "double") and isinstance(
        value, int | float
    ):
        yield from _number_problems(value, shape, path)


def _structure_problems(value: Any, shape: StructureShape, path: str) -> Iterator[Problem]:
    if not isinstance(value, Mapping):
        return
    for name, member_value in value.items():
        member = shape.members.get(name)
        if member is not None and member_value is not None:
            yield from _constraint_problems(member_value, member, _join(path, name))


def _list_problems(value: Any, shape: ListShape, path: str) -> Iterator[Problem]:
    if not isinstance(value, list | tuple):
        return
    meta = shape.metadata
    if "max" in meta and len(value) > meta["max"]:
        yield Problem(path, f"must have at most {meta['max']} items (has {len(value)})")
    for index, item in enumerate(value):
        yield from _constraint_problems(item, shape.member, f"{path}[{index}]")


def _map_problems(value: Any, shape: MapShape, path: str) -> Iterator[Problem]:
    if not isinstance(value, Mapping):
        return
    meta = shape.metadata
    if "max" in meta and len(value) > meta["max"]:
        yield Problem(path, f"must have at most {meta['max']} entries (has {len(value)})")
    for key, item in value.items():
        yield from _constraint_problems(key, shape.key, f"{path}.(key {key!r})")
        yield from _constraint_problems(item, shape.value, f"{path}.{key}")


# The range of each integer type, where the model states no ``max``/``min`` of its own:
# Smithy's simple types (smithy.io/2.0/spec/simple-types.html), which AWS's JSON protocols
# serialize: ``integer`` is a 32-bit signed integer, ``long`` a 64-bit one. botocore checks
# only that the value is an ``int``, so ``InstanceCount: 10**30`` would otherwise be sent.
TYPE_RANGES: dict[str, tuple[int, int]] = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}


def _number_problems(value: float, shape: Shape, path: str) -> Iterator[Problem]:
    type_least, type_most = TYPE_RANGES.get(shape.type_name, (None, None))
    if type_least is not None and value < type_least and "min" not in shape.metadata:
        yield Problem(
            path,
            f"must be at least {type_least}, the API's {shape.type_name} range "
            f"(got {_number(value)})",
            _aws_words(_number(value), path, f"have value greater than or equal to {type_least}"),
        )
    most = shape.metadata.get("max")
    if most is not None and value > most:
        yield Problem(
            path,
            f"must be at most {most} (got {_number(value)})",
            _aws_words(_number(value), path, f"have value less than or equal to {most}"),
        )
    elif type_most is not None and value > type_most:
        yield Problem(
            path,
            f"must be at most {type_most}, the API's {shape.type_name} range "
            f"(got {_number(value)})",
            _aws_words(_number(value), path, f"have value less than or equal to {type_most}"),
        )


def _number(value: float) -> str:
    """``value`` as text, a huge one abbreviated (Python refuses to print an int of more
    than 4,300 digits)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    return str(value)


def _string_problems(value: str, shape: Shape, path: str) -> Iterator[Problem]:
    meta = shape.metadata
    sensitive = bool(meta.get("sensitive"))
    if "max" in meta and len(value) > meta["max"]:
        yield Problem(
            path,
            f"must be at most {meta['max']} characters long (is {len(value)})",
            _aws_words(
                value,
                path,
                f"have length less than or equal to {meta['max']}",
                sensitive=sensitive,
            ),
        )
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        shown = ", ".join(enum[:12]) + (", ..." if len(enum) > 12 else "")
        yield Problem(
            path,
            f"must be one of [{shown}] (got {value!r})",
            _aws_words(value, path, f"satisfy enum value set: [{', '.join(enum)}]"),
        )
    pattern = meta.get("pattern")
    if pattern:
        compiled = _compiled(pattern)
        if compiled is not None and compiled.fullmatch(value) is None:
            yield Problem(
                path,
                f"must match the pattern {pattern} (got {value!r})",
                _aws_words(
                    value,
                    path,
                    f"satisfy regular expression pattern: {pattern}",
                    sensitive=sensitive,
                ),
            )
