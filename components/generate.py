"""Write every component's ``component.yaml`` from its spec; ``--check`` fails on a difference.

``python -m components.generate [--check] [--image REGISTRY/smrun:TAG] [--out-dir DIR]``

Components with one v1 output also get ``component-with-summary.yaml``: the same component
with the Markdown summary as a second output (``.output`` then no longer works on it).
``--image`` puts another image in every file (a private registry, say; see README's "The
component image"); with ``--out-dir`` the files go to ``DIR/<name>/`` instead of over the
committed ones. ``--check`` compares against what the same options would write, and names the
command that rewrites what is stale. Every file written is named; bad options (an image that is
not an image reference, an ``--out-dir`` that is a file or cannot be made) are one line on
stderr and exit 2, with nothing written.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.common.spec import DEFAULT_IMAGE, ComponentSpec, image_problem

ROOT = Path(__file__).parent
# Every folder with a component.py is a component.
COMPONENTS = tuple(sorted(path.parent.name for path in ROOT.glob("*/component.py")))
MAIN_FILE = "component.yaml"
SUMMARY_VARIANT_FILE = "component-with-summary.yaml"
PROG = "python -m components.generate"
EXIT_OK, EXIT_STALE, EXIT_USAGE = 0, 1, 2


def spec_of(name: str) -> ComponentSpec:
    spec: ComponentSpec = importlib.import_module(f"components.{name}.component").SPEC
    return spec


def files_of(name: str, image: str = DEFAULT_IMAGE) -> Iterator[tuple[str, str]]:
    """(file name, text) of every file component ``name`` has."""
    spec = spec_of(name)
    yield MAIN_FILE, spec.to_yaml(image)
    if spec.single_output:
        yield SUMMARY_VARIANT_FILE, spec.to_yaml(image, summary=True)


def _image(value: str) -> str:
    problem = image_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


@dataclass(frozen=True)
class Target:
    """Where the files go, with which image: what ``--check`` compares against."""

    out_dir: Path
    image: str
    out_dir_given: bool

    def command(self, *, check: bool = False) -> str:
        """The command that writes (or checks) these files."""
        words = ["--check"] if check else []
        if self.image != DEFAULT_IMAGE:
            words += ["--image", self.image]
        if self.out_dir_given:
            words += ["--out-dir", str(self.out_dir)]
        return " ".join([PROG, *map(shlex.quote, words)])

    def wanted(self) -> Iterator[tuple[Path, str, str]]:
        """(path, component, text) of every file."""
        for name in COMPONENTS:
            for file_name, text in files_of(name, self.image):
                yield self.out_dir / name / file_name, name, text


def _shown(path: Path) -> str:
    cwd = Path.cwd()
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


def _unwritable(target: Target, check: bool) -> str | None:
    """Why the files cannot go to ``target.out_dir`` (or a component's folder there)."""
    if target.out_dir.exists() and not target.out_dir.is_dir():
        return f"--out-dir {target.out_dir}: not a directory"
    for name in COMPONENTS:
        folder = target.out_dir / name
        if folder.exists() and not folder.is_dir():
            return f"--out-dir {target.out_dir}: {folder} is not a directory"
    if check:
        return None
    try:
        target.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"--out-dir {target.out_dir}: cannot create it: {error.strerror or error}"
    return None


def _image_of(path: Path) -> str | None:
    """The image a generated file runs, if it is one."""
    try:
        loaded = yaml.safe_load(path.read_text())
        image = loaded["implementation"]["container"]["image"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return image if isinstance(image, str) else None


def _other_image(target: Target, stale: list[tuple[Path, str]]) -> str | None:
    """The one other image every stale file is exactly generated with, if there is one."""
    images = {_image_of(path) for path, _ in stale}
    if len(images) != 1:
        return None
    (image,) = images
    if image is None or image == target.image or image_problem(image):
        return None
    for path, name in stale:
        if path.read_text() != dict(files_of(name, image))[path.name]:
            return None
    return image


def _report_stale(target: Target, stale: list[tuple[Path, str]]) -> None:
    print(f"out of date (run {target.command()}):", file=sys.stderr)
    for path, _ in stale:
        print(f"  {_shown(path)}", file=sys.stderr)
    image = _other_image(target, stale)
    if image is not None:
        other = Target(target.out_dir, image, target.out_dir_given)
        print(
            f"these files run --image {image}; check them with: {other.command(check=True)}",
            file=sys.stderr,
        )


def _write(target: Target) -> int:
    written, unchanged = 0, 0
    for path, _, text in target.wanted():
        if path.is_file() and path.read_text() == text:
            unchanged += 1
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        except OSError as error:
            print(f"{PROG}: cannot write {path}: {error.strerror or error}", file=sys.stderr)
            return EXIT_USAGE
        written += 1
        print(f"wrote {_shown(path)}")
    print(
        f"{_shown(target.out_dir)}: {written} file(s) written, {unchanged} already up to date "
        f"(image {target.image})"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    parser.add_argument(
        "--image",
        type=_image,
        default=DEFAULT_IMAGE,
        help=f"the container image (default {DEFAULT_IMAGE})",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where to write <name>/component.yaml (default: over the committed components/)",
    )
    args = parser.parse_args(argv)
    target = Target(args.out_dir or ROOT, args.image, args.out_dir is not None)
    unwritable = _unwritable(target, args.check)
    if unwritable:
        print(f"{PROG}: {unwritable}", file=sys.stderr)
        return EXIT_USAGE
    if not args.check:
        return _write(target)
    stale = [
        (path, name)
        for path, name, text in target.wanted()
        if not (path.is_file() and path.read_text() == text)
    ]
    if stale:
        _report_stale(target, stale)
        return EXIT_STALE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
