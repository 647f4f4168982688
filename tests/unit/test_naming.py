"""``runner.naming``: deterministic names, v1 generated names, request digests and tag merging."""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.kinds import KINDS
from runner.naming import (
    MAX_NAME,
    Identity,
    deterministic_name,
    generated_name,
    merge_tags,
    request_digest,
    slug,
    tag_list,
)
from support.requests import training

# SageMaker's rule for job, model, endpoint and workteam names.
SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
PREFIXES = sorted({kind.name_prefix for kind in KINDS.values()})

# Anything at all, including the empty string, punctuation only and non-ASCII letters and digits.
any_text = st.text(max_size=120)
# Without "/" (the separator of Identity.text()), scope and key read back unambiguously.
no_slash = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/"), max_size=80
)
hints = st.one_of(st.sampled_from(PREFIXES), any_text)


def is_sagemaker_name(name: str) -> bool:
    return len(name) <= MAX_NAME and SAGEMAKER_NAME.fullmatch(name) is not None


# --- deterministic_name -------------------------------------------------------------------------


@given(scope=any_text, key=any_text, hint=hints)
@settings(max_examples=150, deadline=None)
def test_deterministic_name_is_a_valid_sagemaker_name(scope: str, key: str, hint: str) -> None:
    name = deterministic_name(Identity(scope, key), hint)
    assert is_sagemaker_name(name), name
    assert re.search(r"-[0-9a-f]{12}$", name)


@given(scope=any_text, key=any_text, hint=hints)
@settings(max_examples=30, deadline=None)
def test_deterministic_name_is_stable(scope: str, key: str, hint: str) -> None:
    first = deterministic_name(Identity(scope, key), hint)
    assert deterministic_name(Identity(scope, key), hint) == first


@given(first=st.tuples(no_slash, no_slash), second=st.tuples(no_slash, no_slash), hint=hints)
@settings(max_examples=150, deadline=None)
def test_deterministic_name_differs_per_identity(
    first: tuple[str, str], second: tuple[str, str], hint: str
) -> None:
    if first == second:
        return
    assert deterministic_name(Identity(*first), hint) != deterministic_name(Identity(*second), hint)


def test_deterministic_name_is_known_for_a_fixed_identity() -> None:
    # A regression guard: a restarted pod must compute exactly the name it computed before, so
    # the formula can never change silently between releases.
    name = deterministic_name(Identity("run-42", "train-step"), "TrainingJob")
    assert name == "TrainingJob-train-step-66e8ba67d88e"
    assert name != deterministic_name(Identity("run-43", "train-step"), "TrainingJob")


def test_deterministic_name_keeps_a_readable_part_and_trims_long_keys() -> None:
    name = deterministic_name(Identity("run", "x" * 200), "ProcessingJob")
    assert len(name) == MAX_NAME and is_sagemaker_name(name)
    assert name.startswith("ProcessingJob-xxxx")
    # Nothing readable survives: a fixed word stands in.
    assert re.fullmatch(r"job-[0-9a-f]{12}", deterministic_name(Identity("r", "///"), "***"))


def test_slashes_within_scope_or_key_stay_distinct_when_the_readable_part_shows_it() -> None:
    assert deterministic_name(Identity("a", "b/c"), "Job") != deterministic_name(
        Identity("a/b", "c"), "Job"
    )


def test_identities_that_differ_only_in_where_the_slash_falls_get_different_names() -> None:
    first = Identity("batch", "a" * 48 + "/" + "a" * 60)
    second = Identity("batch/" + "a" * 48, "a" * 60)
    assert first != second
    assert deterministic_name(first, "TrainingJob") != deterministic_name(second, "TrainingJob")


@given(text=any_text)
def test_slug_uses_only_sagemakers_alphabet(text: str) -> None:
    cleaned = slug(text)
    assert cleaned == "" or re.fullmatch(r"[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*", cleaned)


# --- generated_name -----------------------------------------------------------------------------

MOMENT = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_generated_name_has_v1s_form(prefix: str) -> None:
    name = generated_name(prefix, MOMENT)
    assert re.fullmatch(rf"{prefix}-20240102030405-[0-9a-f]{{4}}", name), name
    assert is_sagemaker_name(name)


