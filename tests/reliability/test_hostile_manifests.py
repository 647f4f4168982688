"""Hostile manifests (issue 16, point 7): each refused with one line naming the file or the
field, exit 2, before the work it would cause is done (counted, never timed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.documents import DocumentRefused, parse_yaml
from smrun.launcher import bounds, manifest
from smrun.launcher.manifest import ManifestInvalid, load_manifest
from support.cli_runs import dry_run, good_manifest, write
from support.manifests import raw_job


def refused(smrun: Any, path: Path | str) -> str:
    """The one problem ``smrun launch --dry-run`` gave for ``path``, exit 2."""
    ran = smrun(*dry_run(path))
    assert ran.code == 2, ran.err
    assert "Traceback" not in ran.err
    assert len(ran.problems) == 1, ran.err
    return ran.problems[0]


def test_dev_zero_is_read_only_up_to_the_cap(smrun: Any) -> None:
    assert "is larger than 4 MiB" in refused(smrun, "/dev/zero")


def test_a_large_file_is_refused_from_its_size(smrun: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * bounds.MAX_MANIFEST_BYTES + "\n")
    assert "larger than 4 MiB" in refused(smrun, path)


def test_a_binary_file_is_not_utf8(smrun: Any, tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    assert "is not UTF-8 text (byte 0x80 at offset 128)" in refused(smrun, path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("depth", [bounds.MAX_DEPTH + 1, 2_000, 200_000])
def test_deep_nesting_is_refused(smrun: Any, tmp_path: Path, suffix: str, depth: int) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text('{"jobs": ' + "[" * depth + "]" * depth + "}")
    assert f"nests more than {bounds.MAX_DEPTH}" in refused(smrun, path)


def test_nesting_up_to_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    inner = bounds.MAX_DEPTH - 1  # the top mapping is a level too
    path.write_text('{"jobs": ' + "[" * inner + "]" * inner + "}")
    with pytest.raises(ManifestInvalid) as refused_:
        load_manifest(path)
    assert "nests" not in str(refused_.value)  # refused for what it says, not its depth


def alias_bomb(levels: int) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghijk"[:levels]:
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text + f"jobs:\n  - kind: processing\n    request: {{X: *{previous}}}\n"


def test_an_alias_bomb_is_refused_from_its_count(smrun: Any, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(8))  # 9^9 values in 700 bytes
    assert "once its aliases are expanded" in refused(smrun, path)


def test_aliases_that_stay_small_are_read(tmp_path: Path) -> None:
    request = yaml.safe_dump(good_manifest()["jobs"][0]["request"], default_flow_style=True)
    path = tmp_path / "aliases.yaml"
    path.write_text(
        f"jobs:\n  - {{name: a, kind: processing, request: &r {request.strip()}}}\n"
        "  - {name: b, kind: processing, request: *r}\n"
    )
    assert [e.id for e in load_manifest(path).entries] == ["a", "b"]


@pytest.fixture
def no_expansion(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records every matrix expansion: a refusal from the sizes makes none."""
    calls: list[Any] = []
    real = manifest._combinations

    def counted(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(manifest, "_combinations", counted)
    return calls


def test_a_matrix_of_10_to_the_12_is_refused_before_expanding(
    smrun: Any, tmp_path: Path, no_expansion: list[Any]
) -> None:
    matrix = {f"k{i}": [str(v) for v in range(10)] for i in range(12)}
    path = write(tmp_path / "product.json", good_manifest(matrix=matrix))
    problem = refused(smrun, path)
    assert problem.startswith("  - jobs[0].matrix: expands to 1,000,000,000,000 entries")
    assert no_expansion == []


def test_a_million_entries_by_count_are_refused_before_expanding(
    smrun: Any, tmp_path: Path, no_expansion: list[Any]
) -> None:
    data = good_manifest(count=1_000)
    data["jobs"] = data["jobs"] * 1_000
    path = write(tmp_path / "million.json", data)
    assert "jobs: expand to 1,000,000 entries" in refused(smrun, path)
    assert no_expansion == []


def test_a_batch_at_the_cap_is_expanded(tmp_path: Path) -> None:
    data = good_manifest(count=bounds.MAX_COUNT)
    assert bounds.expansion_size(None, bounds.MAX_COUNT) == bounds.MAX_ENTRIES
    data["jobs"].append({**data["jobs"][0], "name": "more", "count": 1})
    with pytest.raises(ManifestInvalid, match="expand to 10,001 entries"):
        load_manifest(write(tmp_path / "over.json", data))


def test_an_int_outside_the_api_range_names_the_field(smrun: Any, tmp_path: Path) -> None:
    request = raw_job("training", 1.0)
    request["ResourceConfig"]["InstanceCount"] = 10**30  # the model states no max: int32's
    data = good_manifest(kind="training", request=request)
    problem = refused(smrun, write(tmp_path / "huge.json", data))
    assert "jobs[0].request.ResourceConfig.InstanceCount: must be at most 2147483647" in problem


def test_output_naming_a_file_is_one_line(smrun: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "ok.json", good_manifest())
    (tmp_path / "afile").write_text("")
    ran = smrun(*dry_run(path, "--output", tmp_path / "afile"))
    assert ran.code == 2 and "Traceback" not in ran.err
    assert "--output" in ran.err and "is a file, not a directory" in ran.err


def test_journal_in_a_missing_directory_is_one_line(smrun: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "ok.json", good_manifest())
    ran = smrun(*dry_run(path, "--journal", tmp_path / "no" / "such" / "j.sqlite"))
    assert ran.code == 2 and "Traceback" not in ran.err
    assert "--journal" in ran.err and "no such directory" in ran.err


# Whatever a manifest holds, reading it ends in a Manifest or ManifestInvalid: nothing else.
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["processing", "training", "nope"]) | values,
        "matrix": st.dictionaries(st.sampled_from(["a", "b"]), st.lists(values, max_size=5))
        | values,
        "count": st.integers(-5, 10**13) | values,
        "after": values,
        "request": values,
        "inputs": values,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    jobs=st.lists(fields, max_size=4),
    top=st.dictionaries(
        st.sampled_from(["batch", "region", "limits", "defaults", "x"]), values, max_size=3
    ),
)
def test_any_manifest_is_read_or_refused(
    tmp_path: Path, jobs: list[Any], top: dict[str, Any]
) -> None:
    path = tmp_path / "random.json"
    path.write_text(json.dumps({**top, "jobs": jobs}, default=str))
    try:
        load_manifest(path, fallback_region="us-east-1")
    except ManifestInvalid as invalid:
        assert invalid.problems
        assert all("\n" not in str(p) for p in invalid.problems)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_is_read_or_refused(text: str) -> None:
    try:
        parse_yaml(text)
    except DocumentRefused as refused_:
        assert "\n" not in str(refused_)
