"""Tags on any resource (AddTags, ListTags, DeleteTags) and Search over jobs.

Every resource registers its tags in ``Emulator.tags`` (ARN -> mapping) when it is created and
removes them when it is deleted; the resource keeps the *same* mapping object, so tags changed
here are the tags its behaviour reads (``emulator:duration-seconds`` and friends) and the tags
its stats row reports. An ARN that is not there is a ``ValidationException``, which is what
SageMaker answers for the tags of a resource that does not exist (or no longer does).

Search answers for the job kinds that both the emulator runs and the Search API knows. The
service model's ``ResourceType`` and ``SearchRecord`` have ``TrainingJob`` but neither
``ProcessingJob`` nor ``TransformJob``: a Search for those is refused by request validation, as
SageMaker refuses it. A record is the job's Describe response cut to the members of the
record's shape, plus its ``Tags``.

Supported search expressions: ``Filters`` on ``Tags.<key>``, ``Metrics.<name>`` (final metric
values) or any field of the record, dotted into structures, maps and lists
(``ResourceConfig.InstanceType``, ``HyperParameters.epochs``); every operator of the API
(a number or a timestamp field compares as a number, and a timestamp value may be given as
epoch seconds or ISO 8601); ``NestedFilters`` (some element of a list matches all its filters);
``SubExpressions``; ``Operator`` And/Or; at most one ``Contains`` in a whole expression, as
SageMaker enforces. Results are sorted (``SortBy`` any property, default ``CreationTime``,
descending) and paged with keyset tokens like the List operations.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.model import Shape, StructureShape

from emulator import errors
from emulator.jobs import KINDS, EmulatedKind, Job, describe
from emulator.state import Emulator, Params, Response, operation
from runner.validation import service_model

MAX_TAGS_PER_RESOURCE = 50
RESERVED_TAG_PREFIX = "aws:"
DEFAULT_PAGE = 10
LIST_TAGS_DEFAULT_PAGE = 50

# --- tags -----------------------------------------------------------------------------------


def tags_of(em: Emulator, arn: str) -> dict[str, str]:
    """The live tag mapping of the resource ``arn``."""
    tags = em.tags.get(arn)
    if tags is None:
        raise errors.validation_error(f'Could not find resource "{arn}".')
    return tags


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


@operation("sagemaker", "AddTags")
def add_tags(em: Emulator, params: Params) -> Response:
    tags = tags_of(em, params["ResourceArn"])
    added = {tag["Key"]: tag.get("Value", "") for tag in params["Tags"]}
    reserved = sorted(key for key in added if key.lower().startswith(RESERVED_TAG_PREFIX))
    if reserved:
        raise errors.validation_error(
            f"Tag keys starting with '{RESERVED_TAG_PREFIX}' are reserved for AWS use: "
            f"{', '.join(reserved)}"
        )
    if len(tags.keys() | added.keys()) > MAX_TAGS_PER_RESOURCE:
        raise errors.validation_error(
            f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; "
            f"{params['ResourceArn']} would have {len(tags.keys() | added.keys())}."
        )
    tags.update(added)  # in place: the resource holds this very mapping
    return {"Tags": tag_list(added)}


@operation("sagemaker", "ListTags")
def list_tags(em: Emulator, params: Params) -> Response:
    tags = tag_list(tags_of(em, params["ResourceArn"]))
    start = _decode_offset(params.get("NextToken"))
    end = start + (params.get("MaxResults") or LIST_TAGS_DEFAULT_PAGE)
    response: Response = {"Tags": tags[start:end]}
    if end < len(tags):
        response["NextToken"] = _encode({"o": end})
    return response


@operation("sagemaker", "DeleteTags")
def delete_tags(em: Emulator, params: Params) -> Response:
    tags = tags_of(em, params["ResourceArn"])
    for key in params["TagKeys"]:
        tags.pop(key, None)  # a key the resource does not have is not an error
    return {}


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _decode(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError as exc:
        raise errors.validation_error("Invalid pagination token") from exc
    if not isinstance(data, dict):
        raise errors.validation_error("Invalid pagination token")
    return data


def _decode_offset(token: str | None) -> int:
    if not token:
        return 0
    offset = _decode(token).get("o")
    if not isinstance(offset, int) or offset < 0:
        raise errors.validation_error("Invalid pagination token")
    return offset


# --- search ---------------------------------------------------------------------------------


def _record_members(resource: str) -> Mapping[str, Shape] | None:
    """The members of SearchRecord's ``resource`` structure (None if it has no such member)."""
    record = service_model("sagemaker").shape_for("SearchRecord")
    entity = record.members.get(resource) if isinstance(record, StructureShape) else None
    return entity.members if isinstance(entity, StructureShape) else None


