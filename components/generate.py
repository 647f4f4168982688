"""Write every component's ``component.yaml`` from its spec; ``--check`` fails on a difference.

``python -m components.generate [--check]``
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from components.common.spec import ComponentSpec

ROOT = Path(__file__).parent
# Every folder with a component.py is a component.
COMPONENTS = tuple(sorted(path.parent.name for path in ROOT.glob("*/component.py")))


def spec_of(name: str) -> ComponentSpec:
    spec: ComponentSpec = importlib.import_module(f"components.{name}.component").SPEC
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    stale = []
    for name in COMPONENTS:
        path = ROOT / name / "component.yaml"
        wanted = spec_of(name).to_yaml()
        if path.exists() and path.read_text() == wanted:
            continue
        stale.append(path)
        if not args.check:
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
