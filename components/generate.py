"""Write every component's ``component.yaml`` from its spec; ``--check`` fails on a difference.

``python -m components.generate [--check] [--image REGISTRY/smrun:TAG] [--out-dir DIR]``

Components with one v1 output also get ``component-with-summary.yaml``: the same component
with the Markdown summary as a second output (``.output`` then no longer works on it).
``--image`` puts another image in every file (a private registry, say; see README's "The
component image"); with ``--out-dir`` the files go to ``DIR/<name>/`` instead of over the
committed ones, which ``--check`` compares against the default image.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

from components.common.spec import DEFAULT_IMAGE, ComponentSpec

ROOT = Path(__file__).parent
# Every folder with a component.py is a component.
COMPONENTS = tuple(sorted(path.parent.name for path in ROOT.glob("*/component.py")))
MAIN_FILE = "component.yaml"
SUMMARY_VARIANT_FILE = "component-with-summary.yaml"


def spec_of(name: str) -> ComponentSpec:
    spec: ComponentSpec = importlib.import_module(f"components.{name}.component").SPEC
    return spec


def files_of(name: str, image: str = DEFAULT_IMAGE) -> Iterator[tuple[str, str]]:
    """(file name, text) of every file component ``name`` has."""
    spec = spec_of(name)
    yield MAIN_FILE, spec.to_yaml(image)
    if spec.single_output:
        yield SUMMARY_VARIANT_FILE, spec.to_yaml(image, summary=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    parser.add_argument(
        "--image", default=DEFAULT_IMAGE, help=f"the container image (default {DEFAULT_IMAGE})"
    )
    parser.add_argument(
        "--out-dir", type=Path, default=ROOT, help="where to write <name>/component.yaml"
    )
    args = parser.parse_args(argv)
    stale = []
    for name in COMPONENTS:
        for file_name, wanted in files_of(name, args.image):
            path = args.out_dir / name / file_name
            if path.exists() and path.read_text() == wanted:
                continue
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(wanted)
    if args.check and stale:
        print(
            "out of date (run python -m components.generate):",
            *map(str, stale),
            sep="\n  ",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
