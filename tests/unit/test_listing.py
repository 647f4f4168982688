"""``emulator.listing``: AWS's page-then-filter (and the exact filter-then-page), with
keyset tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.errors import AwsError
from emulator.listing import AWS_PAGING, EXACT_PAGING, Listed, Paging, list_page

STATUSES = ["InProgress", "Completed", "Failed", "Stopping", "Stopped"]
# Few distinct times, so that ties on the sort field (and on creation time) are common.
BASE = 1_700_000_000.0
TIMES = st.integers(min_value=0, max_value=12).map(lambda offset: BASE + offset)


@dataclass(frozen=True)
class Item:
    name: str
    created: float
    modified: float | None
    status: str | None

    def listed(self) -> Listed:
        return Listed(
            self.name, self.created, self.modified, self.status, lambda: {"Name": self.name}
        )


@st.composite
def items(draw: st.DrawFn, min_size: int = 0, max_size: int = 40) -> list[Item]:
    names = draw(
        st.lists(
            st.text(alphabet="abcAB-", min_size=1, max_size=5),
            min_size=min_size,
            max_size=max_size,
            unique_by=str.lower,
        )
    )
    result = []
    for name in names:
        created = draw(TIMES)
        modified = draw(st.one_of(st.none(), st.integers(0, 5).map(lambda d, c=created: c + d)))
        status = draw(st.one_of(st.none(), st.sampled_from(STATUSES)))
        result.append(Item(name, created, modified, status))
    return result


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if draw(st.booleans()):
        params["NameContains"] = draw(st.text(alphabet="abAB", min_size=1, max_size=2))
    if draw(st.booleans()):
        params["StatusEquals"] = draw(st.sampled_from(STATUSES))
    for key in (
        "CreationTimeAfter",
        "CreationTimeBefore",
        "LastModifiedTimeAfter",
        "LastModifiedTimeBefore",
    ):
        if draw(st.integers(0, 3)) == 0:
            params[key] = draw(TIMES)
    if draw(st.booleans()):
        params["SortBy"] = draw(st.sampled_from(["Name", "CreationTime", "Status"]))
    if draw(st.booleans()):
        params["SortOrder"] = draw(st.sampled_from(["Ascending", "Descending"]))
    return params


FIELD = {"Name": "name", "CreationTime": "created", "Status": "status"}


def key_of(item: Item, sort_by: str) -> tuple[Any, ...]:
    # The documented order: the sort field, then creation time, then name (a total order).
    return (getattr(item, FIELD[sort_by]) or "", item.created, item.name)


def passes(item: Item, params: dict[str, Any]) -> bool:
    """The filters, written out independently of the module under test."""
    modified = item.created if item.modified is None else item.modified
    checks = [
        "NameContains" not in params or params["NameContains"].lower() in item.name.lower(),
        "StatusEquals" not in params or item.status == params["StatusEquals"],
        "CreationTimeAfter" not in params or item.created > params["CreationTimeAfter"],
        "CreationTimeBefore" not in params or item.created < params["CreationTimeBefore"],
        "LastModifiedTimeAfter" not in params or modified > params["LastModifiedTimeAfter"],
        "LastModifiedTimeBefore" not in params or modified < params["LastModifiedTimeBefore"],
    ]
    return all(checks)


def expected(collection: list[Item], params: dict[str, Any]) -> list[str]:
    sort_by = params.get("SortBy", "CreationTime")
    descending = params.get("SortOrder", "Descending") == "Descending"
    chosen = sorted(
        (item for item in collection if passes(item, params)),
        key=lambda item: key_of(item, sort_by),
        reverse=descending,
    )
    return [item.name for item in chosen]


PAGINGS = [AWS_PAGING, Paging(creation_time_bounds_scan=True), EXACT_PAGING]


def page_through(
    collection: list[Item],
    params: dict[str, Any],
    max_results: int,
    limit: int = 1000,
    paging: Paging = AWS_PAGING,
) -> list[list[str]]:
    pages = []
    token: str | None = None
    for _ in range(limit):
        request = {**params, "MaxResults": max_results}
        if token:
            request["NextToken"] = token
        summaries, token = list_page(request, [item.listed() for item in collection], paging=paging)
        pages.append([summary["Name"] for summary in summaries])
        if token is None:
            return pages
    raise AssertionError("the listing never ended")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    collection=items(),
    params=filters(),
    max_results=st.integers(1, 100),
    paging=st.sampled_from(PAGINGS),
)
def test_paging_yields_exactly_the_filtered_sorted_set(
    collection: list[Item], params: dict[str, Any], max_results: int, paging: Paging
) -> None:
    pages = page_through(collection, params, max_results, paging=paging)
    seen = [name for page in pages for name in page]
    assert seen == expected(collection, params)
    assert len(seen) == len(set(seen))


@settings(max_examples=150, deadline=None)
@given(
    collection=items(),
    params=filters(),
    max_results=st.integers(1, 10),
    bounded=st.booleans(),
)
def test_aws_cuts_the_page_before_filtering(
    collection: list[Item], params: dict[str, Any], max_results: int, bounded: bool
) -> None:
    # ListTrainingJobs' API reference: MaxResults items are retrieved first, then filtered.
    # The walk covers every item (or, when CreationTime bounds the scan, those created in
    # range) MaxResults at a time, whatever the other filters match.
    paging = Paging(creation_time_bounds_scan=bounded)
    pages = page_through(collection, params, max_results, paging=paging)
    in_scope = [
        item
        for item in collection
        if not bounded
        or (
            ("CreationTimeAfter" not in params or item.created > params["CreationTimeAfter"])
            and ("CreationTimeBefore" not in params or item.created < params["CreationTimeBefore"])
        )
    ]
    assert len(pages) == max(1, -(-len(in_scope) // max_results))
    assert all(len(page) <= max_results for page in pages)
    if len(expected(collection, params)) < len(in_scope):
        # Something was filtered out: some page is short (empty pages are allowed too).
        assert any(len(page) < max_results for page in pages)


@settings(max_examples=100, deadline=None)
@given(collection=items(), params=filters(), max_results=st.integers(1, 10))
def test_exact_paging_filters_first(
    collection: list[Item], params: dict[str, Any], max_results: int
) -> None:
    pages = page_through(collection, params, max_results, paging=EXACT_PAGING)
    # Every page but the last is full, and the last is empty only when nothing matches:
    # no empty or short pages in the middle (AWS's page-then-filter gives those).
    for page in pages[:-1]:
        assert len(page) == max_results
    if expected(collection, params):
        assert pages[-1]
    else:
        assert pages == [[]]
    total = len(expected(collection, params))
    assert len(pages) == max(1, -(-total // max_results))


@settings(max_examples=200, deadline=None)
@given(
    collection=items(min_size=1),
    extra=items(max_size=15),
    params=filters(),
    max_results=st.integers(1, 8),
    pages_before_insert=st.integers(1, 4),
)
def test_token_survives_inserts_between_pages(
    collection: list[Item],
    extra: list[Item],
    params: dict[str, Any],
    max_results: int,
    pages_before_insert: int,
) -> None:
    known = {item.name.lower() for item in collection}
    new_items = [
        Item(f"new{item.name}", item.created, item.modified, item.status)
        for item in extra
        if f"new{item.name}".lower() not in known
    ]
    sort_by = params.get("SortBy", "CreationTime")
    descending = params.get("SortOrder", "Descending") == "Descending"
    live = list(collection)
    seen: list[str] = []
    token: str | None = None
    cursor: tuple[Any, ...] | None = None
    inserted_at: tuple[Any, ...] | None = None
    pages = 0
    while True:
        request = {**params, "MaxResults": max_results}
        if token:
            request["NextToken"] = token
        summaries, token = list_page(request, [item.listed() for item in live])
        names = [summary["Name"] for summary in summaries]
        seen.extend(names)
        pages += 1
        # Where the client now is: past the last item AWS *scanned* for this page (the page
        # is cut before it is filtered), which may lie beyond the last one returned.
        ordered = sorted((key_of(item, sort_by) for item in live), reverse=descending)
        if cursor is not None:
            ordered = [k for k in ordered if (k < cursor if descending else k > cursor)]
        if ordered[:max_results]:
            cursor = ordered[:max_results][-1]
        if token is None:
            break
        if pages == pages_before_insert:
            live.extend(new_items)
            inserted_at = cursor
    assert len(seen) == len(set(seen)), "an item was listed twice"
    # Every item that was there from the start and matches is listed exactly once ...
    original = expected(collection, params)
    assert [name for name in seen if not name.startswith("new")] == original
    # ... and the whole listing is in order, new items included.
    by_name = {item.name: item for item in live}
    keys = [key_of(by_name[name], sort_by) for name in seen]
    assert keys == sorted(keys, reverse=descending)
    # A new item shows up exactly when it sorts after the position the client had reached.
    if inserted_at is not None:
        for item in new_items:
            if not passes(item, params):
                assert item.name not in seen
                continue
            after = (
                key_of(item, sort_by) < inserted_at
                if descending
                else key_of(item, sort_by) > inserted_at
            )
            assert (item.name in seen) == after


def test_a_page_with_no_match_still_has_a_token() -> None:
    # boto/boto3#2838: NameContains matching none of the newest MaxResults jobs gives an empty
    # page and a NextToken; the match is further on.
    collection = [Item(f"job{i:02d}", BASE + i, None, "Completed") for i in range(25)]
    collection.append(Item("avenger-1", BASE - 1, None, "Completed"))
    listed = [item.listed() for item in collection]
    summaries, token = list_page({"NameContains": "avenger"}, listed)
    assert summaries == [] and token is not None
    assert page_through(collection, {"NameContains": "avenger"}, 10) == [[], [], ["avenger-1"]]
    assert page_through(collection, {"NameContains": "avenger"}, 10, paging=EXACT_PAGING) == [
        ["avenger-1"]
    ]


def test_default_is_newest_first_ten_per_page() -> None:
    collection = [Item(f"job{i:02d}", BASE + i, None, "Completed") for i in range(25)]
    summaries, token = list_page({}, [item.listed() for item in collection])
    assert [s["Name"] for s in summaries] == [f"job{i:02d}" for i in range(24, 14, -1)]
    assert token is not None


def test_summaries_are_built_only_for_the_page() -> None:
    built: list[str] = []

    def listed(i: int) -> Listed:
        name = f"job{i}"

        def summarize() -> dict[str, Any]:
            built.append(name)
            return {"Name": name}

        return Listed(name, BASE + i, None, None, summarize)

    list_page({"MaxResults": 3}, [listed(i) for i in range(50)])
    assert built == ["job49", "job48", "job47"]


@pytest.mark.parametrize("max_results", [-1, 101])
def test_max_results_out_of_range(max_results: int) -> None:
    with pytest.raises(AwsError) as caught:
        list_page({"MaxResults": max_results}, [])
    assert caught.value.code == "ValidationException"


def test_unknown_sort_field() -> None:
    with pytest.raises(AwsError) as caught:
        list_page({"SortBy": "Size"}, [])
    assert caught.value.code == "ValidationException"


@pytest.mark.parametrize("token", ["not base64 at all!", "e30=", "bnVsbA=="])
def test_garbage_tokens_are_a_validation_error(token: str) -> None:
    with pytest.raises(AwsError) as caught:
        list_page({"NextToken": token}, [Item("a", BASE, None, None).listed()])
    assert caught.value.code == "ValidationException"
    assert "pagination token" in caught.value.message


def test_token_from_another_sort_order_is_refused() -> None:
    collection = [Item(f"job{i}", BASE + i, None, None).listed() for i in range(5)]
    _, token = list_page({"MaxResults": 2, "SortBy": "Name"}, collection)
    assert token is not None
    with pytest.raises(AwsError) as caught:
        list_page({"MaxResults": 2, "SortBy": "CreationTime", "NextToken": token}, collection)
    assert "sort order changed" in caught.value.message
    with pytest.raises(AwsError):
        list_page(
            {"MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending", "NextToken": token},
            collection,
        )
