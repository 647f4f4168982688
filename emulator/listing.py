"""List* semantics as AWS has them: sort, cut a page of ``MaxResults``, then filter it.

SageMaker cuts a List page *before* it filters. ListTrainingJobs' API reference says so for
``StatusEquals``: "the MaxResults number of training jobs are first retrieved ignoring the
StatusEquals parameter and then they are filtered by the StatusEquals parameter"
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListTrainingJobs.html). Field
reports show the same for ``NameContains`` (pages of zero summaries with a NextToken:
boto/boto3#2838, boto/boto3#3347, aws/sagemaker-python-sdk#4410) and ``LastModifiedTimeAfter``;
moto's maintainers confirmed it against AWS when moto adopted it (getmoto/moto#4256). So a
client that filters an account with a long history walks that history ``MaxResults`` jobs at a
time, and a page may be short or empty while a NextToken remains. ``Paging`` chooses:

``Paging()`` (the default, ``mode="aws"``)
    Select the next ``MaxResults`` items in sort order past the token, ignoring the filters,
    then keep those that pass ``StatusEquals``, ``NameContains`` and the time filters.
``Paging(creation_time_bounds_scan=True)``
    The same, but ``CreationTimeAfter``/``CreationTimeBefore`` bound the scan (as an index on
    creation time would) instead of being applied to the page like the others. AWS does not
    document which it does; the default is the pessimistic reading, and the runner must be
    correct under both.
``Paging(mode="exact")``
    Filter the whole collection first, then sort and page: every page full but the last. Not
    what AWS does; kept for tests that want listings independent of the account's size.

Page tokens are keyset positions (the sort key of the last item *scanned*, returned or not),
not offsets, so a job created while a client pages through a listing neither repeats nor hides
another one.

``list_page`` takes every item and does all of that in one pass. Jobs are many (ten thousand
in flight, tens of thousands in an account's history) and listed often, so they live in an
``IndexedTable``, which ``list_indexed`` pages through touching only the jobs that can be on
the page: a CreationTime page walks the jobs in creation order from the token's position and
stops when the page is cut; in exact mode, a ``LastModifiedTimeAfter`` window starts from the
jobs that had a transition in it, and a rare ``StatusEquals`` from the jobs with that status.
Every way, the answer is ``list_page``'s, exactly.
"""

from __future__ import annotations

import base64
import bisect
import heapq
import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Self, TypeVar

from emulator.errors import validation_error


@dataclass(frozen=True)
class Paging:
    """How List calls cut their pages (see the module docstring)."""

    mode: Literal["aws", "exact"] = "aws"
    creation_time_bounds_scan: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("aws", "exact"):
            raise ValueError(f"unknown paging mode {self.mode!r}; choose aws or exact")

    @property
    def filters_first(self) -> bool:
        return self.mode == "exact"

    def describe(self) -> str:
        if self.filters_first:
            return "exact (filters before paging; not AWS)"
        bound = (
            "CreationTime filters bound the scan"
            if self.creation_time_bounds_scan
            else ("every filter after the page")
        )
        return f"aws (page cut before filters; {bound})"


AWS_PAGING = Paging()
EXACT_PAGING = Paging(mode="exact")


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


def _created_in_range(item: Listed, params: dict[str, Any]) -> bool:
    created_after, created_before = (
        params.get("CreationTimeAfter"),
        params.get("CreationTimeBefore"),
    )
    if created_after is not None and not item.created > created_after:
        return False
    return created_before is None or item.created < created_before


def _passes(item: Listed, params: dict[str, Any]) -> bool:
    name_contains = params.get("NameContains")
    if name_contains and name_contains.lower() not in item.name.lower():
        return False
    status = params.get("StatusEquals")
    if status and item.status != status:
        return False
    if not _created_in_range(item, params):
        return False
    modified_after = params.get("LastModifiedTimeAfter")
    modified_before = params.get("LastModifiedTimeBefore")
    modified = item.modified if item.modified is not None else item.created
    if modified_after is not None and not modified > modified_after:
        return False
    return modified_before is None or modified < modified_before


def _page_settings(
    params: dict[str, Any], default_sort: str, default_order: str, default_max: int
) -> tuple[str, bool, int]:
    """(sort field, descending, page size) of a List request, checked."""
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
    return sort_by, descending, max_results