def searchable_kinds() -> dict[str, EmulatedKind]:
    """Search's resource name -> the job kind it finds: the kinds SearchRecord has a member for."""
    return {kind.noun: kind for kind in KINDS.values() if _record_members(kind.noun) is not None}


@dataclass(eq=False)
class Candidate:
    """One job as Search sees it; its record is built only when a filter or the page needs it."""

    job: Job
    now: float
    record_members: Mapping[str, Shape]
    _record: dict[str, Any] | None = field(default=None, repr=False)

    def record(self) -> dict[str, Any]:
        if self._record is None:
            full = describe(self.job, self.now)
            body = {key: value for key, value in full.items() if key in self.record_members}
            body["Tags"] = tag_list(self.job.tags)
            self._record = body
        return self._record

    def values(self, name: str) -> list[Any]:
        """Every value the property ``name`` has in this record (none when it is absent)."""
        if name.startswith("Tags."):
            key = name.removeprefix("Tags.")
            return [self.job.tags[key]] if key in self.job.tags else []
        if name == "CreationTime":
            return [self.job.created_at]
        if name.startswith("Metrics."):
            metric = name.removeprefix("Metrics.")
            metrics = self.record().get("FinalMetricDataList") or []
            return [m["Value"] for m in metrics if m["MetricName"] == metric]
        return property_values(self.record(), name)


def property_values(document: Any, name: str) -> list[Any]:
    """The values at the dotted path ``name``, fanning out over lists."""
    current = [document]
    for part in name.split("."):
        found = []
        for value in _flatten(current):
            if isinstance(value, dict) and value.get(part) is not None:
                found.append(value[part])
        current = found
    return list(_flatten(current))


