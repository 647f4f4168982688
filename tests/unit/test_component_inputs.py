"""Component inputs: problems collected all at once, and named by the input that fills a field."""

from __future__ import annotations

import pytest

from components.common.inputs import InputChecks, InputError, InputProblem, input_for_field
from components.common.spec import Input

FIELDS = {
    "ResourceConfig.VolumeSizeInGB": "volume_size",
    "Tags": "tags",
    "ProductionVariants[1].InstanceType": "instance_type_3",
    "ProductionVariants.InstanceType": "instance_type_any",
    "AlgorithmSpecification": "image",
    "AlgorithmSpecification.TrainingInputMode": "training_input_mode",
}


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("ResourceConfig.VolumeSizeInGB", "volume_size"),
        ("Tags[3].Key", "tags"),
        ("ProductionVariants[1].InstanceType", "instance_type_3"),  # its index first
        ("ProductionVariants[0].InstanceType", "instance_type_any"),  # then without
        ("AlgorithmSpecification.TrainingInputMode", "training_input_mode"),  # the longest
        ("AlgorithmSpecification.MetricDefinitions[0].Regex", "image"),
        ("ResourceConfig", None),  # a parent is not its member
        ("ResourceConfig.VolumeSizeInGBx", None),
    ],
)
def test_a_field_is_named_by_the_input_that_fills_it(path: str, name: str | None) -> None:
    assert input_for_field(FIELDS, path) == name


def test_every_problem_is_kept_and_a_stand_in_s_consequences_are_not() -> None:
    checks = InputChecks()

    def fails(name: str) -> int:
        raise InputError(name, "is wrong")

    checks.unreadable.add("channels")
    checks.add("channels", "must have at least one channel")  # the stand-in's, dropped
    assert checks.attempt(fails, "image", default=7, field="AlgorithmSpecification") == 7
    checks.add("role", "is required")
    assert checks.failed_fields == {"AlgorithmSpecification"}
    with pytest.raises(InputError) as caught:
        checks.raise_if_any(
            [InputProblem("role", "again"), InputProblem("volume_size", "too small", "X.Y")]
        )
    assert [str(p) for p in caught.value.problems] == [
        "input 'image': is wrong",
        "input 'role': is required",
        "input 'volume_size' [X.Y]: too small",
    ]
    assert str(caught.value).splitlines()[0] == "3 problems with the inputs:"
    assert (caught.value.name, caught.value.rule) == ("image", "is wrong")  # the first


def test_no_problem_raises_nothing() -> None:
    InputChecks().raise_if_any()


def test_a_bad_type_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match="unknown type"):
        Input("x", "Str", "")
