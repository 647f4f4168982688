"""AddTags/ListTags/DeleteTags on jobs and endpoints, and Search over training jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from support import requests as req
from support.stats import fetch_stats

LONG = {"emulator:duration-seconds": 30}
TRAINING_JOB_FIELDS = set(
    botocore.session.get_session().get_service_model("sagemaker").shape_for("TrainingJob").members
)


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = caught.value.response["Error"]["Code"]
    return code


async def search_names(sagemaker: Any, **kwargs: Any) -> list[str]:
    """Every training job name Search finds, across all pages, in the order returned."""
    names: list[str] = []
    while True:
        page = await sagemaker.search(Resource="TrainingJob", **kwargs)
        names.extend(r["TrainingJob"]["TrainingJobName"] for r in page["Results"])
        if "NextToken" not in page:
            return names
        kwargs["NextToken"] = page["NextToken"]


def by_tag(key: str, value: str, operator: str = "Equals") -> dict[str, Any]:
    return {"Filters": [{"Name": f"Tags.{key}", "Operator": operator, "Value": value}]}


# --- tags -----------------------------------------------------------------------------------


async def test_tags_on_a_training_job(sagemaker: Any, emulator: Any) -> None:
    created = await sagemaker.create_training_job(
        **req.training("tagged", Tags=req.tags(team="ml", **LONG))
    )
    arn = created["TrainingJobArn"]
    listed = await sagemaker.list_tags(ResourceArn=arn)
    assert {t["Key"]: t["Value"] for t in listed["Tags"]} == {
        "team": "ml",
        "emulator:duration-seconds": "30",
    }

    added = await sagemaker.add_tags(ResourceArn=arn, Tags=req.tags(team="vision", owner="ana"))
    assert added["Tags"] == req.tags(team="vision", owner="ana")
    await sagemaker.delete_tags(
        ResourceArn=arn, TagKeys=["emulator:duration-seconds", "never-there"]
    )
    listed = await sagemaker.list_tags(ResourceArn=arn)
    assert {t["Key"]: t["Value"] for t in listed["Tags"]} == {"team": "vision", "owner": "ana"}

    # The job holds the same tags: its stats row shows the change.
    [row] = (await fetch_stats(emulator.url))["jobs"]
    assert row["tags"] == {"team": "vision", "owner": "ana"}


async def test_tags_on_an_endpoint_and_on_nothing(sagemaker: Any, emulator: Any) -> None:
    await sagemaker.create_model(**req.model("m", Tags=req.tags(stage="dev")))
    await sagemaker.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {
                "VariantName": "v",
                "ModelName": "m",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    endpoint_arn = (await sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c"))[
        "EndpointArn"
    ]
    assert (await sagemaker.list_tags(ResourceArn=endpoint_arn))["Tags"] == []

    await sagemaker.add_tags(ResourceArn=endpoint_arn, Tags=req.tags(owner="ana", cost="team-a"))
    await sagemaker.delete_tags(ResourceArn=endpoint_arn, TagKeys=["cost"])
    assert (await sagemaker.list_tags(ResourceArn=endpoint_arn))["Tags"] == req.tags(owner="ana")
    [row] = [r for r in (await fetch_stats(emulator.url))["jobs"] if r["kind"] == "endpoint"]
    assert row["tags"] == {"owner": "ana"}

    model_arn = (await sagemaker.describe_model(ModelName="m"))["ModelArn"]
    assert (await sagemaker.list_tags(ResourceArn=model_arn))["Tags"] == req.tags(stage="dev")
    await sagemaker.delete_model(ModelName="m")
    unknown = "arn:aws:sagemaker:us-east-1:123456789012:training-job/never-created"
    for arn in (model_arn, unknown):
        with pytest.raises(ClientError) as caught:
            await sagemaker.list_tags(ResourceArn=arn)
        assert error_code(caught) == "ValidationException"
        with pytest.raises(ClientError) as caught:
            await sagemaker.add_tags(ResourceArn=arn, Tags=req.tags(a=1))
        assert error_code(caught) == "ValidationException"


async def test_add_tags_keeps_aws_rules(sagemaker: Any) -> None:
    arn = (await sagemaker.create_training_job(**req.training("rules", Tags=req.tags(**LONG))))[
        "TrainingJobArn"
    ]
    with pytest.raises(ClientError) as caught:
        await sagemaker.add_tags(ResourceArn=arn, Tags=req.tags(**{"aws:owner": "x"}))
    assert error_code(caught) == "ValidationException"

    await sagemaker.add_tags(ResourceArn=arn, Tags=req.tags(**{f"k{i}": i for i in range(49)}))
    with pytest.raises(ClientError) as caught:
        await sagemaker.add_tags(ResourceArn=arn, Tags=req.tags(one_too_many=1))
    assert error_code(caught) == "ValidationException"
    # Overwriting a tag it has is still fine at the limit.
    await sagemaker.add_tags(ResourceArn=arn, Tags=req.tags(k0="zero"))
    page = await sagemaker.list_tags(ResourceArn=arn, MaxResults=50)
    assert len(page["Tags"]) == 50 and "NextToken" not in page


# --- search ---------------------------------------------------------------------------------


async def test_search_by_tag_finds_exactly_the_tagged_training_jobs(sagemaker: Any) -> None:
    for name, batch in (
        ("a-1", "nightly"),
        ("a-2", "nightly"),
        ("b-1", "weekly"),
        ("a-3", "nightly"),
    ):
        await sagemaker.create_training_job(
            **req.training(name, Tags=req.tags(batch=batch, **LONG))
        )
    await sagemaker.create_training_job(**req.training("untagged", Tags=req.tags(**LONG)))
    # Other kinds carrying the same tag are not training jobs.
    await sagemaker.create_processing_job(
        **req.processing("p-1", Tags=req.tags(batch="nightly", **LONG))
    )
    await sagemaker.create_model(**req.model("m"))
    await sagemaker.create_transform_job(
        **req.transform("t-1", "m", Tags=req.tags(batch="nightly", **LONG))
    )

    result = await sagemaker.search(
        Resource="TrainingJob", SearchExpression=by_tag("batch", "nightly")
    )
    records = [r["TrainingJob"] for r in result["Results"]]
    assert [r["TrainingJobName"] for r in records] == ["a-3", "a-2", "a-1"]  # newest first
    assert result["TotalHits"] == {"Value": 3, "Relation": "EqualTo"}
    record = records[0]
    assert set(record) <= TRAINING_JOB_FIELDS
    assert record["TrainingJobStatus"] == "InProgress"
    assert record["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert {"Key": "batch", "Value": "nightly"} in record["Tags"]
    assert isinstance(record["CreationTime"], dt.datetime)

    assert await search_names(sagemaker, SearchExpression=by_tag("batch", "weekly")) == ["b-1"]
    exists = {"Filters": [{"Name": "Tags.batch", "Operator": "Exists"}]}
    assert sorted(await search_names(sagemaker, SearchExpression=exists)) == [
        "a-1",
        "a-2",
        "a-3",
        "b-1",
    ]
    missing = {"Filters": [{"Name": "Tags.batch", "Operator": "NotExists"}]}
    assert await search_names(sagemaker, SearchExpression=missing) == ["untagged"]


async def test_search_refuses_resources_it_does_not_have(sagemaker: Any) -> None:
    # The Search API has no ProcessingJob or TransformJob resource; SageMaker refuses them.
    for resource in ("ProcessingJob", "TransformJob", "Experiment"):
        with pytest.raises(ClientError) as caught:
            await sagemaker.search(Resource=resource)
        assert error_code(caught) == "ValidationException"


async def test_search_pages_and_sorts(sagemaker: Any) -> None:
    names = [f"job-{i}" for i in range(7)]
    for name in names:
        await sagemaker.create_training_job(**req.training(name, Tags=req.tags(batch="b", **LONG)))
    await sagemaker.create_training_job(**req.training("other", Tags=req.tags(**LONG)))

    first = await sagemaker.search(
        Resource="TrainingJob", SearchExpression=by_tag("batch", "b"), MaxResults=3
    )
    assert len(first["Results"]) == 3 and "NextToken" in first
    paged = await search_names(sagemaker, SearchExpression=by_tag("batch", "b"), MaxResults=3)
    assert paged == names[::-1]

    ascending = await search_names(
        sagemaker,
        SearchExpression=by_tag("batch", "b"),
        SortBy="TrainingJobName",
        SortOrder="Ascending",
        MaxResults=2,
    )
    assert ascending == names

    with pytest.raises(ClientError) as caught:
        await sagemaker.search(
            Resource="TrainingJob",
            SearchExpression=by_tag("batch", "b"),
            SortOrder="Ascending",
            NextToken=first["NextToken"],
        )
    assert error_code(caught) == "ValidationException"


async def test_search_expressions(sagemaker: Any) -> None:
    await sagemaker.create_training_job(
        **req.training("cpu-small", Tags=req.tags(team="a", **LONG))
    )
    gpu = req.training("gpu-large", Tags=req.tags(team="b", **LONG))
    gpu["ResourceConfig"]["InstanceType"] = "ml.p3.2xlarge"
    gpu["InputDataConfig"][0]["ChannelName"] = "validation"
    await sagemaker.create_training_job(**gpu)
    first = (await sagemaker.describe_training_job(TrainingJobName="cpu-small"))["CreationTime"]
    second = (await sagemaker.describe_training_job(TrainingJobName="gpu-large"))["CreationTime"]
    between = first + (second - first) / 2

    async def names(expression: dict[str, Any]) -> list[str]:
        return sorted(await search_names(sagemaker, SearchExpression=expression))

    def f(name: str, operator: str, value: str | None = None) -> dict[str, Any]:
        return {
            "Name": name,
            "Operator": operator,
            **({"Value": value} if value is not None else {}),
        }

    assert await names(
        {"Filters": [f("ResourceConfig.InstanceType", "Equals", "ml.p3.2xlarge")]}
    ) == ["gpu-large"]
    assert await names({"Filters": [f("TrainingJobName", "Contains", "small")]}) == ["cpu-small"]
    assert await names({"Filters": [f("Tags.team", "NotEquals", "a")]}) == ["gpu-large"]
    assert await names({"Filters": [f("Tags.team", "In", "a, b")]}) == ["cpu-small", "gpu-large"]
    assert await names({"Filters": [f("TrainingJobStatus", "Equals", "InProgress")]}) == [
        "cpu-small",
        "gpu-large",
    ]
    assert await names({"Filters": [f("CreationTime", "GreaterThan", between.isoformat())]}) == [
        "gpu-large"
    ]
    assert await names(
        {"Filters": [f("CreationTime", "LessThanOrEqualTo", str(between.timestamp()))]}
    ) == ["cpu-small"]
    either = {
        "Operator": "Or",
        "Filters": [f("Tags.team", "Equals", "a"), f("Tags.team", "Equals", "b")],
    }
    assert await names(either) == ["cpu-small", "gpu-large"]
    both = {"Filters": [f("Tags.team", "Equals", "a"), f("TrainingJobName", "Equals", "gpu-large")]}
    assert await names(both) == []
    nested = {
        "NestedFilters": [
            {
                "NestedPropertyName": "InputDataConfig",
                "Filters": [f("InputDataConfig.ChannelName", "Equals", "validation")],
            }
        ]
    }
    assert await names(nested) == ["gpu-large"]
    sub = {"Operator": "Or", "SubExpressions": [by_tag("team", "a"), nested]}
    assert await names(sub) == ["cpu-small", "gpu-large"]

    two_contains = {
        "Filters": [f("TrainingJobName", "Contains", "a"), f("Tags.team", "Contains", "a")]
    }
    with pytest.raises(ClientError) as caught:
        await sagemaker.search(Resource="TrainingJob", SearchExpression=two_contains)
    assert error_code(caught) == "ValidationException"
    with pytest.raises(ClientError) as caught:
        await sagemaker.search(
            Resource="TrainingJob", SearchExpression={"Filters": [f("Tags.team", "Equals")]}
        )
    assert error_code(caught) == "ValidationException"
