"""A strategy's process: ``python -m benchmarks.load.strategy SPEC.json``.

Each strategy runs alone in a process of its own, so that its CPU time, peak memory and lag
are its own; it writes its ``RunResult`` to the spec's ``result_path`` and exits.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from benchmarks.load.spec import RunResult, RunSpec


def run(spec: RunSpec) -> RunResult:
    if spec.strategy in ("ours", "ours-events"):
        from benchmarks.load import strategy_ours

        return asyncio.run(strategy_ours.run(spec))
    if spec.strategy == "v1":
        from benchmarks.load import strategy_v1

        return strategy_v1.run(spec)
    if spec.strategy == "trigger":
        from benchmarks.load import strategy_trigger

        return asyncio.run(strategy_trigger.run(spec))
    raise SystemExit(f"unknown strategy {spec.strategy!r}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = RunSpec.load(Path(args[0]))
    result = run(spec)
    result.dump(Path(spec.result_path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
