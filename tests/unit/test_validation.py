"""``runner.validation``: botocore's own checks plus the server-side constraints it leaves out."""

from __future__ import annotations

from typing import Any

import pytest

from runner.validation import Problem, RequestInvalid, aws_member_path, validate_request
from support.requests import training


def problems(request: dict[str, Any], operation: str = "CreateTrainingJob") -> list[Problem]:
    return validate_request("sagemaker", operation, request)


def paths(found: list[Problem]) -> list[str]:
    return [problem.path for problem in found]


def test_a_valid_request_has_no_problems() -> None:
    assert problems(training("valid-job")) == []


def test_valid_requests_of_other_operations_and_services_have_no_problems() -> None:
    assert problems({"MaxResults": 100, "StatusEquals": "Completed"}, "ListTrainingJobs") == []
    assert (
        validate_request("logs", "GetLogEvents", {"logGroupName": "/aws/x", "logStreamName": "s"})
        == []
    )


def test_missing_required_field() -> None:
    request = training("job")
    del request["RoleArn"]
    assert problems(request) == [Problem("RoleArn", "is required")]


def test_missing_required_field_in_a_nested_structure() -> None:
    request = training("job")
    del request["OutputDataConfig"]["S3OutputPath"]
    found = problems(request)
    assert paths(found) == ["OutputDataConfig.S3OutputPath"]
    assert found[0].rule == "is required"


def test_missing_required_field_in_a_list_item() -> None:
    found = problems(training("job", Tags=[{"Value": "v"}]))
    assert found == [Problem("Tags[0].Key", "is required")]


def test_unknown_field_names_the_valid_ones() -> None:
    found = problems(training("job", Bogus=1))
    assert paths(found) == ["Bogus"]
    assert found[0].rule.startswith("is not a known field (valid: TrainingJobName,")
    assert "ResourceConfig" in found[0].rule


def test_wrong_type_in_a_nested_structure() -> None:
    found = problems(training("job", instance_count="2"))  # type: ignore[arg-type]
    assert paths(found) == ["ResourceConfig.InstanceCount"]
    assert "must be of type int" in found[0].rule
    assert "got str '2'" in found[0].rule


def test_wrong_type_of_a_list() -> None:
    found = problems(training("job", Tags={"Key": "k", "Value": "v"}))
    assert paths(found) == ["Tags"]
    assert "must be of type" in found[0].rule


def test_below_minimum_value_and_length() -> None:
    request = training("job", RoleArn="arn:too-short")
    request["StoppingCondition"]["MaxRuntimeInSeconds"] = 0
    found = {problem.path: problem.rule for problem in problems(request)}
    assert found["StoppingCondition.MaxRuntimeInSeconds"] == "must be at least 1 (got 0)"
    assert found["RoleArn"].startswith("must have length at least 20")


def test_string_longer_than_its_maximum() -> None:
    found = problems(training("job", Tags=[{"Key": "k" * 129, "Value": "v"}]))
    assert found == [Problem("Tags[0].Key", "must be at most 128 characters long (is 129)")]


def test_name_longer_than_its_maximum_also_breaks_the_pattern() -> None:
    found = problems(training("a" * 64))
    assert paths(found) == ["TrainingJobName", "TrainingJobName"]
    assert found[0].rule == "must be at most 63 characters long (is 64)"
    assert found[1].rule.startswith("must match the pattern")


def test_number_above_its_maximum() -> None:
    request = training("job")
    request["ResourceConfig"]["KeepAlivePeriodInSeconds"] = 21601
    assert problems(request) == [
        Problem("ResourceConfig.KeepAlivePeriodInSeconds", "must be at most 21600 (got 21601)")
    ]
    assert paths(problems({"MaxResults": 101}, "ListTrainingJobs")) == ["MaxResults"]


def test_list_with_more_items_than_its_maximum() -> None:
    found = problems(training("job", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]))
    assert found == [Problem("Tags", "must have at most 50 items (has 51)")]


