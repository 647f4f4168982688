"""``prepare_request``: the one place a request as sent (name, tags, digest) is made, and the
runner, the launcher's manifest check and its entries agreeing on it."""

from __future__ import annotations

from typing import Any

import pytest

from runner.config import RunnerConfig
from runner.core import Runner
from runner.kinds import KINDS
from runner.naming import DIGEST_TAG, IDENTITY_TAG, KIND_TAG, RUN_ID_TAG, Identity
from runner.requests import prepare_request
from runner.validation import RequestInvalid
from smrun.launcher.manifest import ManifestInvalid, parse_manifest

ROLE = "arn:aws:iam::123456789012:role/sm"
PROCESSING = {
    "RoleArn": ROLE,
    "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1"},
    "ProcessingResources": {
        "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10}
    },
}
IDENTITY = Identity("b1", "prep")


def tags_of(body: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in body["Tags"]}


def test_a_request_gets_its_derived_name_and_the_runners_tags() -> None:
    prepared = prepare_request(
        "processing",
        {**PROCESSING, "Tags": [{"Key": "team", "Value": "a"}]},
        identity=IDENTITY,
        run_tags={"env": "test"},
        tags={"team": "b"},
    )
    assert prepared.name is not None and prepared.name.startswith("ProcessingJob-prep-")
    assert prepared.body["ProcessingJobName"] == prepared.name
    assert tags_of(prepared.body) == {
        "team": "b",  # the caller's tags win over the request's
        "env": "test",
        DIGEST_TAG: prepared.digest,
        KIND_TAG: "processing",
        IDENTITY_TAG: "b1/prep",
        RUN_ID_TAG: "b1",
    }
    assert prepared.problems() == []
    # The same identity, the same name: a resumed batch asks for the same job.
    assert prepare_request("processing", PROCESSING, identity=IDENTITY).name == prepared.name
    # Name and tags are not what the job does.
    assert prepare_request("processing", {**PROCESSING, "ProcessingJobName": "x"}).digest == (
        prepared.digest
    )


def test_malformed_tags_are_left_for_the_check_to_name() -> None:
    prepared = prepare_request("processing", {**PROCESSING, "Tags": "team=a"}, identity=IDENTITY)
    assert prepared.body["Tags"] == "team=a"
    assert [p.path for p in prepared.problems()] == ["Tags"]


def test_an_update_takes_no_tags_and_never_a_derived_name() -> None:
    update = {"EndpointName": "ep-1", "EndpointConfigName": "cfg-2"}
    prepared = prepare_request("endpoint_update", update, identity=IDENTITY)
    assert prepared.body == update and prepared.name == "ep-1"
    unnamed = prepare_request("endpoint_update", {"EndpointConfigName": "cfg-2"}, identity=IDENTITY)
    assert unnamed.name is None
    assert [(p.path, p.rule) for p in unnamed.problems()] == [("EndpointName", "is required")]


def test_runner_and_manifest_both_refuse_an_update_that_names_no_endpoint() -> None:
    """UpdateEndpoint's EndpointName is required and names an existing endpoint (botocore's
    model): a derived name never does, so the core, the manifest check and the entry agree to
    refuse it rather than derive one."""
    runner = Runner(RunnerConfig())
    with pytest.raises(RequestInvalid) as refused:
        runner.prepare("endpoint_update", {"EndpointConfigName": "cfg-2"}, identity=IDENTITY)
    assert [p.path for p in refused.value.problems] == ["EndpointName"]
    data = {
        "batch": "b1",
        "jobs": [{"kind": "endpoint_update", "request": {"EndpointConfigName": "cfg-2"}}],
    }
    with pytest.raises(ManifestInvalid) as invalid:
        parse_manifest(data)
    assert [str(p) for p in invalid.value.problems] == ["jobs[0].request.EndpointName: is required"]
    named = {
        "kind": "endpoint_update",
        "request": {"EndpointName": "ep-1", "EndpointConfigName": "c"},
    }
    (entry,) = parse_manifest({**data, "jobs": [named]}).entries
    assert entry.job_name == "ep-1" == runner.prepare(entry.kind, entry.request).name


REQUESTS: dict[str, dict[str, Any]] = {
    "processing": PROCESSING,
    "model": {"ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "i"}},
    "endpoint_config": {
        "ProductionVariants": [
            {
                "VariantName": "v",
                "ModelName": "m",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ]
    },
    "endpoint": {"EndpointConfigName": "cfg"},
    "endpoint_update": {"EndpointName": "ep", "EndpointConfigName": "cfg"},
}


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_entries_name_and_digest_their_jobs_as_the_runner_sends_them(kind: str) -> None:
    data = {"batch": "b1", "jobs": [{"kind": kind, "name": "one", "request": REQUESTS[kind]}]}
    (entry,) = parse_manifest(data).entries
    runner = Runner(RunnerConfig(run_tags={"env": "test"}))
    for retry in (0, 1):
        sent = runner.prepare(kind, entry.request, identity=entry.identity_for(retry))
        assert entry.job_name_for(retry) == sent.name
        assert entry.digest == sent.digest
        assert KINDS[kind].name_field in sent.body
