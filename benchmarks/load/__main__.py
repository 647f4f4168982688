"""``python -m benchmarks.load [--quick] [--sizes 100,1000,10000] [--out DIR]``.

Writes ``<out>/<date>[-quick].json`` and the charts next to it, and (for a full run, or with
``--report``) the Markdown report, ``benchmarks/README.md`` by default.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import shlex
import sys
from pathlib import Path

from benchmarks.load.harness import run_all
from benchmarks.load.report import write_report
from benchmarks.load.workload import PROFILES, STRATEGIES, Profile

BENCHMARKS = Path(__file__).parents[1]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="N=100, short jobs: under 2 minutes")
    parser.add_argument(
        "--profile", choices=sorted(PROFILES), default=None, help="full (default), quick, smoke"
    )
    parser.add_argument(
        "--sizes", default=None, help='comma-separated N, e.g. 100,1000,10000 ("": no run phase)'
    )
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--sigterm-size", type=int, default=None, help="0 skips the SIGTERM phase")
    parser.add_argument(
        "--paced-size",
        type=int,
        default=None,
        help="N of the steady state at AWS's pace (default 10000; 0 skips it)",
    )
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="the Markdown report to write (default: benchmarks/README.md for a full run)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep each run's files here")
    parser.add_argument(
        "--history",
        type=int,
        default=None,
        metavar="N",
        help="the emulated account's history: N ended jobs of every kind "
        "(default 20000; quick 1000, smoke 150; 0: a new account)",
    )
    parser.add_argument(
        "--list-paging",
        choices=["aws", "exact"],
        default=None,
        help="aws (default): List pages cut before filtering, as SageMaker does; "
        "exact: filtered first, as the emulator used to",
    )
    parser.add_argument(
        "--bystander-interval",
        type=float,
        default=None,
        metavar="S",
        help="the bystander's ListTrainingJobs every S seconds (default 10; smoke 2)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=None,
        metavar="S",
        help="seconds after SIGTERM before the strategy is killed (default 150)",
    )
    parser.add_argument(
        "--no-bystander", action="store_true", help="no other ListTrainingJobs user"
    )
    parser.add_argument(
        "--creation-time-bounds-scan",
        action="store_true",
        help="CreationTime filters bound a List call's scan (undocumented on AWS)",
    )
    return parser.parse_args(argv)


def chosen_profile(args: argparse.Namespace) -> Profile:
    """The named profile with the flags' changes."""
    profile = PROFILES[args.profile or ("quick" if args.quick else "full")]
    changes: dict[str, object] = {}
    if args.sizes is not None:  # "" runs the SIGTERM phase alone
        changes["sizes"] = tuple(int(size) for size in args.sizes.split(",") if size)
    flags = {
        "sigterm_size": args.sigterm_size,
        "paced_size": args.paced_size,
        "grace": args.grace,
        "history": args.history,
        "list_paging": args.list_paging,
        "creation_time_bounds_scan": args.creation_time_bounds_scan or None,
        "bystander_interval": 0.0 if args.no_bystander else args.bystander_interval,
    }
    changes.update({key: value for key, value in flags.items() if value is not None})
    return dataclasses.replace(profile, **changes)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    profile = chosen_profile(args)
    strategies = tuple(args.strategies.split(","))
    command = "python -m benchmarks.load " + shlex.join(sys.argv[1:] if argv is None else argv)
    print(f"{command.strip()}: profile {profile.name}, sizes {profile.sizes}", flush=True)
    today = dt.date.today().isoformat()
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if profile.name == "full" else f"-{profile.name}"
    results = args.out / f"{today}{suffix}.json"
    header = {"benchmark": "load", "date": today, "command": command.strip()}

    def save(document: dict[str, object]) -> None:
        results.write_text(json.dumps({**header, **document}, indent=1) + "\n")

    document = {
        **header,
        **run_all(
            profile,
            strategies,
            say=lambda line: print(line, flush=True),
            keep=args.keep,
            progress=save,
        ),
    }
    save(document)
    print(f"results: {results}")
    report = args.report or (BENCHMARKS / "README.md" if profile.name == "full" else None)
    charts = write_report(document, results, report)
    for chart in charts:
        print(f"chart: {chart}")
    if report is not None:
        print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