def test_generated_name_uses_the_current_utc_time() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    name = generated_name("TrainingJob")
    after = dt.datetime.now(dt.UTC)
    stamp = dt.datetime.strptime(name.split("-")[1], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    assert before <= stamp <= after


def test_generated_names_differ_within_the_same_second() -> None:
    names = {generated_name("TrainingJob", MOMENT) for _ in range(50)}
    assert len(names) > 40  # 4 hex digits: collisions are possible but rare


@given(prefix=any_text)
def test_generated_name_is_valid_for_any_prefix(prefix: str) -> None:
    name = generated_name(prefix, MOMENT)
    assert is_sagemaker_name(name), name
    assert re.search(r"-20240102030405-[0-9a-f]{4}$", name)


def test_generated_name_trims_a_long_prefix() -> None:
    name = generated_name("P" * 100, MOMENT)
    assert len(name) == MAX_NAME and name.startswith("PPPP")


# --- request_digest -----------------------------------------------------------------------------


def digest(request: dict[str, Any]) -> str:
    return request_digest(request, "TrainingJobName")


def test_digest_ignores_the_name_and_the_tags() -> None:
    base = training("one")
    assert digest(base) == digest(training("two"))
    assert digest(base) == digest(training("one", Tags=[{"Key": "team", "Value": "a"}]))
    assert digest(training("x", Tags=[{"Key": "k", "Value": "1"}])) == digest(
        training("y", Tags=[{"Key": "k", "Value": "2"}])
    )


def test_digest_is_a_sha256_hex() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", digest(training("one")))


def test_digest_does_not_depend_on_the_order_of_keys() -> None:
    request = training("one", HyperParameters={"a": "1", "b": "2"}, Environment={"X": "1"})
    reordered = {key: request[key] for key in reversed(list(request))}
    reordered["ResourceConfig"] = dict(reversed(list(request["ResourceConfig"].items())))
    reordered["HyperParameters"] = {"b": "2", "a": "1"}
    reordered["InputDataConfig"] = [
        dict(reversed(list(channel.items()))) for channel in request["InputDataConfig"]
    ]
    assert digest(reordered) == digest(request)


def test_digest_accepts_datetimes_and_tuples() -> None:
    moment = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert request_digest({"When": moment, "Items": ("a", "b")}, "Name") == request_digest(
        {"When": moment, "Items": ["a", "b"]}, "Name"
    )
    assert request_digest({"When": moment}, "Name") != request_digest(
        {"When": moment + dt.timedelta(seconds=1)}, "Name"
    )


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


def _changed(request: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(request)
    parent: Any = changed
    for step in path[:-1]:
        parent = parent[step]
    old = parent[path[-1]]
    parent[path[-1]] = old + 1 if isinstance(old, int) else f"{old}-changed"
    return changed


BASE = training(
    "digest-me",
    HyperParameters={"epochs": "3"},
    Environment={"MODE": "fast"},
    Tags=[{"Key": "team", "Value": "a"}],
)
FIELDS = [path for path in _leaves(BASE) if path[0] not in ("TrainingJobName", "Tags")]


@pytest.mark.parametrize("path", FIELDS, ids=lambda path: ".".join(map(str, path)))
def test_digest_changes_when_any_other_field_changes(path: tuple[Any, ...]) -> None:
    assert digest(_changed(BASE, path)) != digest(BASE)


def test_digest_changes_when_a_field_is_added_or_removed() -> None:
    assert digest(training("a", EnableNetworkIsolation=True)) != digest(training("a"))
    smaller = training("a")
    del smaller["StoppingCondition"]
    assert digest(smaller) != digest(training("a"))


def test_digest_uses_the_kinds_own_name_field() -> None:
    model = {"ModelName": "m1", "ExecutionRoleArn": "arn:aws:iam::1:role/r"}
    assert request_digest(model, "ModelName") == request_digest(
        {**model, "ModelName": "m2"}, "ModelName"
    )
    assert request_digest(model, "TrainingJobName") != request_digest(
        {**model, "ModelName": "m2"}, "TrainingJobName"
    )


@given(
    request=st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=4), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=6,
    )
)
def test_digest_is_stable_under_key_order_for_any_request(request: dict[str, Any]) -> None:
    def reverse(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: reverse(value[key]) for key in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(item) for item in value]
        return value

    assert request_digest(reverse(request), "Name") == request_digest(request, "Name")


# --- tags -----------------------------------------------------------------------------------------


def test_merge_tags_extra_wins_and_the_rest_is_kept_in_order() -> None:
    request_tags = [
        {"Key": "team", "Value": "a"},
        {"Key": "smrun:kind", "Value": "forged"},
        {"Key": "cost-center", "Value": "42"},
    ]
    merged = merge_tags(request_tags, {"smrun:kind": "training", "smrun:run-id": "run-1"})
    assert merged == [
        {"Key": "team", "Value": "a"},
        {"Key": "smrun:kind", "Value": "training"},
        {"Key": "cost-center", "Value": "42"},
        {"Key": "smrun:run-id", "Value": "run-1"},
    ]
    # The request's own list is not modified.
    assert request_tags[1] == {"Key": "smrun:kind", "Value": "forged"}


def test_merge_tags_without_request_tags_or_values() -> None:
    assert merge_tags(None, {"a": "1"}) == [{"Key": "a", "Value": "1"}]
    assert merge_tags([], {}) == []
    assert merge_tags([{"Key": "bare"}], {}) == [{"Key": "bare", "Value": ""}]


def test_merge_tags_keeps_one_entry_per_key() -> None:
    merged = merge_tags([{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}], {})
    assert merged == [{"Key": "k", "Value": "2"}]


def test_tag_list_is_sagemakers_form() -> None:
    assert tag_list({"a": "1", "b": "2"}) == [
        {"Key": "a", "Value": "1"},
        {"Key": "b", "Value": "2"},
    ]


def test_names_respect_a_shorter_limit() -> None:
    identity = Identity(
        "3f0c9a1e-1b2c-4d5e-8f90-123456789abc", "sagemaker-hyperparameter-tuning-03b4f3e741"
    )
    name = deterministic_name(identity, "HPOJob", 32)
    assert len(name) <= 32 and name == deterministic_name(identity, "HPOJob", 32)
    assert len(generated_name("HPOJob", max_length=32)) <= 32