def test_map_key_longer_than_its_maximum() -> None:
    found = problems(training("job", HyperParameters={"k" * 257: "v"}))
    assert len(found) == 1
    assert found[0].path.startswith("HyperParameters.(key 'kkk")
    assert found[0].rule == "must be at most 256 characters long (is 257)"


def test_map_value_is_checked_under_its_key() -> None:
    found = problems(training("job", HyperParameters={"lr": "x" * 2501}))
    assert paths(found) == ["HyperParameters.lr"]


@pytest.mark.parametrize("name", ["under_score", "-leading-dash", "trailing-", "dots.are.bad"])
def test_pattern(name: str) -> None:
    found = problems(training(name))
    assert paths(found) == ["TrainingJobName"]
    assert found[0].rule.startswith("must match the pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def test_pattern_matches_the_whole_value_not_a_prefix() -> None:
    # "abc_def" starts with a valid name: only a full match may pass.
    assert paths(problems(training("abc_def"))) == ["TrainingJobName"]
    assert problems(training("abc--def")) == []


def test_enum_in_a_nested_structure() -> None:
    request = training("job")
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Stream"
    found = problems(request)
    assert found == [
        Problem(
            "AlgorithmSpecification.TrainingInputMode",
            "must be one of [Pipe, File, FastFile] (got 'Stream')",
        )
    ]


def test_long_enums_are_shortened_in_the_message() -> None:
    request = training("job")
    request["ResourceConfig"]["InstanceType"] = "ml.nope.large"
    found = problems(request)
    assert paths(found) == ["ResourceConfig.InstanceType"]
    assert found[0].rule.startswith("must be one of [ml.")
    assert ", ...] (got 'ml.nope.large')" in found[0].rule


def test_enum_in_a_list_item() -> None:
    request = training("job")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] = "Folder"
    assert paths(problems(request)) == ["InputDataConfig[0].DataSource.S3DataSource.S3DataType"]


def test_every_broken_constraint_is_reported() -> None:
    request = training(
        "bad_name", Tags=[{"Key": "k", "Value": "v"}, {"Key": "x" * 200, "Value": "v"}]
    )
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Stream"
    assert sorted(paths(problems(request))) == [
        "AlgorithmSpecification.TrainingInputMode",
        "Tags[1].Key",
        "TrainingJobName",
    ]


def test_type_errors_and_constraint_problems_are_reported_together() -> None:
    # One answer lists every problem: botocore's type error and the constraint checks.
    found = problems(training("a" * 100, instance_count=None))  # type: ignore[arg-type]
    assert sorted(paths(found)) == [
        "ResourceConfig.InstanceCount",
        "TrainingJobName",
        "TrainingJobName",
    ]


def test_a_field_botocore_refused_is_not_reported_again() -> None:
    # A number where a name goes: one type error, not also a pattern or length problem.
    found = problems(training(12345))  # type: ignore[arg-type]
    assert paths(found) == ["TrainingJobName"]
    assert "must be of type" in found[0].rule
    # Too short for botocore's minimum and not matching the pattern: the minimum only.
    found = problems(training("job", RoleArn="arn:short"))
    assert paths(found) == ["RoleArn"]
    assert found[0].rule.startswith("must have length at least 20")


def test_containers_of_the_wrong_type_do_not_break_the_constraint_checks() -> None:
    request = training("job", Tags={"Key": "k"}, HyperParameters=["not", "a", "map"])
    request["ResourceConfig"] = "ml.m5.xlarge"
    assert sorted(paths(problems(request))) == ["HyperParameters", "ResourceConfig", "Tags"]


def test_none_values_are_left_to_botocore() -> None:
    found = problems(training("job", VpcConfig=None))
    assert paths(found) == ["VpcConfig"]


def test_all_optional_members_accept_an_empty_request() -> None:
    assert validate_request("logs", "DescribeLogGroups", {}) == []
    assert problems({}, "ListTrainingJobs") == []