def _flatten(values: list[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, list):
            yield from _flatten(value)
        else:
            yield value


def _as_number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.validation_error(
            f"Value '{text}' of filter '{name}' must be a number or an ISO 8601 timestamp"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _compare(actual: Any, text: str, name: str) -> int:
    """-1, 0 or 1 as ``actual`` is below, equal to or above the filter value ``text``."""
    expected: Any
    if isinstance(actual, bool):
        actual, expected = str(actual).lower(), text.lower()
    elif isinstance(actual, int | float):
        expected = _as_number(text, name)
    else:
        actual, expected = str(actual), text
    return int(actual > expected) - int(actual < expected)


_ORDERINGS: dict[str, Callable[[int], bool]] = {
    "Equals": lambda order: order == 0,
    "GreaterThan": lambda order: order > 0,
    "GreaterThanOrEqualTo": lambda order: order >= 0,
    "LessThan": lambda order: order < 0,
    "LessThanOrEqualTo": lambda order: order <= 0,
}


def _filter_matches(search_filter: dict[str, Any], values: list[Any]) -> bool:
    name = search_filter["Name"]
    operator = search_filter.get("Operator") or "Equals"
    if operator == "Exists":
        return bool(values)
    if operator == "NotExists":
        return not values
    text = search_filter["Value"]
    if operator == "NotEquals":
        return not any(_compare(value, text, name) == 0 for value in values)
    if operator == "In":
        options = [option.strip() for option in text.split(",")]
        return any(_compare(value, option, name) == 0 for value in values for option in options)
    if operator == "Contains":
        return any(text in str(value) for value in values)
    holds = _ORDERINGS[operator]
    return any(holds(_compare(value, text, name)) for value in values)


def _nested_matches(nested: dict[str, Any], candidate: Candidate) -> bool:
    """True when one element of the list ``NestedPropertyName`` matches every filter."""
    prefix = nested["NestedPropertyName"] + "."
    for element in candidate.values(nested["NestedPropertyName"]):
        if all(
            _filter_matches(f, property_values(element, f["Name"].removeprefix(prefix)))
            for f in nested["Filters"]
        ):
            return True
    return False


def _matches(expression: dict[str, Any], candidate: Candidate) -> bool:
    outcomes = [
        *(_filter_matches(f, candidate.values(f["Name"])) for f in expression.get("Filters") or []),
        *(_nested_matches(n, candidate) for n in expression.get("NestedFilters") or []),
        *(_matches(sub, candidate) for sub in expression.get("SubExpressions") or []),
    ]
    if (expression.get("Operator") or "And") == "Or":
        return any(outcomes)
    return all(outcomes)


def _check_expression(expression: dict[str, Any]) -> None:
    """Refuse what SageMaker refuses before it looks at any record."""
    filters = list(expression.get("Filters") or [])
    for nested in expression.get("NestedFilters") or []:
        prefix = nested["NestedPropertyName"] + "."
        for nested_filter in nested["Filters"]:
            if not nested_filter["Name"].startswith(prefix):
                raise errors.validation_error(
                    f"Filter name '{nested_filter['Name']}' of NestedFilters must start with "
                    f"its NestedPropertyName '{nested['NestedPropertyName']}'"
                )
        filters.extend(nested["Filters"])
    for search_filter in filters:
        operator = search_filter.get("Operator") or "Equals"
        if operator not in ("Exists", "NotExists") and search_filter.get("Value") is None:
            raise errors.validation_error(
                f"Filter '{search_filter['Name']}' with operator {operator} needs a Value"
            )
    for sub in expression.get("SubExpressions") or []:
        _check_expression(sub)


def _count_contains(expression: dict[str, Any]) -> int:
    filters = [
        *(expression.get("Filters") or []),
        *(f for nested in expression.get("NestedFilters") or [] for f in nested["Filters"]),
    ]
    own = sum(1 for f in filters if f.get("Operator") == "Contains")
    return own + sum(_count_contains(sub) for sub in expression.get("SubExpressions") or [])


def _sort_key(candidate: Candidate, sort_by: str) -> list[Any]:
    """A total order: the property's first value (absent < numbers < text), then creation
    time, then ARN. Every position is JSON, so that a page token can carry it."""
    values = candidate.values(sort_by)
    value = values[0] if values else None
    if value is None:
        position: list[Any] = [0, 0.0, ""]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        position = [1, float(value), ""]
    elif isinstance(value, str | bool):
        position = [2, 0.0, str(value)]
    else:
        position = [3, 0.0, json.dumps(value, sort_keys=True)]
    return [*position, candidate.job.created_at, candidate.job.arn]


@operation("sagemaker", "Search")
def search(em: Emulator, params: Params) -> Response:
    resource = params["Resource"]
    kind = searchable_kinds().get(resource)
    record_members = _record_members(resource)
    if kind is None or record_members is None:
        raise errors.validation_error(f"The emulator does not search {resource} resources.")
    expression = params.get("SearchExpression") or {}
    _check_expression(expression)
    if _count_contains(expression) > 1:
        raise errors.validation_error(
            "A SearchExpression can contain at most one Contains operator."
        )
    sort_by = params.get("SortBy") or "CreationTime"
    descending = (params.get("SortOrder") or "Descending") == "Descending"
    max_results = params.get("MaxResults") or DEFAULT_PAGE

    now = em.now()
    matching = [
        candidate
        for job in em.jobs_of(kind.key).values()
        if job.visible(now)
        for candidate in [Candidate(job, now, record_members)]
        if _matches(expression, candidate)
    ]
    keyed = sorted(
        ((_sort_key(c, sort_by), c) for c in matching), key=lambda pair: pair[0], reverse=descending
    )
    total = len(keyed)
    token = params.get("NextToken")
    if token:
        data = _decode(token)
        after = data.get("k")
        if data.get("s") != sort_by or data.get("d") != descending or not isinstance(after, list):
            raise errors.validation_error(
                "Invalid pagination token: the search changed between pages"
            )
        try:
            if descending:
                keyed = [(key, c) for key, c in keyed if key < after]
            else:
                keyed = [(key, c) for key, c in keyed if key > after]
        except TypeError as exc:
            raise errors.validation_error("Invalid pagination token") from exc
    page = keyed[:max_results]
    response: Response = {
        "Results": [{resource: candidate.record()} for _, candidate in page],
        "TotalHits": {"Value": total, "Relation": "EqualTo"},
    }
    if len(keyed) > max_results:
        response["NextToken"] = _encode({"k": page[-1][0], "s": sort_by, "d": descending})
    return response
