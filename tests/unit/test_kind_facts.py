"""Every fact about a kind lives on its ``JobKind``, and every kind states each one.

A new kind that forgets a fact fails here: its console link, its instances, whether and when
it can be stopped, whether its Create takes tags, how an update is judged, and (for the kinds
a component builds) the component. Checked against botocore's SageMaker model where the
model says it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from botocore.model import Shape, StructureShape

from components.registry import BUILDERS
from runner.kinds import KINDS, JobKind
from runner.validation import operation_model
from smrun.launcher.vocabulary import ALIASES, COMPONENTS, canonical_kind

REPO = Path(__file__).resolve().parents[2]
ALL = list(KINDS.values())
ids = [kind.key for kind in ALL]


def create_input(kind: JobKind) -> dict[str, Shape]:
    shape = operation_model("sagemaker", kind.create).input_shape
    assert isinstance(shape, StructureShape)
    return dict(shape.members)


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_each_kind_has_a_console_page(kind: JobKind) -> None:
    assert kind.console_path and not kind.console_path.startswith("/"), kind.key


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_each_kinds_instance_path_is_in_its_create_request(kind: JobKind) -> None:
    if kind.instance_path is None:
        # Only kinds whose logs are not named per instance may say nothing of instances.
        assert kind.log_group is None or kind.log_stream_per_job, kind.key
        return
    shape: Shape = operation_model("sagemaker", kind.create).input_shape  # type: ignore[assignment]
    for key in kind.instance_path:
        assert isinstance(shape, StructureShape) and key in shape.members, (kind.key, key)
        shape = shape.members[key]
    assert isinstance(shape, StructureShape)
    assert "InstanceType" in shape.members or "InstanceGroups" in shape.members, kind.key


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_each_kind_says_when_it_can_be_stopped(kind: JobKind) -> None:
    if kind.stop_operation is None:
        assert not kind.stoppable_states, kind.key
        return
    assert (
        kind.stop_operation
        in operation_model("sagemaker", kind.create).service_model.operation_names
    )
    # cleanup lists the stoppable ones by status: the kind must be listable by status.
    assert kind.list_operation and kind.status_field, kind.key
    listing = operation_model("sagemaker", kind.list_operation).input_shape
    assert isinstance(listing, StructureShape) and "StatusEquals" in listing.members
    allowed = set(listing.members["StatusEquals"].enum)
    assert kind.stoppable_states and kind.stoppable_states <= allowed, kind.key
    assert not kind.stoppable_states & kind.states.terminal, kind.key


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_takes_tags_is_what_the_create_operation_takes(kind: JobKind) -> None:
    assert kind.takes_tags == ("Tags" in create_input(kind)), kind.key


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_an_update_names_what_it_changes_and_is_no_resource_of_its_own(kind: JobKind) -> None:
    members = create_input(kind)
    if kind.update is None:
        assert kind.derives_name and kind.create.startswith("Create"), kind.key
        return
    target = kind.update.of
    assert not kind.derives_name and not kind.takes_tags
    assert members[kind.name_field].name == create_input(target)[target.name_field].name
    assert kind.name_field in operation_model("sagemaker", kind.create).input_shape.required_members  # type: ignore[union-attr]
    assert kind.update.wanted_field in members
    assert kind.describe == target.describe and kind.states == target.states
    assert kind.update.in_progress not in kind.states.terminal


@pytest.mark.parametrize("kind", ALL, ids=ids)
def test_a_kind_deleted_when_stopped_has_that_operation(kind: JobKind) -> None:
    if kind.delete_operation is None:
        return
    operation = operation_model("sagemaker", kind.delete_operation)
    assert set(operation.input_shape.required_members) == {kind.name_field}  # type: ignore[union-attr]


def test_children_are_listed_by_their_parent() -> None:
    for kind in ALL:
        if kind.children is None:
            continue
        listing = operation_model("sagemaker", kind.children.list_operation)
        assert kind.children.parent_field in listing.input_shape.required_members  # type: ignore[union-attr]
        assert kind.children.list_key in listing.output_shape.members  # type: ignore[union-attr]


def test_every_component_builder_names_a_kind_and_every_alias_a_component() -> None:
    import components

    assert set(BUILDERS) <= set(KINDS)
    for kind, builder in BUILDERS.items():
        assert builder.kind == kind and builder.spec.module == builder.component
        assert builder.component in components.names()
        assert canonical_kind(builder.component) == kind
    # The components that build no single request are the only ones left out.
    assert set(components.names()) - {b.component for b in BUILDERS.values()} == {
        "cleanup",
        "deploy",
    }
    assert ALIASES == {
        "train": "training",
        "process": "processing",
        "batch_transform": "transform",
        "hyperparameter_tuning": "tuning",
        "ground_truth": "labeling",
    }
    assert set(COMPONENTS) == set(BUILDERS)


KIND_CONSTANTS = {
    "TRAINING", "TUNING", "PROCESSING", "TRANSFORM", "LABELING", "MODEL", "ENDPOINT_CONFIG",
    "ENDPOINT", "ENDPOINT_UPDATE", "WORKTEAM",
}  # fmt: skip


def identity_branches(path: Path) -> list[str]:
    """``x is KIND`` / ``x is not KIND`` / ``x == KIND`` comparisons in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        for op, right in zip(node.ops, node.comparators, strict=True):
            named = right.attr if isinstance(right, ast.Attribute) else getattr(right, "id", None)
            if isinstance(op, ast.Is | ast.IsNot | ast.Eq | ast.NotEq) and named in KIND_CONSTANTS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_no_identity_branches_on_kinds() -> None:
    """A kind's attribute says what it is; ``kind is ENDPOINT_UPDATE`` would be a side table."""
    modules = [
        *(REPO / "runner").rglob("*.py"),
        *(REPO / "smrun").rglob("*.py"),
        *(REPO / "components").rglob("*.py"),
    ]
    assert [hit for path in modules for hit in identity_branches(path)] == []
