"""The emulator's indexed List path gives exactly what filtering and sorting every job gives.

``list_indexed`` answers ListTrainingJobs from the job store's indexes (creation order, the
log of transition times, jobs by status). Here random histories (jobs created at random
moments, some failing, some with Debugger rules, some stopped, tuning jobs whose later waves
have future creation times and are dropped when the tuning job stops, a clock that sometimes
goes back) are listed page by page both through the handler and through ``list_page`` over
every visible job, the plain reading of the semantics, under each paging (AWS's page-then-filter,
with and without CreationTime bounding the scan, and the exact filter-then-page), and the answers
must be the same: same summaries, same tokens, for every page.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import jobs, listing, tuning
from emulator.errors import AwsError
from emulator.listing import IndexedTable, Listed, list_page
from emulator.server import create_app
from emulator.state import OPERATIONS, Emulator, EmulatorConfig

BASE = 1_700_000_000.0
STATUSES = ["InProgress", "Completed", "Failed", "Stopping", "Stopped"]
# Times on a half-second grid: transitions, stops, filters and queries often coincide.
TIMES = st.integers(0, 80).map(lambda half_seconds: BASE + half_seconds / 2)
TUNING = tuning.TUNING
NAMES = ["alpha", "beta", "Gamma", "delta", "alpha-2", "BETA-x", "eps", "zeta", "eta", "theta"]


class Clock:
    def __init__(self) -> None:
        self.now = BASE

    def __call__(self) -> float:
        return self.now


def training_request(name: str, *, duration: int, fail: bool, rules: bool) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {"TrainingImage": "image:1", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": [{"Key": "emulator:duration-seconds", "Value": str(duration)}],
    }
    if fail:
        request["Tags"].append({"Key": "emulator:fail-reason", "Value": "boom"})
    if rules:
        request["DebugRuleConfigurations"] = [
            {"RuleConfigurationName": "loss", "RuleEvaluatorImage": "rules:1"}
        ]
    return request


def tuning_request(name: str, *, duration: int, children: int, parallel: int) -> dict[str, Any]:
    training = training_request("unused", duration=duration, fail=False, rules=False)
    definition = {
        key: training[key]
        for key in (
            "RoleArn",
            "AlgorithmSpecification",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
        )
    }
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "acc"},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": children,
                "MaxParallelTrainingJobs": parallel,
            },
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1", "MaxValue": "99"}]
            },
        },
        "TrainingJobDefinition": definition,
        "Tags": [{"Key": "emulator:duration-seconds", "Value": str(duration)}],
    }


def new_emulator() -> tuple[Emulator, Clock]:
    clock = Clock()
    # Exact paging: the index shortcuts under test serve only it (``check_everything`` tries
    # every paging, and leaves it so).
    config = EmulatorConfig(job_duration=10, stop_duration=1.5, paging=listing.EXACT_PAGING)
    emulator = Emulator(config, clock=clock)
    create_app(emulator)  # registers every operation
    return emulator, clock


def call(emulator: Emulator, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return OPERATIONS["sagemaker"][operation](emulator, params)
    except AwsError:
        return None  # a name taken, a job already ended, not visible yet: as on AWS


# --- the reference ---------------------------------------------------------------------------


def reference(emulator: Emulator, kind: jobs.JobKind, params: dict[str, Any]) -> dict[str, Any]:
    """ListTrainingJobs as list_page over every visible job (the emulator's first version)."""
    now = emulator.now()
    list_key, members = jobs._list_shape(kind.noun)
    items = [
        Listed(
            name=job.name,
            created=job.created_at,
            modified=job.last_modified(now),
            status=job.status(now),
            summarize=lambda job=job: jobs.summary(job, now, members),
        )
        for job in list(emulator.jobs_of(kind.key).values())
        if job.visible(now)
    ]
    page, token = list_page(params, items, paging=emulator.config.paging)
    response: dict[str, Any] = {list_key: page}
    if token:
        response["NextToken"] = token
    return response


@contextmanager
def forced(path: str) -> Iterator[None]:
    """Make list_indexed use its indexes always ("index"), never ("scan"), or as it decides."""
    saved = listing.WINDOW_EVENTS_PER_ITEM, listing.RARE_STATUS_SHARE
    if path == "index":
        listing.WINDOW_EVENTS_PER_ITEM = listing.RARE_STATUS_SHARE = math.inf
    elif path == "scan":
        listing.WINDOW_EVENTS_PER_ITEM = listing.RARE_STATUS_SHARE = -1.0
    try:
        yield
    finally:
        listing.WINDOW_EVENTS_PER_ITEM, listing.RARE_STATUS_SHARE = saved


def assert_same_listing(
    emulator: Emulator, params: dict[str, Any], kind: jobs.JobKind = jobs.TRAINING
) -> int:
    """Page through List<kind>s both ways in lock-step; returns the number of pages."""
    request = dict(params)
    for pages in range(1, 200):
        expected = reference(emulator, kind, request)
        answered = OPERATIONS["sagemaker"][f"List{kind.noun}s"](emulator, dict(request))
        assert answered == expected, f"page {pages} of {request} ({kind.key})"
        if "NextToken" not in answered:
            return pages
        request["NextToken"] = answered["NextToken"]
    raise AssertionError("the listing never ended")


PAGINGS = (
    listing.AWS_PAGING,
    listing.Paging(creation_time_bounds_scan=True),
    listing.EXACT_PAGING,
)


def check_everything(emulator: Emulator, params: dict[str, Any]) -> None:
    """``params`` under every paging, on every path; and, through the indexes, every status
    and a few windows."""
    for paging in PAGINGS:
        emulator.config.paging = paging
        check_paths(emulator, params)


def check_paths(emulator: Emulator, params: dict[str, Any]) -> None:
    now = emulator.now()
    for kind in (jobs.TRAINING, TUNING):
        for path in ("auto", "index", "scan"):
            with forced(path):
                assert_same_listing(emulator, params, kind)
        with forced("index"):
            for status in STATUSES:
                assert_same_listing(emulator, {"StatusEquals": status, "MaxResults": 50}, kind)
            for ago in (0.0, 0.5, 1.0, 2.5, 6.0):
                window = {"LastModifiedTimeAfter": now - ago, "MaxResults": 50}
                assert_same_listing(emulator, window, kind)


# --- random histories -------------------------------------------------------------------------


@st.composite
def list_params(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {"MaxResults": draw(st.integers(1, 12))}
    if draw(st.integers(0, 3)) == 0:
        params["NameContains"] = draw(st.sampled_from(["a", "ALPHA", "ta", "-", "x", "e"]))
    if draw(st.integers(0, 2)) == 0:
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


STEP = st.one_of(
    st.tuples(st.just("advance"), st.integers(0, 8).map(lambda halves: halves / 2)),
    st.tuples(st.just("back"), st.integers(1, 10).map(lambda halves: halves / 2)),
    st.tuples(
        st.just("create"),
        st.sampled_from(NAMES),
        st.integers(0, 12),  # duration, seconds (0: every transition at creation)
        st.booleans(),  # fails
        st.booleans(),  # Debugger rules
    ),
    st.tuples(st.just("stop"), st.sampled_from([*NAMES, "tune-1", "tune-2"])),  # children too
    st.tuples(st.just("tuning"), st.integers(1, 3), st.integers(1, 6), st.integers(1, 3)),
    st.tuples(st.just("stop-tuning"), st.integers(1, 3)),
    st.tuples(st.just("list"), list_params()),
)


def run_history(steps: list[tuple[Any, ...]]) -> None:
    emulator, clock = new_emulator()
    created = 0
    for step in steps:
        action = step[0]
        if action == "advance":
            clock.now += step[1]
        elif action == "back":
            clock.now = max(BASE, clock.now - step[1])
        elif action == "create":
            _, name, duration, fail, rules = step
            created += 1
            request = training_request(
                f"{name}-{created}", duration=duration, fail=fail, rules=rules
            )
            call(emulator, "CreateTrainingJob", request)
        elif action == "stop":
            # The most recent job whose name starts with the drawn one, if any.
            matching = [n for n in emulator.jobs_of("training") if n.startswith(step[1])]
            if matching:
                call(emulator, "StopTrainingJob", {"TrainingJobName": matching[-1]})
        elif action == "tuning":
            _, number, children, parallel = step
            call(
                emulator,
                "CreateHyperParameterTuningJob",
                tuning_request(
                    f"tune-{number}",
                    duration=4,
                    children=children,
                    parallel=min(parallel, children),
                ),
            )
        elif action == "stop-tuning":
            call(
                emulator,
                "StopHyperParameterTuningJob",
                {"HyperParameterTuningJobName": f"tune-{step[1]}"},
            )
        else:
            check_everything(emulator, step[1])
    # And at the end, a little later.
    clock.now += 3
    check_everything(emulator, {"MaxResults": 3, "SortOrder": "Ascending"})
    check_indexes(emulator.jobs_of("training"))
    check_indexes(emulator.jobs_of("tuning"))


def check_indexes(table: IndexedTable[jobs.Job]) -> None:
    """The creation order holds exactly the jobs of the table, sorted."""
    order = table._order
    assert [entry[3] for entry in order] == sorted(
        table.values(), key=lambda job: (job.created_at, job.name)
    )
    assert table._created == [entry[0] for entry in order]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(STEP, min_size=1, max_size=40))
def test_indexed_listing_matches_brute_force(steps: list[tuple[Any, ...]]) -> None:
    run_history(steps)


# --- particular cases -------------------------------------------------------------------------


def test_window_query_touches_only_jobs_that_changed() -> None:
    emulator, clock = new_emulator()
    for index in range(200):
        clock.now = BASE + index
        call(
            emulator,
            "CreateTrainingJob",
            training_request(f"job-{index:03d}", duration=1000, fail=False, rules=False),
        )
    clock.now = BASE + 200
    table = emulator.jobs_of("training")
    changed = table.changed_after(BASE + 195, clock.now, limit=math.inf)
    # Created at +196..+199, and Downloading (at 10% of 1000 s) since +196..+200: no others.
    assert changed is not None
    expected = [f"job-{i:03d}" for i in [*range(96, 101), *range(196, 200)]]
    assert sorted(job.name for job in changed) == expected
    params = {"LastModifiedTimeAfter": BASE + 195, "MaxResults": 100}
    assert_same_listing(emulator, params)


def test_stop_at_the_moment_of_a_transition_changes_the_status_index() -> None:
    # Downloading starts at +1 (10% of 10 s): the status index read the job at +1, then a
    # Stop at +1 itself adds a transition at a moment the event log already knows.
    emulator, clock = new_emulator()
    call(
        emulator, "CreateTrainingJob", training_request("job", duration=10, fail=False, rules=False)
    )
    clock.now = BASE + 1
    table = emulator.jobs_of("training")
    assert [job.name for job in table.with_status("InProgress", clock.now) or []] == ["job"]
    call(emulator, "StopTrainingJob", {"TrainingJobName": "job"})
    assert table.with_status("InProgress", clock.now) == []
    assert [job.name for job in table.with_status("Stopping", clock.now) or []] == ["job"]
    with forced("index"):
        assert_same_listing(emulator, {"StatusEquals": "Stopping"})
        assert_same_listing(emulator, {"LastModifiedTimeAfter": BASE + 0.5})


def test_status_index_is_not_used_when_the_clock_went_back() -> None:
    emulator, clock = new_emulator()
    call(
        emulator, "CreateTrainingJob", training_request("job", duration=2, fail=False, rules=False)
    )
    clock.now = BASE + 5
    table = emulator.jobs_of("training")
    assert table.count_with_status("Completed", clock.now) == 1
    clock.now = BASE + 1
    assert table.count_with_status("Completed", clock.now) is None
    with forced("index"):
        assert_same_listing(emulator, {"StatusEquals": "InProgress"})
        assert_same_listing(emulator, {"StatusEquals": "Completed"})


def test_tuning_children_with_future_creation_times_sort_into_place() -> None:
    emulator, clock = new_emulator()
    call(
        emulator,
        "CreateHyperParameterTuningJob",
        tuning_request("tune", duration=4, children=6, parallel=2),
    )
    for index in range(12):
        clock.now = BASE + index
        call(
            emulator,
            "CreateTrainingJob",
            training_request(f"job-{index:02d}", duration=3, fail=False, rules=False),
        )
        for params in ({"MaxResults": 4}, {"MaxResults": 4, "SortOrder": "Ascending"}):
            assert_same_listing(emulator, params)
    table = emulator.jobs_of("training")
    check_indexes(table)
    # Stopping the tuning job drops its children not launched yet, from every index.
    clock.now = BASE + 5
    call(emulator, "StopHyperParameterTuningJob", {"HyperParameterTuningJobName": "tune"})
    check_indexes(table)
    assert len(table) == 12 + 4
    clock.now = BASE + 30
    with forced("index"):
        assert_same_listing(emulator, {"MaxResults": 7, "LastModifiedTimeAfter": BASE})
        assert_same_listing(emulator, {"MaxResults": 7, "StatusEquals": "Stopped"})


def test_every_kind_starts_its_schedule_at_creation() -> None:
    # The event log relies on it: last_modified(now) is the latest event not after now.
    emulator, _ = new_emulator()
    call(emulator, "CreateTrainingJob", training_request("t", duration=5, fail=True, rules=True))
    call(
        emulator,
        "CreateHyperParameterTuningJob",
        tuning_request("tune", duration=4, children=4, parallel=2),
    )
    for job in emulator.all_jobs():
        assert job.schedule.times[0] == job.created_at
        assert min(job.event_times()) == job.created_at
        for offset in range(0, 40):
            now = job.created_at + offset / 2
            passed = [when for when in job.event_times() if when <= now]
            assert job.last_modified(now) == max(passed)


def test_the_table_keeps_its_indexes_through_every_way_of_changing_it() -> None:
    emulator, clock = new_emulator()
    for index in range(6):
        clock.now = BASE + index
        call(
            emulator,
            "CreateTrainingJob",
            training_request(f"job-{index}", duration=3, fail=False, rules=False),
        )
    table = emulator.jobs_of("training")
    job0, job1, job2 = table["job-0"], table["job-1"], table["job-2"]
    del table["job-0"]
    assert table.pop("job-1") is job1
    assert table.pop("missing", None) is None
    with pytest.raises(KeyError):
        table.pop("missing")
    assert table.setdefault("job-2", job0) is job2
    table.update({"job-0": job0})
    table |= {"job-1": job1}
    check_indexes(table)
    assert_same_listing(emulator, {"MaxResults": 2})
    # A job replaced under its name: the old one leaves every index.
    clock.now = BASE + 10
    call(
        emulator,
        "CreateTrainingJob",
        training_request("other", duration=3, fail=False, rules=False),
    )
    table["job-3"] = table.pop("other")
    check_indexes(table)
    with forced("index"):
        assert_same_listing(emulator, {"LastModifiedTimeAfter": BASE + 2})
        assert_same_listing(emulator, {"StatusEquals": "InProgress"})
    name, _ = table.popitem()
    assert name not in table
    table.clear()
    check_indexes(table)
    assert_same_listing(emulator, {})


def test_a_deep_copy_of_the_table_is_indexed_on_its_own() -> None:
    emulator, clock = new_emulator()
    for index in range(5):
        clock.now = BASE + index
        call(
            emulator,
            "CreateTrainingJob",
            training_request(f"job-{index}", duration=3, fail=False, rules=False),
        )
    copied = copy.deepcopy(emulator.jobs_of("training"))
    assert isinstance(copied, IndexedTable)
    check_indexes(copied)
    assert [job.name for job in copied.in_creation_order(clock.now, descending=True)] == [
        f"job-{index}" for index in range(4, -1, -1)
    ]
    assert copied.with_status("InProgress", clock.now) is not None
