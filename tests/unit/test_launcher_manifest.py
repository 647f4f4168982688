"""The launcher manifest: defaults, sweeps, component inputs and raw requests, every problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.naming import Identity
from smrun.launcher.manifest import (
    ManifestInvalid,
    deep_merge,
    load_manifest,
    parse_manifest,
)
from smrun.launcher.preflight import NO_REGION

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:1"
CHANNELS = [
    {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3Uri": "s3://bucket/train", "S3DataType": "S3Prefix"}},
    }
]


def train_inputs(**extra: Any) -> dict[str, Any]:
    return {
        "image": IMAGE,
        "channels": CHANNELS,
        "model_artifact_path": "s3://bucket/models",
        **extra,
    }


def raw_processing(**extra: Any) -> dict[str, Any]:
    return {
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": IMAGE},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            }
        },
        **extra,
    }


def manifest(*jobs: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "batch": "b1",
        "defaults": {"inputs": {"region": "us-east-1", "role": ROLE}},
        "jobs": list(jobs),
        **top,
    }


def problems_of(data: Any) -> list[str]:
    with pytest.raises(ManifestInvalid) as caught:
        parse_manifest(data)
    return [str(p) for p in caught.value.problems]


# --- component inputs -> requests ------------------------------------------------------------


def test_train_inputs_become_the_components_request() -> None:
    result = parse_manifest(
        manifest({"kind": "train", "name": "fit", "inputs": train_inputs(instance_count=2)})
    )
    (entry,) = result.entries
    assert entry.id == "fit"
    assert entry.kind == "training"
    assert entry.component == "train"
    assert entry.identity == Identity("b1", "fit")
    request = entry.request
    assert request["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert request["RoleArn"] == ROLE
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.m4.xlarge",  # the spec's default
        "InstanceCount": 2,
        "VolumeSizeInGB": 30,
    }
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert request["EnableNetworkIsolation"] is True
    assert "TrainingJobName" not in request  # named by the runner from the identity
    assert entry.job_name.startswith("TrainingJob-fit-")


def test_process_inputs_become_the_components_request() -> None:
    result = parse_manifest(
        manifest(
            {
                "kind": "process",
                "inputs": {
                    "image": IMAGE,
                    "instance_count": "3",  # KFP's text form is accepted too
                    "environment": {"MODE": "fast"},
                    "network_isolation": False,
                },
            }
        )
    )
    (entry,) = result.entries
    assert entry.id == "processing-0"  # ids use the kind's own name, not its alias
    assert entry.kind == "processing"
    assert entry.request["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
    assert entry.request["Environment"] == {"MODE": "fast"}
    assert entry.request["NetworkConfig"]["EnableNetworkIsolation"] is False


def test_batch_transform_inputs_are_accepted() -> None:
    result = parse_manifest(
        manifest(
            {
                "kind": "batch_transform",
                "inputs": {
                    "model_name": "my-model",
                    "input_location": "s3://bucket/in",
                    "output_location": "s3://bucket/out",
                },
            }
        )
    )
    assert result.entries[0].kind == "transform"


def test_raw_request_with_a_runner_kind() -> None:
    result = parse_manifest(manifest({"kind": "processing", "request": raw_processing()}))
    (entry,) = result.entries
    assert entry.request == raw_processing()
    assert entry.component is None
    assert entry.id == "processing-0"


def test_a_request_may_name_its_job() -> None:
    request = raw_processing(ProcessingJobName="fixed-name")
    (entry,) = parse_manifest(manifest({"kind": "processing", "request": request})).entries
    assert entry.job_name == "fixed-name"


# --- defaults --------------------------------------------------------------------------------


def test_defaults_deep_merge_and_the_entry_wins() -> None:
    data = {
        "batch": "b",
        "defaults": {
            "kind": "processing",
            "request": raw_processing(Environment={"A": "1", "B": "2"}),
        },
        "jobs": [
            {"request": {"Environment": {"B": "x"}}},
            {
                "request": {
                    "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.c5.xlarge"}}
                }
            },
        ],
    }
    first, second = parse_manifest(data).entries
    assert first.request["Environment"] == {"A": "1", "B": "x"}
    assert first.request["RoleArn"] == ROLE
    cluster = second.request["ProcessingResources"]["ClusterConfig"]
    assert cluster == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10}


def test_default_inputs_a_component_lacks_are_ignored_but_own_ones_are_not() -> None:
    defaults = {"inputs": {"region": "us-east-1", "role": ROLE, "channels": CHANNELS}}
    ok = {"kind": "process", "inputs": {"image": IMAGE}}
    assert parse_manifest({"defaults": defaults, "jobs": [ok]}).entries
    bad = {"kind": "process", "inputs": {"image": IMAGE, "channels": CHANNELS}}
    assert problems_of({"defaults": defaults, "jobs": [bad]}) == [
        "jobs[0].inputs.channels: is not an input of the process component"
    ]


def test_request_defaults_do_not_leak_into_input_entries() -> None:
    data = manifest({"kind": "train", "inputs": train_inputs()})
    data["defaults"]["request"] = {"RoleArn": ROLE}
    assert parse_manifest(data).entries[0].kind == "training"


def test_deep_merge_replaces_lists() -> None:
    assert deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}}


# --- matrix and count ------------------------------------------------------------------------


def test_matrix_expands_to_the_cartesian_product_with_stable_ids() -> None:
    entry = {
        "kind": "train",
        "name": "xgb",
        "matrix": {"lr": ["0.1", "0.3"], "depth": [4, 8]},
        "inputs": train_inputs(
            hyperparameters={"eta": "{{ matrix.lr }}", "max_depth": "d{{matrix.depth}}"},
            instance_count="{{ matrix.depth }}",
        ),
    }
    first = parse_manifest(manifest(entry)).entries
    again = parse_manifest(manifest(entry)).entries
    assert [e.id for e in first] == [
        "xgb-lr-0-1-depth-4",
        "xgb-lr-0-1-depth-8",
        "xgb-lr-0-3-depth-4",
        "xgb-lr-0-3-depth-8",
    ]
    assert [e.id for e in again] == [e.id for e in first]
    assert [e.job_name for e in again] == [e.job_name for e in first]
    assert len({e.job_name for e in first}) == 4
    hyper = [e.request["HyperParameters"] for e in first]
    assert hyper[1] == {"eta": "0.1", "max_depth": "d8"}
    # a placeholder that is the whole value keeps the value's type
    assert first[1].request["ResourceConfig"]["InstanceCount"] == 8


def test_count_makes_copies_with_their_index() -> None:
    entry = {
        "kind": "processing",
        "name": "shard",
        "count": 3,
        "request": raw_processing(
            AppSpecification={"ImageUri": IMAGE, "ContainerArguments": ["--shard={{ index }}"]}
        ),
    }
    entries = parse_manifest(manifest(entry)).entries
    assert [e.id for e in entries] == ["shard-0", "shard-1", "shard-2"]
    args = [e.request["AppSpecification"]["ContainerArguments"] for e in entries]
    assert args == [["--shard=0"], ["--shard=1"], ["--shard=2"]]
    assert len({e.digest for e in entries}) == 3


def test_placeholder_problems() -> None:
    entry = {
        "kind": "processing",
        "matrix": {"x": [1]},
        "request": raw_processing(Environment={"A": "{{ matrix.y }}", "B": "{{ index }}"}),
    }
    assert problems_of(manifest(entry)) == [
        "jobs[0](processing-0-x-1).request.Environment.A: uses matrix.y, "
        "not in the entry's matrix (x)",
        "jobs[0](processing-0-x-1).request.Environment.B: uses {{ index }} "
        "but the entry has no count",
    ]


def test_duplicate_ids_are_reported() -> None:
    entry = {"kind": "processing", "name": "same", "request": raw_processing()}
    problems = problems_of(manifest(entry, dict(entry)))
    assert problems == ["jobs[1].name: id 'same' is already used by jobs[0]; give a distinct name"]


# --- every problem, with its path ------------------------------------------------------------


def test_every_problem_is_reported_with_its_path() -> None:
    data = manifest(
        {"kind": "processing", "request": raw_processing()},
        {
            "kind": "processing",
            "request": raw_processing(
                ProcessingResources={
                    "ClusterConfig": {
                        "InstanceType": "ml.huge",
                        "InstanceCount": 1,
                        "VolumeSizeInGB": 10,
                    }
                }
            ),
        },
        {"kind": "nope", "request": {}},
        {"kind": "train", "inputs": train_inputs(instance_count="two", spot_instance="maybe")},
        {"kind": "train", "inputs": {"image": IMAGE}},
        {"kind": "endpoint", "inputs": {}},
        {"kind": "process", "request": {}, "inputs": {}, "colour": "red"},
        {"kind": "process", "inputs": {"image": IMAGE}, "count": 0, "matrix": {"a": []}},
        "not a mapping",
    )
    data["extra"] = 1
    problems = problems_of(data)
    expected_fragments = [
        "extra: is not a manifest field",
        "jobs[1].request.ProcessingResources.ClusterConfig.InstanceType: must be one of [",
        "jobs[2].kind: 'nope' is not a job kind (valid: ",
        "jobs[3].inputs.instance_count: must be a whole number, got 'two'",
        "jobs[3].inputs.spot_instance: must be True or False",
        "jobs[4].inputs.channels: is required",
        "jobs[4].inputs.model_artifact_path: is required",
        "jobs[5].inputs: endpoint takes a request; inputs are for ",
        "jobs[6].colour: is not an entry field",
        "jobs[6]: give either request or inputs, not both",
        "jobs[7].matrix.a: must be a non-empty list of values",
        "jobs[7].count: must be a whole number from 1 to",
        "jobs[8]: must be a mapping, got str",
    ]
    for fragment in expected_fragments:
        assert any(p.startswith(fragment) for p in problems), (fragment, problems)
    assert not any(p.startswith("jobs[0]") for p in problems)
    assert len(problems) == len(expected_fragments)


def test_component_rules_after_conversion_are_reported() -> None:
    data = manifest(
        {"kind": "train", "inputs": train_inputs(image="", algorithm_name="")},
        {"kind": "train", "inputs": train_inputs(hyperparameters={"depth": 3})},
    )
    assert problems_of(data) == [
        "jobs[0].inputs.image: either image or algorithm_name must be given",
        "jobs[1].inputs.hyperparameters: every value must be a string (SageMaker's rule); "
        "not strings: depth",
    ]


def test_the_built_request_is_checked_against_the_service_model() -> None:
    data = manifest({"kind": "train", "inputs": train_inputs(role="not-an-arn-but-long-enough")})
    (problem,) = problems_of(data)
    # Named by the component input that fills the field, the field in brackets.
    assert problem.startswith("jobs[0].inputs.role: [RoleArn] must match the pattern")


def test_user_tags_are_checked_alongside_the_runners() -> None:
    request = raw_processing(Tags=[{"Key": "", "Value": "x"}])
    (problem,) = problems_of(manifest({"kind": "processing", "request": request}))
    assert problem.startswith("jobs[0].request.Tags[0].Key: must have length at least 1")


def test_top_level_shape_problems() -> None:
    assert problems_of([1, 2]) == ["(manifest): must be a mapping with a 'jobs' list, got list"]
    assert problems_of({"jobs": []}) == ["jobs: must be a non-empty list of jobs"]


# --- files and batch ids ---------------------------------------------------------------------


def test_yaml_and_json_files_load_alike(tmp_path: Path) -> None:
    data = manifest({"kind": "train", "name": "fit", "inputs": train_inputs()})
    del data["batch"]
    as_yaml = tmp_path / "sweep.yaml"
    as_yaml.write_text(yaml.safe_dump(data))
    as_json = tmp_path / "sweep.json"
    as_json.write_text(json.dumps(data))
    from_yaml, from_json = load_manifest(as_yaml), load_manifest(as_json)
    assert from_yaml.entries[0].request == from_json.entries[0].request
    assert from_yaml.batch_id.startswith("sweep-")
    assert from_yaml.batch_id != from_json.batch_id  # another path is another batch
    assert load_manifest(as_yaml).batch_id == from_yaml.batch_id  # stable
    assert from_yaml.entries[0].identity == Identity(from_yaml.batch_id, "fit")
    # An edit is the same batch: the journal tells which entries changed.
    as_yaml.write_text(yaml.safe_dump(data) + "\n# edited\n")
    assert load_manifest(as_yaml).batch_id == from_yaml.batch_id


def test_batch_field_names_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(manifest({"kind": "processing", "request": raw_processing()})))
    assert load_manifest(path).batch_id == "b1"
    assert load_manifest(path, batch_id="override").batch_id == "override"


def test_unparseable_files_are_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{not json")
    with pytest.raises(ManifestInvalid) as caught:
        load_manifest(path)
    (problem,) = caught.value.problems
    assert problem.path == "(manifest)"
    assert problem.rule.startswith("is not valid JSON")
    with pytest.raises(ManifestInvalid):
        load_manifest(tmp_path / "missing.yaml")


def test_native_values_are_checked_like_kfp_text() -> None:
    data = manifest(
        {
            "kind": "process",
            "inputs": {
                "image": {"not": "a string"},
                "instance_count": 1.5,
                "network_isolation": "yes",
                "environment": ["A=1"],
            },
        }
    )
    assert sorted(problems_of(data)) == [
        "jobs[0].inputs.environment: must be a JSON object, got list",
        "jobs[0].inputs.image: must be a string, got dict",
        "jobs[0].inputs.instance_count: must be a whole number, got '1.5'",
        "jobs[0].inputs.network_isolation: must be True or False (any case), got 'yes'",
    ]


def test_defaults_problems() -> None:
    data = {
        "defaults": {"name": "x", "inputs": ["region"]},
        "jobs": [{"kind": "processing", "request": raw_processing()}],
    }
    assert sorted(problems_of(data)) == [
        "defaults.inputs: must be a mapping, got list",
        "defaults.name: is not a default (valid: inputs, kind, request)",
    ]


def test_matrix_and_count_combine() -> None:
    entry = {
        "kind": "processing",
        "name": "run",
        "matrix": {"size": ["s", "m"]},
        "count": 2,
        "request": raw_processing(Environment={"SIZE": "{{ matrix.size }}", "I": "{{ index }}x"}),
    }
    entries = parse_manifest(manifest(entry)).entries
    assert [e.id for e in entries] == [
        "run-size-s-0",
        "run-size-s-1",
        "run-size-m-0",
        "run-size-m-1",
    ]
    assert entries[3].request["Environment"] == {"SIZE": "m", "I": "1x"}


def test_the_same_problem_in_every_expansion_of_a_sweep_is_one_line() -> None:
    request = raw_processing()
    del request["RoleArn"]
    found = problems_of(
        manifest({"kind": "processing", "name": "shard", "count": 5, "request": request})
    )
    assert found == ["jobs[0](shard-0 and 4 more).request.RoleArn: is required"]


def test_after_names_entries_or_every_expansion_of_one() -> None:
    result = parse_manifest(
        manifest(
            {"kind": "processing", "name": "prep", "count": 2, "request": raw_processing()},
            {
                "kind": "processing",
                "name": "post",
                "count": 2,
                "after": "prep-{{ index }}",
                "request": raw_processing(),
            },
            {
                "kind": "processing",
                "name": "last",
                "after": ["prep", "post-1"],
                "request": raw_processing(),
            },
        )
    )
    after = {entry.id: entry.after for entry in result.entries}
    assert after == {
        "prep-0": (),
        "prep-1": (),
        "post-0": ("prep-0",),
        "post-1": ("prep-1",),
        "last": ("prep-0", "prep-1", "post-1"),
    }


def test_after_refuses_unknown_names_itself_and_cycles() -> None:
    found = problems_of(
        manifest(
            {"kind": "processing", "name": "a", "after": "b", "request": raw_processing()},
            {"kind": "processing", "name": "b", "after": ["c"], "request": raw_processing()},
            {"kind": "processing", "name": "c", "after": "a", "request": raw_processing()},
            {"kind": "processing", "name": "d", "after": "nope", "request": raw_processing()},
            {"kind": "processing", "name": "e", "after": "e", "request": raw_processing()},
            {"kind": "processing", "name": "f", "after": 3, "request": raw_processing()},
        )
    )
    assert found == [
        "jobs[5].after: must be an entry name or a list of them",
        "jobs[3].after: no entry named 'nope' in the manifest",
        "jobs[4].after: 'e' is the entry itself",
        "jobs[0].after: entries wait for each other: a -> b -> c -> a",
    ]


def test_a_long_chain_of_steps_is_no_cycle() -> None:
    steps = [{"kind": "processing", "name": "s0", "request": raw_processing()}] + [
        {"kind": "processing", "name": f"s{i}", "after": f"s{i - 1}", "request": raw_processing()}
        for i in range(1, 3000)
    ]
    assert len(parse_manifest(manifest(*steps)).entries) == 3000


def test_limits_in_the_manifest_are_checked_and_kept() -> None:
    data = manifest({"kind": "processing", "request": raw_processing()})
    ok = parse_manifest({**data, "limits": {"processing": 3, "training:ml.p3.2xlarge": 8}})
    assert ok.limits == {"processing": 3, "training:ml.p3.2xlarge": 8}
    found = problems_of({**data, "limits": {"procesing": 3, "training": 0, "transform:x": 1}})
    assert found == [
        "limits.procesing: 'procesing' is not a job kind (did you mean 'processing'?) "
        "(valid: training, tuning, processing, "
        "transform, labeling, model, endpoint_config, endpoint, endpoint_update, workteam)",
        "limits.training: must be a whole number of at least 1, got 0",
        "limits.transform:x: 'x' is not an instance type (like ml.m5.xlarge)",
    ]


# --- one vocabulary, the user's own words, no cascades ---------------------------------------


def test_kinds_and_their_aliases_are_one_vocabulary() -> None:
    as_kind = parse_manifest(manifest({"kind": "training", "name": "t", "inputs": train_inputs()}))
    as_alias = parse_manifest(manifest({"kind": "train", "name": "t", "inputs": train_inputs()}))
    assert as_kind.entries[0].request == as_alias.entries[0].request
    assert as_kind.entries[0].component == "train" and as_kind.entries[0].kind == "training"
    raw = parse_manifest(manifest({"kind": "process", "request": raw_processing()}))
    assert (raw.entries[0].kind, raw.entries[0].component) == ("processing", None)
    limited = parse_manifest(
        {
            **manifest({"kind": "processing", "request": raw_processing()}),
            "limits": {"train": 2, "process:ml.c5.xlarge": 4},
        }
    )
    assert limited.limits == {"training": 2, "processing:ml.c5.xlarge": 4}


def test_misspellings_get_the_nearest_names() -> None:
    found = problems_of(
        manifest(
            {"kind": "trainig", "request": {}},
            {"kind": "processing", "request": raw_processing(), "matirx": {"a": [1]}},
            {"kind": "training", "inputs": train_inputs(instance_tpe="ml.m5.xlarge")},
            {"kind": "processing", "name": "prep", "request": raw_processing()},
            {"kind": "processing", "after": "prepp", "request": raw_processing()},
        )
    )
    assert found[0].startswith("jobs[0].kind: 'trainig' is not a job kind (did you mean 'training'")
    assert found[1].startswith("jobs[1].matirx: is not an entry field (did you mean 'matrix'?)")
    assert found[2] == (
        "jobs[2].inputs.instance_tpe: is not an input of the train component "
        "(did you mean 'instance_type' or 'instance_count'?)"
    )
    assert (
        found[3] == "jobs[4].after: no entry named 'prepp' in the manifest (did you mean 'prep'?)"
    )


def test_a_broken_entry_causes_no_second_problem_in_those_after_it() -> None:
    found = problems_of(
        manifest(
            {
                "kind": "training",
                "name": "xgb",
                "matrix": {"eta": ["0.1", "0.2"]},
                "inputs": train_inputs(instance_count="two"),
            },
            {
                "kind": "processing",
                "name": "report",
                "after": ["xgb", "xgb-eta-0-1"],
                "request": raw_processing(),
            },
            {"kind": "processing", "after": "nothing", "request": raw_processing()},
        )
    )
    assert found == [
        "jobs[0](xgb-eta-0-1 and 1 more).inputs.instance_count: must be a whole number, got 'two'",
        "jobs[2].after: no entry named 'nothing' in the manifest",
    ]


def test_a_bad_value_in_a_components_request_is_named_by_its_input() -> None:
    (problem,) = problems_of(
        manifest({"kind": "training", "inputs": train_inputs(instance_type="ml.huge")})
    )
    # The input the user wrote, and the request field it fills in brackets (as components say).
    assert problem.startswith(
        "jobs[0].inputs.instance_type: [ResourceConfig.InstanceType] must be one of ["
    )


# --- one region ------------------------------------------------------------------------------


def test_the_manifests_region_is_the_batchs_and_reaches_every_component() -> None:
    data = manifest(
        {
            "kind": "training",
            "name": "x",
            "inputs": {**train_inputs(), "algorithm_name": "xgboost", "image": ""},
        },
        region="eu-west-1",
    )
    del data["defaults"]["inputs"]["region"]
    parsed = parse_manifest(data, fallback_region="us-east-1")
    assert parsed.region == "eu-west-1"
    image = parsed.entries[0].request["AlgorithmSpecification"]["TrainingImage"]
    assert ".eu-west-1." in image  # the built-in algorithm's image for the batch's region
    assert parse_manifest(data, region="eu-west-1").region == "eu-west-1"
    # Nothing in the manifest: the AWS chain's region.
    del data["region"]
    assert parse_manifest(data, fallback_region="ap-south-1").region == "ap-south-1"
    # No region anywhere: the algorithm's image cannot be resolved.
    # One problem for the batch, however many entries need the region, with the ways to give it.
    data["jobs"].append({**data["jobs"][0], "name": "y"})
    assert problems_of(data) == [f"region: {NO_REGION}"]
    assert "--region" in NO_REGION and "AWS_DEFAULT_REGION" in NO_REGION
    # ... and the entries are still checked, in the same run.
    data["jobs"][1]["inputs"] = {**data["jobs"][1]["inputs"], "instance_count": "two"}
    found = problems_of(data)
    assert f"region: {NO_REGION}" in found and len(found) == 2
    assert found[0].startswith("jobs[1].inputs.instance_count: must be a whole number")


def test_two_regions_for_one_batch_are_problems() -> None:
    data = manifest(
        {"kind": "training", "inputs": train_inputs(region="us-west-2")},
        {"kind": "processing", "request": raw_processing()},
        region="eu-west-1",
    )
    with pytest.raises(ManifestInvalid) as caught:
        parse_manifest(data, region="eu-central-1")
    assert [str(p) for p in caught.value.problems] == [
        "region: is 'eu-west-1' but --region is 'eu-central-1': a batch runs in one",
        "defaults.inputs.region: is 'us-east-1' but --region is 'eu-central-1': a batch runs "
        "in one",
        "jobs[0].inputs.region: is 'us-west-2' but the batch runs in 'eu-central-1': one "
        "region per batch",
    ]
    assert problems_of(data)[0] == (
        "defaults.inputs.region: is 'us-east-1' but region is 'eu-west-1': a batch runs in one"
    )


# --- upstream outputs ------------------------------------------------------------------------


def prep_with_outputs(*names: str) -> dict[str, Any]:
    outputs = [
        {
            "OutputName": name,
            "S3Output": {
                "S3Uri": f"s3://bucket/{name}",
                "LocalPath": f"/opt/ml/processing/{name}",
                "S3UploadMode": "EndOfJob",
            },
        }
        for name in names
    ]
    return raw_processing(ProcessingOutputConfig={"Outputs": outputs})


def test_an_entry_takes_an_upstream_entrys_outputs_and_comes_after_it() -> None:
    from smrun.launcher.manifest import fill_outputs

    model = raw_processing(
        AppSpecification={
            "ImageUri": IMAGE,
            "ContainerArguments": ["--model={{ outputs.fit.model_artifact_url }}"],
        },
        ProcessingInputs=[
            {
                "InputName": "features",
                "S3Input": {
                    "S3Uri": "{{ outputs.prep.output_artifacts.features }}",
                    "LocalPath": "/opt/ml/processing/input",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
    )
    parsed = parse_manifest(
        manifest(
            {"kind": "processing", "name": "prep", "request": prep_with_outputs("features")},
            {"kind": "training", "name": "fit", "inputs": train_inputs()},
            {"kind": "processing", "name": "score", "request": model},
        )
    )
    score = parsed.entry("score")
    assert score.after == ("fit", "prep")  # implied by the outputs it takes
    assert score.uses_outputs == (
        ("fit", "model_artifact_url"),
        ("prep", "output_artifacts.features"),
    )
    outputs = {
        "fit": {"model_artifact_url": "s3://m/fit/model.tar.gz"},
        "prep": {"output_artifacts": {"features": "s3://f/prep"}},
    }
    filled = fill_outputs(score.request, outputs)
    assert filled["AppSpecification"]["ContainerArguments"] == ["--model=s3://m/fit/model.tar.gz"]
    assert filled["ProcessingInputs"][0]["S3Input"]["S3Uri"] == "s3://f/prep"
    with pytest.raises(KeyError, match="fit has no output 'model_artifact_url'"):
        fill_outputs(score.request, {"fit": {"job_name": "x"}})


def test_outputs_of_an_unknown_entry_are_a_problem_with_a_hint() -> None:
    request = raw_processing(
        AppSpecification={"ImageUri": IMAGE, "ContainerArguments": ["{{ outputs.fitt.x }}"]}
    )
    found = problems_of(
        manifest(
            {"kind": "processing", "name": "fit", "request": raw_processing()},
            {"kind": "processing", "name": "score", "request": request},
        )
    )
    assert found == [
        "jobs[1].request.AppSpecification.ContainerArguments[0]: uses outputs.fitt.x: no entry 'fitt' (did you mean 'fit'?) "
        "(name one entry id, not a sweep)"
    ]


def test_an_output_the_upstream_kind_cannot_give_is_a_problem_before_anything_runs() -> None:
    def scoring(*references: str) -> dict[str, Any]:
        arguments = [f"{{{{ outputs.{reference} }}}}" for reference in references]
        return raw_processing(AppSpecification={"ImageUri": IMAGE, "ContainerArguments": arguments})

    found = problems_of(
        manifest(
            {"kind": "training", "name": "b", "inputs": train_inputs()},
            {"kind": "processing", "name": "prep", "request": raw_processing()},
            {"kind": "processing", "name": "c", "request": scoring("b.model_artifct_url")},
            {"kind": "processing", "name": "d", "request": scoring("b.metrics", "prep.job_name.x")},
            {"kind": "processing", "name": "e", "request": scoring("b.metrics.auc")},
            {"kind": "processing", "name": "p2", "request": prep_with_outputs("features", "test")},
            {"kind": "processing", "name": "f", "request": scoring("p2.output_artifacts.featurs")},
            {"kind": "processing", "name": "g", "request": scoring("p2.output_artifacts.test")},
        )
    )
    assert found == [
        "jobs[2].request.AppSpecification.ContainerArguments[0]: uses outputs.b.model_artifct_url: a training job has no output "
        "'model_artifct_url' (did you mean 'model_artifact_url'?) (training outputs: job_name, "
        "metrics, model_artifact_url, training_image)",
        "jobs[3].request.AppSpecification.ContainerArguments[0]: uses outputs.b.metrics: 'metrics' is a mapping: name one of its keys "
        "(metrics.<key>)",
        "jobs[3].request.AppSpecification.ContainerArguments[1]: uses outputs.prep.job_name.x: 'job_name' is a single value, with no "
        "key 'x'",
        "jobs[6].request.AppSpecification.ContainerArguments[0]: uses "
        "outputs.p2.output_artifacts.featurs: p2's request names no output_artifacts 'featurs' "
        "(did you mean 'features'?) (its output_artifacts: features, test)",
    ]


# --- every problem in one run ------------------------------------------------------------------


def test_every_problem_of_a_faulty_manifest_is_listed_in_one_run() -> None:
    """The trial's manifest took three runs: each stage stopped at the first stage's problems."""
    bad_request = raw_processing(
        ProcessingResources={
            "ClusterConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": -1,
                "VolumeSizeInGB": 10,
            }
        },
        AppSpecificaton={"ImageUri": IMAGE},
        ProcessingInputs=[
            {
                "InputName": "in",
                "S3Input": {
                    "S3Uri": "s3://b/in",
                    "LocalPath": "/opt/ml/processing/in",
                    "S3DataType": "S3Prefx",
                    "S3InputMode": "File",
                },
            }
        ],
    )
    found = problems_of(
        manifest(
            {"kind": "trainnig", "name": "a", "inputs": train_inputs()},
            {
                "kind": "training",
                "name": "b",
                "matrix": {"lr": ["0.1"]},
                "inputs": train_inputs(
                    hyperparameters={"eta": "{{ matrix.lr }}"}, volume_size=-5, instance_cont=2
                ),
                "after": ["nonexistent"],
            },
            {"kind": "processing", "name": "c", "request": bad_request},
            {
                "kind": "training",
                "name": "d",
                "inputs": {"image": IMAGE, "max_run_time": "{{ matrix.x }}"},
                "after": ["zz"],
            },
        )
    )
    text = "\n".join(found)
    assert "jobs[0].kind: 'trainnig' is not a job kind (did you mean 'training'?)" in text
    assert "jobs[1](b-lr-0-1).inputs.instance_cont: is not an input of the train component" in text
    assert "jobs[1](b-lr-0-1).inputs.volume_size:" in text
    assert "jobs[1].after: no entry named 'nonexistent' in the manifest" in text
    assert "jobs[2].request.AppSpecificaton: is not a known field" in text
    assert (
        "jobs[2].request.ProcessingResources.ClusterConfig.InstanceCount: must be at least 1"
        in text
    )
    assert "S3DataType: must be one of" in text
    assert "jobs[3].inputs.max_run_time: uses matrix.x, not in the entry's matrix" in text
    assert "jobs[3].inputs.channels: is required" in text
    assert "jobs[3].after: no entry named 'zz' in the manifest" in text
    # Nothing that is only another problem's consequence: the unfilled placeholder's input
    # is not also "not a valid ..."; the entry with the unknown kind has no input problems.
    assert not [line for line in found if "max_run_time" in line and "matrix.x" not in line]
    assert not [line for line in found if line.startswith("jobs[0]") and ".kind" not in line]


def test_an_after_in_an_entry_that_cannot_be_read_is_still_checked() -> None:
    found = problems_of(
        manifest(
            {
                "kind": "processing",
                "name": "a",
                "request": raw_processing(),
                "count": 0,
                "after": ["zz"],
            },
        )
    )
    assert "jobs[0].after: no entry named 'zz' in the manifest" in "\n".join(found)


# --- batch ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", ["bad batch/../x", "a/b", "..", "x" * 65, "-lead", "a..b", ""])
def test_a_batch_id_outside_the_safe_alphabet_is_refused(batch: str) -> None:
    data = manifest({"kind": "processing", "name": "a", "request": raw_processing()})
    found = problems_of({**data, "batch": batch}) if batch else []
    if batch:
        assert len(found) == 1 and found[0].startswith("batch: must be 1 to 64 letters, digits")
    with pytest.raises(ManifestInvalid, match=r"--batch-id: must be 1 to 64"):
        parse_manifest(data, batch_id=batch or " ")


def test_a_safe_batch_id_is_taken() -> None:
    data = manifest({"kind": "processing", "name": "a", "request": raw_processing()})
    assert parse_manifest({**data, "batch": "Nightly_2026.12-01"}).batch_id == "Nightly_2026.12-01"
    assert parse_manifest(data, batch_id="x" * 64).batch_id == "x" * 64
