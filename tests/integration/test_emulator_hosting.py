"""Models, endpoint configurations, endpoints and work teams through aiobotocore.

Endpoint durations are set per test with the ``emulator:duration-seconds`` tag, so every
lifecycle here takes a fraction of a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support import requests as req
from support.clock import HandClock
from support.requests import cognito_members
from support.stats import fetch_stats

ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"
# Long enough that "Creating"/"Updating" is still what a Describe right after sees on a busy
# machine, short enough that waiting for InService stays cheap.
QUICK = req.tags(**{"emulator:duration-seconds": 1.0})


async def wait_for_endpoint(sagemaker: Any, name: str, status: str) -> dict[str, Any]:
    """Poll DescribeEndpoint until the endpoint has ``status`` (at most 5 seconds)."""
    async with asyncio.timeout(5):
        while True:
            endpoint: dict[str, Any] = await sagemaker.describe_endpoint(EndpointName=name)
            if endpoint["EndpointStatus"] == status:
                return endpoint
            await asyncio.sleep(0.03)


def config_request(
    name: str, model_name: str, *, instances: int = 1, **overrides: Any
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InitialInstanceCount": instances,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            }
        ],
    }
    request.update(overrides)
    return request


async def deploy(
    sagemaker: Any, name: str, *, endpoint_tags: list[dict[str, str]] | None = None
) -> None:
    """A model ``<name>-model``, a config ``<name>-config`` and the endpoint ``name`` (Creating)."""
    await sagemaker.create_model(**req.model(f"{name}-model"))
    await sagemaker.create_endpoint_config(**config_request(f"{name}-config", f"{name}-model"))
    await sagemaker.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-config", Tags=endpoint_tags or QUICK
    )


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


# --- models and endpoint configurations -----------------------------------------------------


async def test_model_create_describe_delete(sagemaker: Any) -> None:
    request = req.model("churn-model", Tags=req.tags(team="ml"))
    created = await sagemaker.create_model(**request)
    assert created["ModelArn"] == f"{ARN_PREFIX}:model/churn-model"

    model = await sagemaker.describe_model(ModelName="churn-model")
    assert model["ModelArn"] == created["ModelArn"]
    # The request's container, in the single-model mode SageMaker fills in.
    assert model["PrimaryContainer"] == {**request["PrimaryContainer"], "Mode": "SingleModel"}
    assert model["ExecutionRoleArn"] == req.ROLE
    assert "CreationTime" in model and "Tags" not in model

    with pytest.raises(ClientError) as caught:
        await sagemaker.create_model(**req.model("churn-model"))
    assert error_of(caught) == (
        "ValidationException",
        f'Cannot create already existing model "{ARN_PREFIX}:model/churn-model".',
    )

    await sagemaker.delete_model(ModelName="churn-model")
    for call in (sagemaker.describe_model, sagemaker.delete_model):
        with pytest.raises(ClientError) as caught:
            await call(ModelName="churn-model")
        assert error_of(caught) == (
            "ValidationException",
            f'Could not find model "{ARN_PREFIX}:model/churn-model".',
        )


async def test_model_takes_primary_container_or_containers_not_both(sagemaker: Any) -> None:
    container = {"Image": req.IMAGE}
    with pytest.raises(ClientError) as caught:
        await sagemaker.create_model(**req.model("both", Containers=[container]))
    assert error_of(caught)[0] == "ValidationException"

    await sagemaker.create_model(
        ModelName="pipeline", ExecutionRoleArn=req.ROLE, Containers=[container, container]
    )
    model = await sagemaker.describe_model(ModelName="pipeline")
    served = {**container, "Mode": "SingleModel"}
    assert model["Containers"] == [served, served] and "PrimaryContainer" not in model


async def test_endpoint_config_needs_existing_models(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as caught:
        await sagemaker.create_endpoint_config(**config_request("cfg", "no-such-model"))
    assert error_of(caught) == (
        "ValidationException",
        f'Could not find model "{ARN_PREFIX}:model/no-such-model".',
    )

    await sagemaker.create_model(**req.model("m"))
    request = config_request("cfg", "m", instances=2)
    created = await sagemaker.create_endpoint_config(**request)
    assert created["EndpointConfigArn"] == f"{ARN_PREFIX}:endpoint-config/cfg"
    config = await sagemaker.describe_endpoint_config(EndpointConfigName="cfg")
    assert config["ProductionVariants"] == request["ProductionVariants"]
    assert config["EndpointConfigArn"] == created["EndpointConfigArn"]

    with pytest.raises(ClientError) as caught:
        await sagemaker.create_endpoint_config(**request)
    assert error_of(caught) == (
        "ValidationException",
        f'Cannot create already existing endpoint configuration "{ARN_PREFIX}:endpoint-config/cfg".',
    )

    await sagemaker.delete_endpoint_config(EndpointConfigName="cfg")
    with pytest.raises(ClientError) as caught:
        await sagemaker.describe_endpoint_config(EndpointConfigName="cfg")
    assert error_of(caught) == (
        "ValidationException",
        f'Could not find endpoint configuration "{ARN_PREFIX}:endpoint-config/cfg".',
    )


async def test_list_models_filters_sorts_and_pages(sagemaker: Any) -> None:
    names = ["alpha-1", "beta-1", "alpha-2", "gamma-1", "alpha-3"]
    for name in names:
        await sagemaker.create_model(**req.model(name))

    newest_first = await sagemaker.list_models()
    assert [m["ModelName"] for m in newest_first["Models"]] == names[::-1]
    assert set(newest_first["Models"][0]) == {"ModelName", "ModelArn", "CreationTime"}

    alphas = await sagemaker.list_models(NameContains="ALPHA", SortBy="Name", SortOrder="Ascending")
    assert [m["ModelName"] for m in alphas["Models"]] == ["alpha-1", "alpha-2", "alpha-3"]

    seen: list[str] = []
    pages = 0
    kwargs: dict[str, Any] = {"MaxResults": 2, "SortBy": "Name", "SortOrder": "Descending"}
    while True:
        page = await sagemaker.list_models(**kwargs)
        pages += 1
        seen.extend(m["ModelName"] for m in page["Models"])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == sorted(names, reverse=True) and pages == 3

    # Clients send times in whole seconds, so windows are checked a minute wide.
    created = newest_first["Models"][0]["CreationTime"]
    minute = dt.timedelta(minutes=1)
    assert len((await sagemaker.list_models(CreationTimeAfter=created - minute))["Models"]) == 5
    assert (await sagemaker.list_models(CreationTimeAfter=created + minute))["Models"] == []
    assert (await sagemaker.list_models(CreationTimeBefore=created - minute))["Models"] == []

    configs = await sagemaker.list_endpoint_configs()
    assert configs["EndpointConfigs"] == []


# --- endpoints ------------------------------------------------------------------------------


async def test_endpoint_is_created_then_in_service(sagemaker: Any, emulator: Any) -> None:
    await deploy(sagemaker, "ep")
    creating = await sagemaker.describe_endpoint(EndpointName="ep")
    assert creating["EndpointStatus"] == "Creating"
    assert creating["EndpointArn"] == f"{ARN_PREFIX}:endpoint/ep"
    assert creating["EndpointConfigName"] == "ep-config"
    assert "ProductionVariants" not in creating and "FailureReason" not in creating

    ready = await wait_for_endpoint(sagemaker, "ep", "InService")
    assert ready["LastModifiedTime"] > creating["LastModifiedTime"]
    assert ready["CreationTime"] == creating["CreationTime"]
    assert "LastDeploymentConfig" not in ready and "FailureReason" not in ready
    [variant] = ready["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert (variant["CurrentWeight"], variant["DesiredWeight"]) == (1.0, 1.0)
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (1, 1)
    assert variant["DeployedImages"][0]["SpecifiedImage"] == req.IMAGE
    assert "@sha256:" in variant["DeployedImages"][0]["ResolvedImage"]

    [row] = [r for r in (await fetch_stats(emulator.url))["jobs"] if r["kind"] == "endpoint"]
    assert row["name"] == "ep" and row["status"] == "InService"
    assert row["ended_at"] == pytest.approx(ready["LastModifiedTime"].timestamp(), abs=0.001)
    assert row["stop_requested_at"] is None


async def test_endpoint_fails_when_tagged_to(sagemaker: Any, emulator: Any) -> None:
    tags = req.tags(
        **{"emulator:duration-seconds": 0.2, "emulator:fail-reason": "Model failed health check"}
    )
    await deploy(sagemaker, "broken", endpoint_tags=tags)
    failed = await wait_for_endpoint(sagemaker, "broken", "Failed")
    assert failed["FailureReason"] == "Model failed health check"
    assert failed["EndpointConfigName"] == "broken-config"
    assert "ProductionVariants" not in failed

    await sagemaker.create_endpoint_config(**config_request("other-config", "broken-model"))
    with pytest.raises(ClientError) as caught:
        await sagemaker.update_endpoint(EndpointName="broken", EndpointConfigName="other-config")
    assert error_of(caught)[0] == "ValidationException"

    [row] = [r for r in (await fetch_stats(emulator.url))["jobs"] if r["kind"] == "endpoint"]
    assert row["status"] == "Failed" and row["ended_at"] is not None
    # A failed endpoint can be deleted.
    await sagemaker.delete_endpoint(EndpointName="broken")


async def test_update_moves_to_the_new_config(sagemaker: Any) -> None:
    await deploy(sagemaker, "ep")
    first = await wait_for_endpoint(sagemaker, "ep", "InService")
    await sagemaker.create_endpoint_config(**config_request("ep-bigger", "ep-model", instances=3))

    updated = await sagemaker.update_endpoint(EndpointName="ep", EndpointConfigName="ep-bigger")
    assert updated["EndpointArn"] == first["EndpointArn"]
    updating = await sagemaker.describe_endpoint(EndpointName="ep")
    assert updating["EndpointStatus"] == "Updating"
    # While it updates, the endpoint still serves the old config; the new one is pending.
    assert updating["EndpointConfigName"] == "ep-config"
    assert updating["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "ep-bigger"
    assert updating["LastModifiedTime"] > first["LastModifiedTime"]

    done = await wait_for_endpoint(sagemaker, "ep", "InService")
    assert done["EndpointConfigName"] == "ep-bigger"
    assert done["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    assert "FailureReason" not in done and "PendingDeploymentSummary" not in done
    assert done["LastModifiedTime"] > updating["LastModifiedTime"]


async def test_failed_update_rolls_back_to_the_old_config(sagemaker: Any, emulator: Any) -> None:
    await deploy(sagemaker, "ep")
    await wait_for_endpoint(sagemaker, "ep", "InService")
    bad_tags = req.tags(**{"emulator:fail-reason": "Image cannot be pulled"})
    await sagemaker.create_endpoint_config(
        **config_request("ep-bad", "ep-model", instances=2, Tags=bad_tags)
    )

    await sagemaker.update_endpoint(EndpointName="ep", EndpointConfigName="ep-bad")
    assert (await sagemaker.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Updating"
    rolled_back = await wait_for_endpoint(sagemaker, "ep", "InService")
    assert rolled_back["EndpointConfigName"] == "ep-config"
    assert rolled_back["FailureReason"] == "Image cannot be pulled"
    assert rolled_back["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    [row] = [r for r in (await fetch_stats(emulator.url))["jobs"] if r["kind"] == "endpoint"]
    assert row["status"] == "InService"
    assert row["ended_at"] == pytest.approx(rolled_back["LastModifiedTime"].timestamp(), abs=0.001)


async def test_update_and_delete_are_refused_while_creating(sagemaker: Any) -> None:
    await deploy(sagemaker, "slow", endpoint_tags=req.tags(**{"emulator:duration-seconds": 30}))
    arn = f"{ARN_PREFIX}:endpoint/slow"
    with pytest.raises(ClientError) as caught:
        await sagemaker.update_endpoint(EndpointName="slow", EndpointConfigName="slow-config")
    assert error_of(caught) == (
        "ValidationException",
        f'Cannot update in-progress endpoint "{arn}".',
    )
    with pytest.raises(ClientError) as caught:
        await sagemaker.delete_endpoint(EndpointName="slow")
    assert error_of(caught) == (
        "ValidationException",
        f'Cannot delete in-progress endpoint "{arn}".',
    )
    assert (await sagemaker.describe_endpoint(EndpointName="slow"))["EndpointStatus"] == "Creating"


async def test_delete_endpoint_goes_through_deleting_then_gone(
    sagemaker: Any, emulator: Any
) -> None:
    await deploy(sagemaker, "ep")
    await wait_for_endpoint(sagemaker, "ep", "InService")
    await sagemaker.delete_endpoint(EndpointName="ep")
    assert (await sagemaker.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Deleting"
    [row] = [r for r in (await fetch_stats(emulator.url))["jobs"] if r["kind"] == "endpoint"]
    assert row["stop_requested_at"] is not None

    await asyncio.sleep(emulator.emulator.config.stop_duration + 0.05)
    with pytest.raises(ClientError) as caught:
        await sagemaker.describe_endpoint(EndpointName="ep")
    assert error_of(caught) == (
        "ValidationException",
        f'Could not find endpoint "{ARN_PREFIX}:endpoint/ep".',
    )
    assert (await sagemaker.list_endpoints())["Endpoints"] == []
    assert f"{ARN_PREFIX}:endpoint/ep" not in emulator.emulator.tags

    # Once gone, the name can be used again.
    await sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="ep-config", Tags=QUICK)
    assert (await sagemaker.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Creating"


async def test_endpoint_errors_name_what_is_missing(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as caught:
        await sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="nope")
    assert error_of(caught) == (
        "ValidationException",
        f'Could not find endpoint configuration "{ARN_PREFIX}:endpoint-config/nope".',
    )
    for call, kwargs in (
        (sagemaker.describe_endpoint, {}),
        (sagemaker.delete_endpoint, {}),
        (sagemaker.update_endpoint, {"EndpointConfigName": "nope"}),
    ):
        with pytest.raises(ClientError) as caught:
            await call(EndpointName="ghost", **kwargs)
        assert error_of(caught) == (
            "ValidationException",
            f'Could not find endpoint "{ARN_PREFIX}:endpoint/ghost".',
        )

    await deploy(sagemaker, "ep")
    with pytest.raises(ClientError) as caught:
        await sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="ep-config")
    assert error_of(caught) == (
        "ValidationException",
        f'Cannot create already existing endpoint "{ARN_PREFIX}:endpoint/ep".',
    )
    await wait_for_endpoint(sagemaker, "ep", "InService")
    with pytest.raises(ClientError) as caught:
        await sagemaker.update_endpoint(EndpointName="ep", EndpointConfigName="nope")
    assert (
        error_of(caught)[1]
        == f'Could not find endpoint configuration "{ARN_PREFIX}:endpoint-config/nope".'
    )


async def test_list_endpoints_filters_and_pages(sagemaker: Any, emulator: Any) -> None:
    # On a hand-moved clock: the endpoints are created 0.1 s apart and listed when both fast
    # ones are InService (1 s each) and the slow one is still Creating, whatever the machine.
    clock = emulator.emulator.clock = HandClock()
    await deploy(sagemaker, "fast-a")
    clock.advance(0.1)
    await sagemaker.create_endpoint(
        EndpointName="fast-b", EndpointConfigName="fast-a-config", Tags=QUICK
    )
    clock.advance(0.1)
    slow = req.tags(**{"emulator:duration-seconds": 30})
    await sagemaker.create_endpoint(
        EndpointName="slow-c", EndpointConfigName="fast-a-config", Tags=slow
    )
    clock.advance(1.5)
    await wait_for_endpoint(sagemaker, "fast-b", "InService")

    in_service = await sagemaker.list_endpoints(
        StatusEquals="InService", SortBy="Name", SortOrder="Ascending"
    )
    assert [e["EndpointName"] for e in in_service["Endpoints"]] == ["fast-a", "fast-b"]
    summary = in_service["Endpoints"][0]
    assert set(summary) == {
        "EndpointName",
        "EndpointArn",
        "CreationTime",
        "LastModifiedTime",
        "EndpointStatus",
    }

    creating = await sagemaker.list_endpoints(StatusEquals="Creating")
    assert [e["EndpointName"] for e in creating["Endpoints"]] == ["slow-c"]
    assert [
        e["EndpointName"]
        for e in (await sagemaker.list_endpoints(NameContains="fast"))["Endpoints"]
    ] == [
        "fast-b",
        "fast-a",
    ]

    first = await sagemaker.list_endpoints(MaxResults=2, SortBy="Status", SortOrder="Ascending")
    second = await sagemaker.list_endpoints(
        MaxResults=2, SortBy="Status", SortOrder="Ascending", NextToken=first["NextToken"]
    )
    statuses = [e["EndpointStatus"] for e in first["Endpoints"] + second["Endpoints"]]
    assert statuses == ["Creating", "InService", "InService"] and "NextToken" not in second

    # fast-b reached InService after fast-a; slow-c has not changed since it was created.
    just_after_a = summary["LastModifiedTime"] + dt.timedelta(milliseconds=1)
    modified_since = await sagemaker.list_endpoints(LastModifiedTimeAfter=just_after_a)
    assert [e["EndpointName"] for e in modified_since["Endpoints"]] == ["fast-b"]


# --- work teams -----------------------------------------------------------------------------


async def test_workteam_create_describe_list_delete(sagemaker: Any) -> None:
    created = await sagemaker.create_workteam(
        WorkteamName="labelers",
        MemberDefinitions=cognito_members(),
        Description="People who draw boxes",
        NotificationConfiguration={
            "NotificationTopicArn": "arn:aws:sns:us-east-1:123456789012:tasks"
        },
        Tags=req.tags(team="vision"),
    )
    assert created["WorkteamArn"] == f"{ARN_PREFIX}:workteam/private-crowd/labelers"

    team = (await sagemaker.describe_workteam(WorkteamName="labelers"))["Workteam"]
    assert team["WorkteamName"] == "labelers"
    assert team["WorkteamArn"] == created["WorkteamArn"]
    assert team["WorkforceArn"] == f"{ARN_PREFIX}:workforce/default"
    assert team["MemberDefinitions"] == cognito_members()
    assert team["Description"] == "People who draw boxes"
    assert team["ProductListingIds"] == []
    assert team["NotificationConfiguration"]["NotificationTopicArn"].endswith(":tasks")
    assert team["SubDomain"] and team["CreateDate"] == team["LastUpdatedDate"]

    with pytest.raises(ClientError) as caught:
        await sagemaker.create_workteam(
            WorkteamName="labelers", MemberDefinitions=cognito_members(), Description="again"
        )
    assert error_of(caught)[0] == "ResourceInUse"

    await sagemaker.create_workteam(
        WorkteamName="reviewers",
        MemberDefinitions=[{"OidcMemberDefinition": {"Groups": ["qa"]}}],
        Description="Second opinion",
    )
    listed = await sagemaker.list_workteams()
    assert [t["WorkteamName"] for t in listed["Workteams"]] == ["labelers", "reviewers"]
    by_name = await sagemaker.list_workteams(SortBy="Name", SortOrder="Descending", MaxResults=1)
    assert [t["WorkteamName"] for t in by_name["Workteams"]] == ["reviewers"]
    rest = await sagemaker.list_workteams(
        SortBy="Name", SortOrder="Descending", MaxResults=1, NextToken=by_name["NextToken"]
    )
    assert [t["WorkteamName"] for t in rest["Workteams"]] == [
        "labelers"
    ] and "NextToken" not in rest
    assert [
        t["WorkteamName"]
        for t in (await sagemaker.list_workteams(NameContains="review"))["Workteams"]
    ] == ["reviewers"]

    assert (await sagemaker.delete_workteam(WorkteamName="labelers"))["Success"] is True
    for call in (sagemaker.describe_workteam, sagemaker.delete_workteam):
        with pytest.raises(ClientError) as caught:
            await call(WorkteamName="labelers")
        code, message = error_of(caught)
        assert code == "ValidationException" and "does not exist" in message


async def test_workteam_members_are_cognito_or_oidc_not_both(sagemaker: Any) -> None:
    mixed = [*cognito_members(), {"OidcMemberDefinition": {"Groups": ["qa"]}}]
    with pytest.raises(ClientError) as caught:
        await sagemaker.create_workteam(
            WorkteamName="mixed", MemberDefinitions=mixed, Description="x"
        )
    assert error_of(caught)[0] == "ValidationException"
    assert (await sagemaker.list_workteams())["Workteams"] == []