def test_operation_without_input_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    # Neither model has such an operation today; the branch is there for one that does.
    class NoInput:
        input_shape = None

    monkeypatch.setattr("runner.validation.operation_model", lambda service, operation: NoInput())
    assert validate_request("sagemaker", "Anything", {}) == []
    assert validate_request("sagemaker", "Anything", {"x": 1}) == [
        Problem("", "this operation takes no parameters")
    ]


def test_problem_and_request_invalid_messages() -> None:
    problem = Problem("ResourceConfig.InstanceCount", "is required")
    assert str(problem) == "ResourceConfig.InstanceCount: is required"
    assert str(Problem("", "this operation takes no parameters")) == (
        "(request): this operation takes no parameters"
    )
    error = RequestInvalid("CreateTrainingJob", [problem, Problem("RoleArn", "is required")])
    assert error.operation == "CreateTrainingJob"
    assert len(error.problems) == 2
    assert str(error).splitlines() == [
        "CreateTrainingJob: 2 invalid field(s):",
        "  - ResourceConfig.InstanceCount: is required",
        "  - RoleArn: is required",
    ]
    assert isinstance(error, ValueError)


# --- AWS's own words (Problem.aws), which the emulator answers with --------------------------


@pytest.mark.parametrize(
    ("path", "member"),
    [
        ("RoleSessionName", "roleSessionName"),
        ("ResourceConfig.VolumeSizeInGB", "resourceConfig.volumeSizeInGB"),
        ("Tags[0].Key", "tags.1.member.key"),
        ("A.B[2][3].C", "a.b.3.member.4.member.c"),
        ("HyperParameters.(key 'x')", None),
    ],
)
def test_aws_names_members_in_lower_camel_case_and_list_items_from_1(
    path: str, member: str | None
) -> None:
    assert aws_member_path(path) == member


def aws_words(service: str, operation: str, request: dict[str, Any]) -> dict[str, str | None]:
    return {p.path: p.aws for p in validate_request(service, operation, request)}


def test_each_server_side_rule_in_aws_words() -> None:
    request = training("x y")
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Filex"
    request["ResourceConfig"]["VolumeSizeInGB"] = -5
    request["Tags"] = [{"Key": "", "Value": "v"}]
    del request["RoleArn"]
    found = aws_words("sagemaker", "CreateTrainingJob", request)
    pattern = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    failed = "failed to satisfy constraint: Member must"
    assert found == {
        "RoleArn": f"Value null at 'roleArn' {failed} not be null",
        "TrainingJobName": f"Value 'x y' at 'trainingJobName' {failed} satisfy regular "
        f"expression pattern: {pattern}",
        "AlgorithmSpecification.TrainingInputMode": "Value 'Filex' at "
        f"'algorithmSpecification.trainingInputMode' {failed} satisfy enum value set: "
        "[Pipe, File, FastFile]",
        "ResourceConfig.VolumeSizeInGB": "Value '-5' at 'resourceConfig.volumeSizeInGB' "
        f"{failed} have value greater than or equal to 0",
        "Tags[0].Key": f"Value '' at 'tags.1.member.key' {failed} have length greater than or "
        "equal to 1",
    }


@pytest.mark.parametrize(
    ("seconds", "rule"),
    [(600, "greater than or equal to 900"), (90000, "less than or equal to 43200")],
)
def test_sts_session_name_and_duration_in_aws_words(seconds: int, rule: str) -> None:
    found = aws_words(
        "sts",
        "AssumeRole",
        {
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "RoleSessionName": "a:b",
            "DurationSeconds": seconds,
        },
    )
    assert found == {
        "RoleSessionName": "Value 'a:b' at 'roleSessionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        "DurationSeconds": f"Value '{seconds}' at 'durationSeconds' failed to satisfy "
        f"constraint: Member must have value {rule}",
    }
