"""``python -m components.generate``: bad options refused up front (exit 2, nothing written),
every file written named, and ``--check`` against what the same options would write."""

from pathlib import Path

import pytest

import components as smrun_components
from components.common.spec import DEFAULT_IMAGE, image_problem
from components.generate import COMPONENTS, main

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml/smrun:1.2.3"


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    "image",
    [
        DEFAULT_IMAGE,
        IMAGE,
        "smrun",
        "localhost:5000/team/smrun_runner:v1",
        "[::1]:5000/smrun:latest",
        "registry.example.com/a/b/c@sha256:" + "ab" * 32,
        "registry.example.com/smrun:0.1.0@sha256:" + "0f" * 32,
    ],
)
def test_image_references_are_accepted(image: str) -> None:
    assert image_problem(image) is None


@pytest.mark.parametrize(
    "image",
    ["", " ", "Foo/Bar", "smrun:", "smrun:tag with space", "-smrun", "reg.example.com/", "a" * 256],
)
def test_a_value_that_is_not_an_image_is_refused(
    image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _usage_error(["--image", image, "--out-dir", str(tmp_path / "out")], capsys)
    assert "argument --image:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="image"):
        smrun_components.load("train", image=image)


def test_options_are_not_abbreviated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(["--imag", IMAGE, "--out-dir", str(tmp_path / "out")], capsys)
    assert "unrecognized arguments: --imag" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("check", [False, True])
def test_an_out_dir_that_is_a_file_is_one_line_and_exit_2(
    check: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    argv = ["--out-dir", str(afile), *(["--check"] if check else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--out-dir {afile}: not a directory" in err
    assert afile.read_text() == "keep me"


def test_an_out_dir_that_cannot_be_made_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["--out-dir", str(afile / "below")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot create it" in err


def test_a_component_folder_that_is_a_file_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / COMPONENTS[-1]).write_text("")
    assert main(["--out-dir", str(tmp_path)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [COMPONENTS[-1]]


def test_every_file_written_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--image", IMAGE, "--out-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    written = sorted(tmp_path.glob("*/component*.yaml"))
    assert sorted(lines[:-1]) == sorted(f"wrote {path}" for path in written)
    assert (
        lines[-1]
        == f"{tmp_path}: {len(written)} file(s) written, 0 already up to date (image {IMAGE})"
    )
    # Again: nothing to write, and it says so.
    assert main(["--image", IMAGE, "--out-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path}: 0 file(s) written, {len(written)} already up to date (image {IMAGE})"
    ]


def test_check_names_the_command_that_rewrites_the_out_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--image", IMAGE, "--out-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["--check", "--image", IMAGE, "--out-dir", str(tmp_path)]) == 0
    stale = tmp_path / "train" / "component.yaml"
    stale.write_text(stale.read_text() + "# edited\n")
    assert main(["--check", "--image", IMAGE, "--out-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"out of date (run python -m components.generate --image {IMAGE} --out-dir {tmp_path}):",
        f"  {stale}",
    ]


def test_check_without_the_image_says_which_image_the_files_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--image", IMAGE, "--out-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["--check", "--out-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"out of date (run python -m components.generate --out-dir {tmp_path}):"
    assert err[-1] == (
        f"these files run --image {IMAGE}; check them with: "
        f"python -m components.generate --check --image {IMAGE} --out-dir {tmp_path}"
    )
