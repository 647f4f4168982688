"""``runner.sweeps``: where a bounded listing stops, and how a kind's way of being followed is
chosen from measured cost."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from structlog.testing import capture_logs

from runner.config import Rate, RateLimits
from runner.kinds import PROCESSING, TRAINING, TUNING
from runner.naming import RUN_ID_TAG
from runner.session import AwsCaller
from runner.sweeps import (
    PAGE_SIZE,
    Strategy,
    SweepChoice,
    list_window,
    measured_skew,
    run_tag,
    search_resource,
    search_window,
)

NOW = 1_800_000_000.0


def summary(name: str, created: float) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "TrainingJobStatus": "InProgress",
        "CreationTime": dt.datetime.fromtimestamp(created, dt.UTC),
    }


class Pages:
    """A fake SageMaker: hands out the given pages in order, and records each request; they are
    read through the real ``AwsCaller.pages``."""

    pages = AwsCaller.pages

    def __init__(self, *pages: list[dict[str, Any]], last_has_token: bool = True) -> None:
        self.answers = list(pages)
        self.last_has_token = last_has_token
        self.requests: list[dict[str, Any]] = []

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        self.requests.append({"operation": operation, **params})
        page = self.answers[len(self.requests) - 1]
        more = len(self.requests) < len(self.answers) or self.last_has_token
        key = "Results" if operation == "Search" else "TrainingJobSummaries"
        body = [{"TrainingJob": s} for s in page] if operation == "Search" else page
        return {key: body, **({"NextToken": f"t{len(self.requests)}"} if more else {})}


def full_page(start: float, step: float = 1.0) -> list[dict[str, Any]]:
    return [summary(f"j-{start - i * step:.0f}", start - i * step) for i in range(PAGE_SIZE)]


async def test_a_list_sweep_sorts_newest_first_and_filters_on_the_floor_alone() -> None:
    call = Pages([summary("a", NOW)], last_has_token=False)
    result = await list_window(call, TRAINING, NOW - 60, page_cap=5)
    (request,) = call.requests
    assert request["SortBy"] == "CreationTime" and request["SortOrder"] == "Descending"
    assert request["MaxResults"] == PAGE_SIZE
    assert request["CreationTimeAfter"] == dt.datetime.fromtimestamp(NOW - 60, dt.UTC)
    assert not {"LastModifiedTimeAfter", "NameContains", "StatusEquals"} & set(request)
    assert result.complete and result.pages == 1


async def test_a_list_sweep_stops_at_the_page_that_reaches_the_floor() -> None:
    # Filter after the page (AWS's pessimistic reading): full pages, then one that crossed the
    # floor, with more tokens behind it that only lead into the history.
    floor = NOW - 250
    call = Pages(full_page(NOW), full_page(NOW - 100), full_page(NOW - 200), full_page(NOW - 300))
    result = await list_window(call, TRAINING, floor, page_cap=20)
    assert result.pages == 3 and result.complete


async def test_a_short_page_with_a_token_ends_the_sweep() -> None:
    # Only CreationTimeAfter filters: a page that lost summaries lost older ones.
    call = Pages(full_page(NOW), full_page(NOW - 100)[:40], [], [])
    result = await list_window(call, TRAINING, NOW - 1000, page_cap=20)
    assert result.pages == 2 and result.complete


async def test_the_page_cap_ends_a_sweep_and_says_what_it_reached() -> None:
    call = Pages(*(full_page(NOW - 100 * i) for i in range(10)))
    result = await list_window(call, TRAINING, NOW - 5000, page_cap=3)
    assert result.pages == 3 and not result.complete
    assert result.oldest == NOW - 299
    assert result.reached(NOW - 299) and not result.reached(NOW - 300)


@pytest.mark.parametrize("search", [False, True])
async def test_each_page_is_handed_over_before_the_next_is_asked_for(search: bool) -> None:
    call = Pages(full_page(NOW), full_page(NOW - 100), full_page(NOW - 200))
    handed: list[tuple[int, str]] = []  # (requests sent by then, the page's first job)

    def on_page(page: list[dict[str, Any]]) -> None:
        handed.append((len(call.requests), page[0]["TrainingJobName"]))

    if search:
        tag = (RUN_ID_TAG, "run-1")
        await search_window(call, TRAINING, tag, NOW - 1000, page_cap=3, on_page=on_page)
    else:
        await list_window(call, TRAINING, NOW - 1000, page_cap=3, on_page=on_page)
    # An end on the first page is taken in while the later pages are still to be read.
    assert handed == [(1, f"j-{NOW:.0f}"), (2, f"j-{NOW - 100:.0f}"), (3, f"j-{NOW - 200:.0f}")]


async def test_a_search_sweep_filters_by_the_run_tag_and_the_floor() -> None:
    call = Pages([summary("a", NOW)], last_has_token=False)
    result = await search_window(call, TRAINING, (RUN_ID_TAG, "run-1"), NOW - 60, page_cap=5)
    (request,) = call.requests
    assert request["Resource"] == "TrainingJob" and request["SortOrder"] == "Descending"
    filters = request["SearchExpression"]["Filters"]
    assert {"Name": f"Tags.{RUN_ID_TAG}", "Operator": "Equals", "Value": "run-1"} in filters
    assert any(f["Name"] == "CreationTime" and f["Operator"] == "GreaterThan" for f in filters)
    assert result.complete and [s["TrainingJobName"] for s in result.summaries] == ["a"]


def test_search_is_for_training_and_tuning_jobs() -> None:
    assert search_resource(TRAINING) == "TrainingJob"
    assert search_resource(TUNING) == "HyperParameterTuningJob"
    assert search_resource(PROCESSING) is None  # SearchRecord has no ProcessingJob


@dataclass
class FakeJob:
    request: dict[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    submitted_at: float = NOW


def tagged(value: str | None) -> FakeJob:
    tags = [{"Key": RUN_ID_TAG, "Value": value}] if value else []
    return FakeJob(request={"Tags": tags})


def test_a_run_tag_is_one_every_job_shares() -> None:
    assert run_tag([tagged("r1"), tagged("r1")]) == (RUN_ID_TAG, "r1")
    assert run_tag([tagged("r1"), tagged("r2")]) is None
    assert run_tag([tagged("r1"), tagged(None)]) is None


def test_skew_is_measured_on_the_service_clock() -> None:
    jobs = [FakeJob(created_at=NOW + 7, submitted_at=NOW), FakeJob(submitted_at=NOW)]
    assert measured_skew(jobs) == 7
    assert measured_skew([FakeJob()]) == 0.0


UNLIMITED = RateLimits.none()  # every call weighs 1: costs are call counts


def test_a_sweep_is_tried_before_it_is_measured() -> None:
    choice = SweepChoice(TRAINING, UNLIMITED)
    assert choice.choose(50, tag=None) is Strategy.LIST


def test_few_jobs_are_cheaper_to_describe_than_a_long_listing() -> None:
    choice = SweepChoice(PROCESSING, UNLIMITED, list_pages=30.0)
    with capture_logs() as events:
        assert choice.choose(8, tag=None) is Strategy.DESCRIBE
    (chosen,) = [e for e in events if e["event"] == "sweep.strategy_chosen"]
    assert chosen["strategy"] == "describe" and chosen["jobs"] == 8
    assert chosen["list_pages"] == 30.0 and chosen["budget_s"] == {"describe": 8, "list": 30}


def test_search_wins_when_the_listing_walks_other_peoples_jobs() -> None:
    choice = SweepChoice(TRAINING, UNLIMITED, strategy=Strategy.LIST, list_pages=12.0)
    assert choice.choose(150, tag=(RUN_ID_TAG, "r1")) is Strategy.SEARCH
    # Without a shared run tag there is nothing to search by.
    assert SweepChoice(TRAINING, UNLIMITED, list_pages=12.0).choose(150, None) is Strategy.LIST


def test_costs_are_weighed_by_each_operations_budget() -> None:
    limits = RateLimits(rates={"List*": Rate(1, 1), "Describe*": Rate(20, 20)})
    # 10 List pages take 10 s of budget, 100 Describes 5 s.
    choice = SweepChoice(PROCESSING, limits, list_pages=10.0)
    assert choice.choose(100, tag=None) is Strategy.DESCRIBE


def test_a_choice_changes_only_for_a_clear_gain_and_is_logged_once() -> None:
    choice = SweepChoice(PROCESSING, UNLIMITED, strategy=Strategy.LIST, list_pages=12.0)
    with capture_logs() as events:
        assert choice.choose(10, tag=None) is Strategy.LIST  # 12 against 10: kept
        assert choice.choose(10, tag=None) is Strategy.LIST
        choice.record_pages(Strategy.LIST, 40)
        assert choice.choose(10, tag=None) is Strategy.DESCRIBE
        assert choice.choose(10, tag=None) is Strategy.DESCRIBE
    assert [e["strategy"] for e in events if e["event"] == "sweep.strategy_chosen"] == ["describe"]


def test_a_way_that_failed_for_good_is_not_chosen_again() -> None:
    choice = SweepChoice(TRAINING, UNLIMITED)
    choice.disable(Strategy.LIST)
    assert choice.choose(500, tag=(RUN_ID_TAG, "r1")) is Strategy.SEARCH
    choice.disable(Strategy.SEARCH)
    assert choice.choose(500, tag=(RUN_ID_TAG, "r1")) is Strategy.DESCRIBE


@pytest.mark.parametrize("kind", [TRAINING, PROCESSING])
def test_every_sweepable_kind_can_be_described(kind: Any) -> None:
    choice = SweepChoice(kind, UNLIMITED)
    assert Strategy.DESCRIBE in choice.costs(3, None).seconds


def test_within_the_interval_the_cheapest_way_wins_and_past_it_the_quickest() -> None:
    limits = RateLimits(rates={"List*": Rate(1, 1), "Describe*": Rate(20, 20)})
    choice = SweepChoice(PROCESSING, limits, list_pages=3.0)
    with capture_logs() as events:
        # 3 pages take 3 s of the List budget, 40 Describes 2 s: both within a 5 s interval,
        # where an end waits the interval either way; Describe is the lighter on its budget.
        assert choice.choose(40, tag=None, interval=5.0) is Strategy.DESCRIBE
    (chosen,) = [e for e in events if e["event"] == "sweep.strategy_chosen"]
    assert chosen["delay_s"] == {"describe": 5.0, "list": 5.0}
    # 200 Describes take 10 s a round: an end would wait 10 s, against the listing's 5 s.
    assert SweepChoice(PROCESSING, limits, list_pages=3.0).choose(200, None, interval=5.0) is (
        Strategy.LIST
    )


def test_on_a_tie_a_sweep_wins_over_describe() -> None:
    # One job: one Describe or one page, each a call; the page covers the jobs that come later.
    assert SweepChoice(TRAINING, UNLIMITED).choose(1, tag=None, interval=5.0) is Strategy.LIST
