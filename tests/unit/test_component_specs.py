"""Component specs: the committed YAML is what the specs generate, and matches the v1 interface.

No ``from __future__ import annotations`` here: kfp reads the pipeline function's annotations
as real types.
"""

import re
from pathlib import Path

import pytest
import yaml
from kfp import compiler, components, dsl

import components as smrun_components
from components.common.spec import DEFAULT_IMAGE
from components.generate import COMPONENTS, ROOT, main, spec_of

# The v1 components' published interface (names, types, defaults), kept beside the components.
V1_REFERENCE = ROOT / "v1-interface.md"
# Components that v1 did not have: no v1 interface to keep.
NEW_COMPONENTS = frozenset({"cleanup"})


def test_committed_yaml_is_what_the_specs_generate() -> None:
    assert main(["--check"]) == 0, "run: python -m components.generate"


@pytest.mark.parametrize("name", COMPONENTS)
def test_yaml_loads_with_kfp(name: str) -> None:
    component = components.load_component_from_file(str(ROOT / name / "component.yaml"))
    assert component.name


def _v1_table(display_name: str) -> list[tuple[str, str, str | None]]:
    """(input, type, default) rows of one component in the v1 reference."""
    text = V1_REFERENCE.read_text()
    marker = f'(v1 name: "{display_name}")'
    if marker not in text:
        return []
    section = text.split(marker)[1].split("\n### ")[0]
    rows = []
    for line in section.splitlines():
        match = re.match(r"\| (\w+) \| (\w+) \| (.+?) \|$", line)
        if match and match.group(1) != "input":
            default = match.group(3)
            rows.append(
                (
                    match.group(1),
                    match.group(2),
                    None if "required" in default else default.strip("'"),
                )
            )
    return rows


@pytest.mark.skipif(
    not V1_REFERENCE.exists(), reason="the v1 reference lives outside the repository"
)
@pytest.mark.parametrize("name", COMPONENTS)
def test_every_v1_input_keeps_its_name_type_and_default(name: str) -> None:
    spec = spec_of(name)
    ours = {i.name: (i.type, i.default) for i in spec.inputs}
    v1_inputs = _v1_table(spec.display_name)
    if name in NEW_COMPONENTS:
        assert not v1_inputs, f"{name} is listed as new but v1 had {spec.display_name!r}"
        pytest.skip(f"{name} is new: v1 had no such component")
    assert v1_inputs, f"no v1 table for {spec.display_name!r}"
    for input_name, input_type, default in v1_inputs:
        assert input_name in ours, f"{name} lost v1 input {input_name}"
        assert ours[input_name] == (input_type, default), input_name


def test_components_compile_inside_a_v2_pipeline(tmp_path: Path) -> None:
    train = components.load_component_from_file(str(ROOT / "train" / "component.yaml"))

    @dsl.pipeline(name="compile-check")
    def pipeline(region: str = "us-east-1") -> None:
        train(
            region=region,
            role="arn:aws:iam::123456789012:role/r",
            image="img",
            channels=[{"ChannelName": "train"}],
            model_artifact_path="s3://bucket/out",
            hyperparameters={"k": "10"},
            spot_instance=False,
        )

    target = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(target))
    assert "{{$.pipeline_job_uuid}}" in target.read_text()


def test_load_gives_pipeline_authors_every_component_by_name() -> None:
    assert smrun_components.names() == list(COMPONENTS)
    for name in COMPONENTS:
        loaded = smrun_components.load(name)
        # kfp names a component after its display name, sanitized.
        sanitized = re.sub(r"[^a-z0-9]+", "-", spec_of(name).display_name.lower())
        assert loaded.component_spec.name == sanitized
    for wrong in ("nope", "../train", "common"):
        with pytest.raises(ValueError, match="no component"):
            smrun_components.load(wrong)


def _v1_outputs(display_name: str) -> list[str]:
    """The outputs of one component in the v1 reference ("Outputs: a, b")."""
    section = V1_REFERENCE.read_text().split(f'(v1 name: "{display_name}")')[1].split("\n### ")[0]
    (line,) = [line for line in section.splitlines() if line.startswith("Outputs:")]
    return [name.strip() for name in line.removeprefix("Outputs:").split(",")]


@pytest.mark.skipif(
    not V1_REFERENCE.exists(), reason="the v1 reference lives outside the repository"
)
@pytest.mark.parametrize("name", sorted(set(COMPONENTS) - NEW_COMPONENTS))
def test_the_outputs_are_v1s_plus_the_summary_only_where_v1_had_several(name: str) -> None:
    spec = spec_of(name)
    loaded = components.load_component_from_file(str(ROOT / name / "component.yaml"))
    v1_outputs = _v1_outputs(spec.display_name)
    expected = v1_outputs + (["summary"] if len(v1_outputs) > 1 else [])
    assert list(loaded.component_spec.outputs) == expected


def test_the_summary_variant_is_a_markdown_artifact_the_ui_shows(tmp_path: Path) -> None:
    """KFP's UI renders a system.Markdown output artifact in the step's visualizations."""
    for name in ("model", "deploy", "batch_transform", "workteam", "cleanup"):
        committed = ROOT / name / "component-with-summary.yaml"
        loaded = smrun_components.load(name, summary=True)
        assert (
            loaded.component_spec
            == components.load_component_from_file(str(committed)).component_spec
        )
        assert list(loaded.component_spec.outputs)[-1] == "summary"
    model = smrun_components.load("model", summary=True)

    @dsl.pipeline(name="summary-variant")
    def pipeline() -> None:
        model(
            region="us-east-1", model_name="m", role="arn:aws:iam::123456789012:role/r", image="i"
        )

    target = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(target))
    spec = yaml.safe_load(target.read_text())
    (component,) = [c for c in spec["components"].values() if "executorLabel" in c]
    artifact = component["outputDefinitions"]["artifacts"]["summary"]
    assert artifact["artifactType"]["schemaTitle"] == "system.Markdown"
    assert "model_name" in component["outputDefinitions"]["parameters"]


def test_the_image_is_chosen_when_the_files_are_generated(tmp_path: Path) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml/smrun:1.2.3"
    assert main(["--image", image, "--out-dir", str(tmp_path)]) == 0
    written = sorted(tmp_path.glob("*/component*.yaml"))
    assert {path.parent.name for path in written} == set(COMPONENTS)
    for path in written:
        assert yaml.safe_load(path.read_text())["implementation"]["container"]["image"] == image
    # The committed files keep the default image, and --check says so.
    assert main(["--check"]) == 0
    assert main(["--check", "--out-dir", str(tmp_path)]) == 1
    assert main(["--check", "--out-dir", str(tmp_path), "--image", image]) == 0
    assert (
        smrun_components.load("train", image=image).component_spec.implementation.container.image
        == image
    )
    assert DEFAULT_IMAGE in (ROOT / "train" / "component.yaml").read_text()
