"""Sweeps whose cost is bounded by the batch, not by the account's history.

A kind with many jobs in flight is followed by one listing per ``sweep_interval`` instead of a
Describe per job. On AWS a List page is cut *before* its filters apply (ListTrainingJobs' API
reference says so for ``StatusEquals``; field reports for ``NameContains`` and
``LastModifiedTimeAfter``; see ``emulator.listing``), and training jobs are never deleted, so a
filtered listing that pages to its end walks the account's whole history, 100 jobs a page,
under ListTrainingJobs' 2 requests/s. So a List sweep here:

* sorts ``SortBy=CreationTime, SortOrder=Descending`` explicitly. botocore's model says
  ListTrainingJobs' ``SortOrder`` defaults to ``Ascending`` while the operation's own doc says
  pages come "sorted according to the creation time, from the most current to the oldest";
  naming both leaves nothing to a default;
* filters on nothing but ``CreationTimeAfter`` = the *floor*: the oldest CreationTime (the
  service's clock, as AWS returned it for our jobs; for a job no answer has shown yet, its
  submit time moved onto the service's clock, ``runner.serviceclock``) of the jobs the sweep
  follows, less ``sweep_overlap``. Never the local clock: one minutes off the service's would
  put the floor after the jobs it must find. A delta filter (``LastModifiedTimeAfter``) would
  not save a page, since the page is cut first, and would hide where the scan is;
* stops following ``NextToken`` once a page reaches the floor: a page with a summary created at
  or before it, or a short page (with only the creation filter, what a cut page lost is older
  than the floor, and so is everything after it), or no token. Whether AWS applies
  ``CreationTimeAfter`` to the scan or to the page is not documented; either way, this stops
  within one page of the floor;
* takes at most ``sweep_page_cap`` pages. The jobs a capped sweep did not reach (created before
  the oldest summary it saw) are followed by paced per-job Describe from then on, which raises
  the floor of the next sweep.

For training and tuning jobs ``Search`` is a third way: filtered server-side by the run's tag
(``smrun:run-id``) and a ``CreationTime`` floor, its pages hold only matches (botocore's model
of ``SearchRequest.NextToken``: "If more than MaxResults resources match the specified
SearchExpression, the response includes a NextToken"), so its cost is set by the batch alone.
Search exists for the resources ``SearchRecord`` has a member for; the ones this module uses
are read from botocore's model, not listed by hand.

Which way a kind is followed is chosen from measured cost (``SweepChoice``): the pages the last
List or Search sweep took, against one Describe per job followed, each weighed by its
operation's budget (``RateLimits``), re-weighed at every sweep and logged as
``sweep.strategy_chosen`` when it changes. The choice is for detection delay first: a kind's
sweeps start every ``sweep_interval`` (start to start), and a kind followed by Describe is
Described once per interval, job after job across it (``Runner._describe_round``), never on the
per-job backoff that grows to 30 s; so an end is seen about max(interval, a round's budget
seconds) after it happens, whichever way, and the cheapest way is also the quickest. A job a complete sweep should have seen and did not
(eventual consistency, a listing that cannot see it) goes to Describe too: nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from runner.config import PollPolicy, RateLimits
from runner.kinds import JobKind
from runner.naming import RUN_ID_TAG
from runner.validation import service_model

log = structlog.get_logger("runner.sweeps")

PAGE_SIZE = 100  # the most any List or Search page holds (botocore: MaxResults max 100)
# A strategy replaces the current one only when it is this much cheaper: no flapping on noise.
SWITCH_FACTOR = 1.5
# Kinds Search is used for: jobs whose batches are large. Endpoints are searchable too, but
# an endpoint batch is small and its update is judged from Describe.
SEARCH_NOUNS = frozenset({"TrainingJob", "HyperParameterTuningJob"})


class Pager(Protocol):
    """What a sweep reads pages through: ``AwsCaller.pages`` (retried, rate-limited, tokens
    from botocore's paginator model)."""

    def pages(
        self, service: str, operation: str, *, max_pages: int | None = None, **params: Any
    ) -> AsyncIterator[dict[str, Any]]: ...


class Strategy(enum.Enum):
    LIST = "list"
    SEARCH = "search"
    DESCRIBE = "describe"


def search_resource(kind: JobKind) -> str | None:
    """The ``Search`` resource that finds jobs of ``kind`` (None: Search does not)."""
    record = service_model("sagemaker").shape_for("SearchRecord")
    members = getattr(record, "members", {})
    return kind.noun if kind.noun in SEARCH_NOUNS and kind.noun in members else None


def run_tag(jobs: Iterable[Any]) -> tuple[str, str] | None:
    """The ``smrun:run-id`` tag every one of ``jobs`` carries, if they share one."""
    values = set()
    for job in jobs:
        tags = {t["Key"]: t["Value"] for t in job.request.get("Tags") or []}
        values.add(tags.get(RUN_ID_TAG))
    if len(values) != 1:
        return None
    (value,) = values
    return (RUN_ID_TAG, value) if value else None


def service_time(job: Any, skew: float) -> float:
    """When ``job`` was created by the service's clock: its CreationTime once an answer showed
    it, else the local submit time moved by the skew measured on the other jobs."""
    return float(job.created_at) if job.created_at is not None else job.submitted_at + skew


def measured_skew(jobs: Iterable[Any], clock_offset: float = 0.0) -> float:
    """How far the service's clock is ahead of the local one: the median of (service
    CreationTime - local submit time) over jobs that show both; before any does,
    ``clock_offset`` (``runner.serviceclock``: from the answers' ``Date`` headers)."""
    gaps = sorted(job.created_at - job.submitted_at for job in jobs if job.created_at is not None)
    return gaps[len(gaps) // 2] if gaps else clock_offset


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _epoch(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, dt.datetime) else None


@dataclass
class SweepResult:
    """What one bounded sweep saw."""

    strategy: Strategy
    summaries: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    complete: bool = False  # every job created after the floor was on a page
    oldest: float | None = None  # the oldest CreationTime on any page (epoch seconds)

    def take(self, page: list[dict[str, Any]]) -> None:
        self.pages += 1
        self.summaries.extend(page)
        times = [t for t in (_epoch(s.get("CreationTime")) for s in page) if t is not None]
        if times:
            self.oldest = min(times) if self.oldest is None else min(self.oldest, *times)

    def reached(self, created: float) -> bool:
        """Whether this sweep covered a job created at ``created`` (service clock)."""
        return self.complete or (self.oldest is not None and created >= self.oldest)


PageTaker = Callable[[list[dict[str, Any]]], None]


async def list_window(
    caller: Pager, kind: JobKind, floor: float, page_cap: int, *, on_page: PageTaker | None = None
) -> SweepResult:
    """``List<Kind>`` newest first, down to ``floor`` or ``page_cap`` pages; ``on_page`` is
    given each page as it comes (an end on the first page is not kept waiting for the last)."""
    assert kind.list_operation and kind.list_key
    params: dict[str, Any] = {
        "MaxResults": PAGE_SIZE,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "CreationTimeAfter": _utc(floor),
    }
    result = SweepResult(Strategy.LIST)
    async for answer in caller.pages(
        "sagemaker", kind.list_operation, max_pages=page_cap, **params
    ):
        page = answer.get(kind.list_key, [])
        result.take(page)
        if on_page is not None:
            on_page(page)
        past_floor = result.oldest is not None and result.oldest <= floor
        if not answer.get("NextToken") or len(page) < PAGE_SIZE or past_floor:
            result.complete = True
            break
    return result


async def search_window(
    caller: Pager,
    kind: JobKind,
    tag: tuple[str, str],
    floor: float,
    page_cap: int,
    *,
    on_page: PageTaker | None = None,
) -> SweepResult:
    """``Search`` for the run's jobs of ``kind`` created after ``floor``, newest first;
    ``on_page`` as for ``list_window``."""
    resource = search_resource(kind)
    assert resource is not None
    params: dict[str, Any] = {
        "Resource": resource,
        "SearchExpression": {
            "Filters": [
                {"Name": f"Tags.{tag[0]}", "Operator": "Equals", "Value": tag[1]},
                {
                    "Name": "CreationTime",
                    "Operator": "GreaterThan",
                    "Value": _utc(floor).isoformat(),
                },
            ]
        },
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": PAGE_SIZE,
    }
    result = SweepResult(Strategy.SEARCH)
    async for answer in caller.pages("sagemaker", "Search", max_pages=page_cap, **params):
        page = [record[resource] for record in answer.get("Results", []) if resource in record]
        result.take(page)
        if on_page is not None:
            on_page(page)
        if not answer.get("NextToken"):
            result.complete = True
    return result


@dataclass(frozen=True)
class Costs:
    """Seconds of budget one sweep's worth of following costs, each way (None: not possible)."""

    jobs: int
    list_pages: float | None
    search_pages: float | None
    seconds: Mapping[Strategy, float]

    def cheapest(self) -> Strategy:
        return min(self.seconds, key=lambda strategy: self.seconds[strategy])

    def delays(self, interval: float) -> dict[Strategy, float]:
        """How long an end may wait to be seen, each way: a sweep or a Describe round reaches a
        job again one interval later, or one round later when the round takes longer."""
        return {strategy: max(interval, spent) for strategy, spent in self.seconds.items()}


def seconds_per_call(limits: RateLimits, operation: str) -> float:
    """A call's share of its budget: 1/rate seconds (1.0 for an operation with no budget)."""
    rate = limits.rate_for(operation)
    return 1.0 / rate.per_second if rate else 1.0


@dataclass
class SweepChoice:
    """One kind's measured sweep costs, and the way it is followed now."""

    kind: JobKind
    limits: RateLimits
    strategy: Strategy | None = None
    list_pages: float | None = None  # pages the last List sweep took (a capped one: the cap)
    search_pages: float | None = None
    searchable: bool = True  # False once Search failed for good
    listable: bool = True  # False once List failed for good
    describe_only: set[str] = field(default_factory=set)  # jobs a sweep cannot cover

    def disable(self, strategy: Strategy) -> None:
        """``strategy`` failed for good (no permission, say): never choose it again."""
        if strategy is Strategy.LIST:
            self.listable = False
        elif strategy is Strategy.SEARCH:
            self.searchable = False

    def record(self, result: SweepResult) -> None:
        self.record_pages(result.strategy, result.pages)

    def record_pages(self, strategy: Strategy, pages: int) -> None:
        """A sweep of ``strategy`` took ``pages`` pages (a capped one: the cap, a lower bound)."""
        if strategy is Strategy.LIST:
            self.list_pages = float(pages)
        elif strategy is Strategy.SEARCH:
            self.search_pages = float(pages)

    def costs(self, jobs: int, tag: tuple[str, str] | None) -> Costs:
        """The cost of each way for ``jobs`` jobs; an unmeasured sweep is estimated at the
        pages the batch's own jobs fill (the least it can cost), so that it gets measured."""
        own_pages = max(math.ceil(jobs / PAGE_SIZE), 1)
        seconds: dict[Strategy, float] = {
            Strategy.DESCRIBE: jobs * seconds_per_call(self.limits, self.kind.describe)
        }
        list_pages = self.list_pages if self.list_pages is not None else own_pages
        if self.listable and self.kind.list_operation:
            seconds[Strategy.LIST] = list_pages * seconds_per_call(
                self.limits, self.kind.list_operation
            )
        search_pages = self.search_pages if self.search_pages is not None else own_pages
        if self.searchable and tag is not None and search_resource(self.kind):
            seconds[Strategy.SEARCH] = search_pages * seconds_per_call(self.limits, "Search")
        return Costs(jobs, self.list_pages, self.search_pages, seconds)

    def choose(
        self, jobs: int, tag: tuple[str, str] | None, *, interval: float | None = None
    ) -> Strategy:
        """The way to follow the kind's ``jobs`` jobs for the next sweep; logged on a change.

        Chosen for the shortest detection delay, then the least budget: sweeps run every
        ``interval`` start to start, or back to back when one takes longer, and a Describe
        round looks at each job once per interval, so an end waits about max(interval, the
        way's budget seconds) either way (``Costs.delays``). Within the interval every way
        detects equally fast, and the one using the least of its budget wins."""
        costs = self.costs(jobs, tag)
        delays = costs.delays(interval or 0.0)
        # On a tie a sweep wins over Describe: one sweep also covers the jobs that come later.
        best = min(
            costs.seconds,
            key=lambda s: (delays[s], costs.seconds[s], s is Strategy.DESCRIBE),
        )
        current = self.strategy
        keep = (
            current in costs.seconds
            and costs.seconds[current] <= SWITCH_FACTOR * costs.seconds[best]  # type: ignore[index]
            and delays[current] <= SWITCH_FACTOR * delays[best]  # type: ignore[index]
        )
        if keep and current is not None:
            return current
        self.strategy = best
        log.info(
            "sweep.strategy_chosen",
            kind=self.kind.key,
            strategy=best.value,
            previous=current.value if current else None,
            jobs=jobs,
            list_pages=costs.list_pages,
            search_pages=costs.search_pages,
            describe_calls=jobs,
            budget_s={s.value: round(v, 3) for s, v in costs.seconds.items()},
            delay_s={s.value: round(v, 3) for s, v in delays.items()},
        )
        return best


def floor_of(jobs: Iterable[Any], skew: float, policy: PollPolicy) -> float:
    """The creation time a sweep of ``jobs`` reaches back to (service clock, less the margin)."""
    return min(service_time(job, skew) for job in jobs) - policy.sweep_overlap
