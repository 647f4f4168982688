"""List* semantics as AWS has them: filter first, then sort, then page.

Moto pages before it filters, so a ``StatusEquals`` listing can return empty pages with a
NextToken; AWS (and this module) applies every filter to the whole collection, sorts, and
only then cuts a page of at most ``MaxResults`` (default 10, at most 100).

Page tokens are keyset positions (the sort key of the last item returned), not offsets, so a
job created while a client pages through a listing neither repeats nor hides another one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from runner.emulator.errors import validation_error


@dataclass(frozen=True)
class Listed:
    """What a listing needs to know of one resource."""

    name: str
    created: float
    modified: float | None
    status: str | None
    summarize: Callable[[], dict[str, Any]]  # built only for the items on the page
    metric: float | None = None  # a tuning job's child: its final objective metric value


_SORT_FIELDS = {
    "Name": "name",
    "CreationTime": "created",
    "CreateDate": "created",
    "Status": "status",
    "FinalObjectiveMetricValue": "metric",
}


def _sort_key(item: Listed, sort_by: str) -> list[Any]:
    value = getattr(item, _SORT_FIELDS[sort_by])
    # Ties on the sort field are broken by creation time then name, so the order is total
    # and a keyset token identifies one position. A missing value sorts as "" (a metric of
    # 0.0 is a value, not a missing one); callers do not mix missing and numeric values.
    return [value if value is not None else "", item.created, item.name]


def _encode(key: list[Any], sort_by: str, descending: bool) -> str:
    raw = json.dumps({"k": key, "s": sort_by, "d": descending}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode(token: str, sort_by: str, descending: bool) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        key = data["k"]
        same = data["s"] == sort_by and data["d"] == descending
    except (ValueError, KeyError, TypeError) as exc:
        raise validation_error("Invalid pagination token") from exc
    if not same or not isinstance(key, list):
        raise validation_error("Invalid pagination token: the sort order changed between pages")
    return key


def _passes(item: Listed, params: dict[str, Any]) -> bool:
    name_contains = params.get("NameContains")
    if name_contains and name_contains.lower() not in item.name.lower():
        return False
    status = params.get("StatusEquals")
    if status and item.status != status:
        return False
    created_after, created_before = (
        params.get("CreationTimeAfter"),
        params.get("CreationTimeBefore"),
    )
    if created_after is not None and not item.created > created_after:
        return False
    if created_before is not None and not item.created < created_before:
        return False
    modified_after = params.get("LastModifiedTimeAfter")
    modified_before = params.get("LastModifiedTimeBefore")
    modified = item.modified if item.modified is not None else item.created
    if modified_after is not None and not modified > modified_after:
        return False
    return modified_before is None or modified < modified_before


def list_page(
    params: dict[str, Any],
    items: Iterable[Listed],
    *,
    default_sort: str = "CreationTime",
    default_order: str = "Descending",
    default_max: int = 10,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of summaries and the token of the next page (None on the last page)."""
    sort_by = params.get("SortBy") or default_sort
    if sort_by not in _SORT_FIELDS:
        raise validation_error(f"Value '{sort_by}' at 'sortBy' failed to satisfy constraint")
    descending = (params.get("SortOrder") or default_order) == "Descending"
    max_results = params.get("MaxResults") or default_max
    if not 1 <= max_results <= 100:
        raise validation_error(
            f"Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 100"
        )
    matching = sorted(
        (item for item in items if _passes(item, params)),
        key=lambda item: _sort_key(item, sort_by),
        reverse=descending,
    )
    token = params.get("NextToken")
    if token:
        after = _decode(token, sort_by, descending)
        if descending:
            matching = [item for item in matching if _sort_key(item, sort_by) < after]
        else:
            matching = [item for item in matching if _sort_key(item, sort_by) > after]
    page = matching[:max_results]
    next_token = None
    if len(matching) > max_results:
        next_token = _encode(_sort_key(page[-1], sort_by), sort_by, descending)
    return [item.summarize() for item in page], next_token