def list_page(
    params: dict[str, Any],
    items: Iterable[Listed],
    *,
    paging: Paging = AWS_PAGING,
    default_sort: str = "CreationTime",
    default_order: str = "Descending",
    default_max: int = 10,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of summaries and the token of the next page (None on the last page)."""
    sort_by, descending, max_results = _page_settings(
        params, default_sort, default_order, default_max
    )
    if paging.filters_first:
        candidates: Iterable[Listed] = (item for item in items if _passes(item, params))
    elif paging.creation_time_bounds_scan:
        candidates = (item for item in items if _created_in_range(item, params))
    else:
        candidates = items
    ordered = sorted(candidates, key=lambda item: _sort_key(item, sort_by), reverse=descending)
    token = params.get("NextToken")
    if token:
        after = _decode(token, sort_by, descending)
        if descending:
            ordered = [item for item in ordered if _sort_key(item, sort_by) < after]
        else:
            ordered = [item for item in ordered if _sort_key(item, sort_by) > after]
    scanned = ordered[:max_results]
    page = scanned if paging.filters_first else [i for i in scanned if _passes(i, params)]
    next_token = None
    if len(ordered) > max_results:
        next_token = _encode(_sort_key(scanned[-1], sort_by), sort_by, descending)
    return [item.summarize() for item in page], next_token


# --- indexed listings ---------------------------------------------------------------------------


class Indexable(Protocol):
    """What an ``IndexedTable`` needs of what it holds (a job)."""

    name: str
    created_at: float

    def visible(self, now: float) -> bool: ...

    def status(self, now: float) -> str: ...

    def last_modified(self, now: float) -> float: ...

    def event_times(self) -> Iterable[float]:
        """Every moment the item changes or may change. Its ``last_modified(now)``, once it is
        visible, is always the latest of them that is not after ``now``."""
        ...

    def watch(self, listener: Callable[[], None] | None) -> None:
        """Call ``listener`` whenever ``event_times`` may have changed (None: stop)."""
        ...


T = TypeVar("T", bound=Indexable)
_Event = tuple[float, int, T]  # (time, serial of the item, item)


class IndexedTable(dict[str, T]):
    """A name -> item mapping that also keeps, as items come and go:

    * the items in creation order (``created_at``, then name): the order of CreationTime
      listings, so a page visits the items on it and those its filters turn away, no others;
    * the moments at which items change (``event_times``; a job's transitions), in a heap until
      they pass and then in a sorted list, so the items that changed after a given time are
      found by bisection;
    * the visible items by status, brought up to date as those moments pass (an item's status
      changes only at one of them, or when its events change).

    The event log may hold entries that no longer hold (a Stop drops planned transitions, a
    removed item leaves its entries behind), so it only nominates candidates, which callers
    check against the item's real state; it never misses an item whose last modification is
    in the window, as long as items report changes to their events (``watch``). The status
    index is exact at the latest time it was brought to, and at any later time once the events
    up to then have passed; a query at an earlier time (the clock went back) does not use it.

    Every way of adding or removing an item goes through ``__setitem__`` and ``__delitem__``.
    """

    def __init__(self, items: Mapping[str, T] | None = None) -> None:
        super().__init__()
        self._created: list[float] = []  # creation times, parallel to _order
        self._order: list[tuple[float, str, int, T]] = []  # (created_at, name, serial, item)
        self._serials: dict[T, int] = {}
        self._counter = itertools.count()
        self._known: dict[T, list[float]] = {}  # the event times already logged, per item
        self._upcoming: list[_Event[T]] = []  # heap: events not yet passed
        self._passed: list[_Event[T]] = []  # sorted: events at or before the latest query
        self._status_of: dict[T, str] = {}  # visible items, at _status_now
        self._by_status: dict[str, dict[T, None]] = {}
        self._status_now = -math.inf
        self._stale: dict[T, None] = {}  # items whose status must be read again
        if items:
            self.update(items)

    # --- the mapping ------------------------------------------------------------------------

    def __setitem__(self, name: str, item: T) -> None:
        previous = self.get(name)
        if previous is item:
            return
        if previous is not None:
            self._forget(previous)
        super().__setitem__(name, item)
        self._remember(item)

    def __delitem__(self, name: str) -> None:
        item = self[name]
        super().__delitem__(name)
        self._forget(item)

    def pop(self, name: str, *default: Any) -> Any:
        if name in self:
            item = self[name]
            del self[name]
            return item
        if default:
            return default[0]
        raise KeyError(name)

    def popitem(self) -> tuple[str, T]:
        name, item = super().popitem()
        self._forget(item)
        return name, item

    def clear(self) -> None:
        for name in list(self):
            del self[name]

    def setdefault(self, name: str, default: T) -> T:
        if name not in self:
            self[name] = default
        return self[name]

    def update(self, *args: Any, **kwargs: T) -> None:
        for name, item in dict(*args, **kwargs).items():
            self[name] = item

    def __ior__(self, other: Any) -> Self:  # type: ignore[override,misc]
        self.update(other)
        return self

    def copy(self) -> dict[str, T]:
        return dict(self)

    def __reduce__(self) -> tuple[type[IndexedTable[T]], tuple[dict[str, T]]]:
        # Copies and pickles are rebuilt from the items, indexes and all.
        return type(self), (dict(self),)

    # --- keeping the indexes ------------------------------------------------------------------

    def _remember(self, item: T) -> None:
        serial = next(self._counter)
        self._serials[item] = serial
        entry = (item.created_at, item.name, serial, item)
        order = self._order
        # Items arrive in creation order, except those created with a future creation time
        # (a tuning job's later waves): then insert, near the end.
        if not order or entry > order[-1]:
            order.append(entry)
            self._created.append(item.created_at)
        else:
            index = bisect.bisect_left(order, entry)
            order.insert(index, entry)
            self._created.insert(index, item.created_at)
        self._log_events(item)
        item.watch(lambda: self._log_events(item))

    def _forget(self, item: T) -> None:
        item.watch(None)
        serial = self._serials.pop(item)
        index = bisect.bisect_left(self._order, (item.created_at, item.name, serial))
        del self._order[index]
        del self._created[index]
        self._known.pop(item, None)  # its events stay, and are skipped: it is no longer here
        self._stale.pop(item, None)
        status = self._status_of.pop(item, None)
        if status is not None:
            del self._by_status[status][item]

    def _log_events(self, item: T) -> None:
        serial = self._serials.get(item)
        if serial is None:
            return
        self._stale[item] = None
        times = list(item.event_times())
        upcoming = self._upcoming
        known = self._known.get(item)
        if known is None:
            self._known[item] = times
            for when in times:
                heapq.heappush(upcoming, (when, serial, item))
            return
        for when in times:
            if when not in known:
                known.append(when)
                heapq.heappush(upcoming, (when, serial, item))

    def _catch_up(self, now: float) -> bool:
        """Move every event at or before ``now`` to the sorted list of passed events, and
        bring the status index to ``now``; False if it cannot be (``now`` is before its time)."""
        upcoming, passed, stale = self._upcoming, self._passed, self._stale
        while upcoming and upcoming[0][0] <= now:
            event = heapq.heappop(upcoming)
            stale[event[2]] = None
            if not passed or event >= passed[-1]:
                passed.append(event)
            else:  # the clock went back, or an event was logged after its time
                bisect.insort(passed, event)
        if now < self._status_now:
            return False
        self._status_now = now
        status_of, by_status = self._status_of, self._by_status
        for item in stale:
            if item not in self._serials:
                continue  # removed since
            old = status_of.pop(item, None)
            if old is not None:
                del by_status[old][item]
            if item.visible(now):
                new = status_of[item] = item.status(now)
                by_status.setdefault(new, {})[item] = None
        stale.clear()
        return True

    # --- queries ------------------------------------------------------------------------------

    def changed_after(self, after: float, now: float, limit: float) -> list[T] | None:
        """Every item visible at ``now`` with an event in (``after``, ``now``], and maybe some
        others (callers check); None when more than ``limit`` events are in the window."""
        self._catch_up(now)
        passed = self._passed
        start = bisect.bisect_right(passed, (after, math.inf))
        if len(passed) - start > limit:
            return None
        candidates = dict.fromkeys(event[2] for event in passed[start:])
        return [item for item in candidates if item in self._serials and item.visible(now)]

    def next_event_time(self) -> float | None:
        """The earliest logged event not yet passed (it may no longer hold), if any."""
        return self._upcoming[0][0] if self._upcoming else None

    def with_status(self, status: str, now: float) -> list[T] | None:
        """The items with ``status`` at ``now`` (all visible), in no particular order; None
        when the status index cannot answer for ``now``."""
        if not self._catch_up(now):
            return None
        return [item for item in self._by_status.get(status, ()) if item.status(now) == status]

    def count_with_status(self, status: str, now: float) -> int | None:
        """How many items have ``status`` at ``now``; None as for ``with_status``."""
        if not self._catch_up(now):
            return None
        return len(self._by_status.get(status, ()))

    def in_creation_order(
        self,
        now: float,
        *,
        descending: bool,
        created_after: float | None = None,
        created_before: float | None = None,
        position: tuple[float, str] | None = None,
    ) -> Iterator[T]:
        """The items visible at ``now``, by (creation time, name), created in the open interval
        (``created_after``, ``created_before``), from just past the key ``position``."""
        created, order = self._created, self._order
        low, high = 0, bisect.bisect_right(created, now)
        if created_after is not None:
            low = bisect.bisect_right(created, created_after)
        if created_before is not None:
            high = min(high, bisect.bisect_left(created, created_before))
        if position is not None:
            if descending:
                high = min(high, bisect.bisect_left(order, position))
            else:
                low = max(low, bisect.bisect_left(order, (*position, math.inf)))
        indexes = range(high - 1, low - 1, -1) if descending else range(low, high)
        for index in indexes:
            yield order[index][3]


# When list_indexed reads the indexes rather than walking the items (both give the same answer):
# a LastModifiedTimeAfter window holding at most this many events per item, and a StatusEquals
# status that at most this share of the items have.
WINDOW_EVENTS_PER_ITEM = 1.0
RARE_STATUS_SHARE = 0.125

_TIME_FILTERS = (
    "CreationTimeAfter",
    "CreationTimeBefore",
    "LastModifiedTimeAfter",
    "LastModifiedTimeBefore",
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _creation_position(key: list[Any]) -> tuple[float, str] | None:
    """The (creation time, name) a CreationTime token points at; None if it is not one."""
    if len(key) != 3 or not (_is_number(key[0]) and key[0] == key[1] and isinstance(key[2], str)):
        return None
    return float(key[1]), key[2]


@dataclass(frozen=True)
class _Query:
    """One List request against an ``IndexedTable`` at ``now``, its page settings checked."""

    params: dict[str, Any]
    now: float
    summarize: Callable[[Any], dict[str, Any]]
    sort_by: str
    descending: bool
    max_results: int

    def listed(self, item: Indexable) -> Listed:
        now = self.now
        return Listed(
            name=item.name,
            created=item.created_at,
            modified=item.last_modified(now),
            status=item.status(now),
            summarize=lambda: self.summarize(item),
        )

    def key(self, item: Indexable) -> list[Any]:
        """``_sort_key`` of the item, reading only what the sort field needs."""
        field = _SORT_FIELDS[self.sort_by]
        value: Any = item.created_at
        if field == "name":
            value = item.name
        elif field == "status":
            value = item.status(self.now)
        elif field == "metric":
            value = None
        return [value if value is not None else "", item.created_at, item.name]

    def after(self) -> list[Any] | None:
        token = self.params.get("NextToken")
        return _decode(token, self.sort_by, self.descending) if token else None

    def page(self, found: list[T]) -> tuple[list[T], str | None]:
        """The first ``max_results`` of ``found`` (one more than a page, in order) and the
        token past them, if more were found."""
        scanned = found[: self.max_results]
        token = None
        if len(found) > self.max_results:
            token = _encode(self.key(scanned[-1]), self.sort_by, self.descending)
        return scanned, token

    def next_in_order(self, items: Iterable[T], after: list[Any] | None, in_order: bool) -> list[T]:
        """Up to ``max_results + 1`` of ``items`` past the token, in the page's order;
        ``in_order``: ``items`` already are in that order and past the token."""
        count = self.max_results + 1
        if in_order:
            return list(itertools.islice(items, count))
        if after is not None:
            descending = self.descending
            items = (
                item
                for item in items
                if (self.key(item) < after if descending else self.key(item) > after)
            )
        # Keys are distinct (names are), so this is sorted(...)[:count].
        pick = heapq.nlargest if self.descending else heapq.nsmallest
        return pick(count, items, key=self.key)


def list_indexed(
    params: dict[str, Any],
    table: IndexedTable[T],
    now: float,
    summarize: Callable[[T], dict[str, Any]],
    *,
    paging: Paging = AWS_PAGING,
    default_max: int = 10,
) -> tuple[list[dict[str, Any]], str | None]:
    """``list_page`` of the items of ``table`` visible at ``now`` (newest first by default),
    reading the state of as few items as it can (``_list_aws``, ``_list_exact``)."""
    sort_by, descending, max_results = _page_settings(
        params, "CreationTime", "Descending", default_max
    )
    query = _Query(params, now, summarize, sort_by, descending, max_results)
    if not all(params.get(key) is None or _is_number(params[key]) for key in _TIME_FILTERS):
        # Not plain numbers: list_page's comparisons decide what that means, as before.
        visible = (item for item in table.values() if item.visible(now))
        return list_page(params, map(query.listed, visible), paging=paging, default_max=default_max)
    if paging.filters_first:
        return _list_exact(query, table)
    return _list_aws(query, table, paging)


def _list_aws(
    query: _Query, table: IndexedTable[T], paging: Paging
) -> tuple[list[dict[str, Any]], str | None]:
    """Cut the page in sort order (creation order: from the token's position, ``max_results``
    items and one more; another order: the best of every item), then filter it."""
    params = query.params
    after = query.after()
    by_creation = _SORT_FIELDS[query.sort_by] == "created"
    position = _creation_position(after) if after is not None and by_creation else None
    in_order = by_creation and (after is None or position is not None)
    bounds: dict[str, Any] = {}
    if paging.creation_time_bounds_scan:
        bounds = {
            "created_after": params.get("CreationTimeAfter"),
            "created_before": params.get("CreationTimeBefore"),
        }
    walk = table.in_creation_order(
        query.now, descending=query.descending, position=position, **bounds
    )
    scanned, token = query.page(query.next_in_order(walk, after, in_order))
    page = [item for item in scanned if _passes(query.listed(item), params)]
    return [query.summarize(item) for item in page], token


def _exact_from_index(
    query: _Query, table: IndexedTable[T], name_contains: str
) -> tuple[list[dict[str, Any]], str | None] | None:
    """The exact page from an index that holds the answer (a small ``LastModifiedTimeAfter``
    window, a rare ``StatusEquals``), or None when neither does."""
    params, now = query.params, query.now
    modified_after = params.get("LastModifiedTimeAfter")
    candidates: Iterable[T] | None = None
    if modified_after is not None:
        candidates = table.changed_after(
            modified_after, now, limit=len(table) * WINDOW_EVENTS_PER_ITEM
        )
    status = params.get("StatusEquals")
    if candidates is None and status:
        count = table.count_with_status(status, now)
        if count is not None and count <= len(table) * RARE_STATUS_SHARE:
            candidates = table.with_status(status, now) or ()
    if candidates is None:
        return None
    return list_page(
        params,
        [query.listed(item) for item in candidates if name_contains in item.name.lower()],
        paging=EXACT_PAGING,
        default_max=query.max_results,
    )


def _list_exact(query: _Query, table: IndexedTable[T]) -> tuple[list[dict[str, Any]], str | None]:
    """Filter first, then page, reading the indexes where they know the answer:

    * ``LastModifiedTimeAfter`` with a small window: the items with a transition in it;
    * ``StatusEquals`` a rare status: the items with that status;
    * otherwise in CreationTime order: the items from the token's position on, until the page
      is full; in another order: every item, but only what that order and the filters need.
    """
    params, now = query.params, query.now
    name_contains = (params.get("NameContains") or "").lower()
    modified_after = params.get("LastModifiedTimeAfter")
    status = params.get("StatusEquals")
    indexed = _exact_from_index(query, table, name_contains)
    if indexed is not None:
        return indexed

    modified_before = params.get("LastModifiedTimeBefore")
    check_modified = modified_after is not None or modified_before is not None

    def passes(item: T) -> bool:
        # list_page's _passes, for what in_creation_order has not already checked.
        if name_contains not in item.name.lower():
            return False
        if status and item.status(now) != status:
            return False
        if check_modified:
            modified = item.last_modified(now)
            if modified_after is not None and not modified > modified_after:
                return False
            if modified_before is not None and not modified < modified_before:
                return False
        return True

    after = query.after()
    by_creation = _SORT_FIELDS[query.sort_by] == "created"
    position = _creation_position(after) if after is not None and by_creation else None
    in_order = by_creation and (after is None or position is not None)
    matching: Iterable[T] = filter(
        passes,
        table.in_creation_order(
            now,
            descending=query.descending,
            created_after=params.get("CreationTimeAfter"),
            created_before=params.get("CreationTimeBefore"),
            position=position,
        ),
    )
    page, token = query.page(query.next_in_order(matching, after, in_order))
    return [query.summarize(item) for item in page], token
