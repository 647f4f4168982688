"""``smrun``: the command line. Thin: parse arguments, call into the package, return an exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_USAGE = 2


def _emulator_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="serve the local SageMaker + CloudWatch Logs emulator",
        description="Serve a local emulator of the SageMaker and CloudWatch Logs APIs "
        "(AWS JSON 1.1) for clients pointed at it with endpoint_url.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566, help="0 picks a free port")
    parser.add_argument(
        "--job-duration", type=float, default=5.0, metavar="SECONDS", help="how long a job runs"
    )
    parser.add_argument("--stop-duration", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument(
        "--profile", choices=["fast", "aws-like"], default="fast", help="API quotas"
    )
    parser.add_argument("--log-lines", type=int, default=20, help="log lines per host per job")
    parser.add_argument(
        "--max-instances-per-type",
        type=int,
        default=None,
        help="cap on in-flight instances per kind and instance type (ResourceLimitExceeded)",
    )
    parser.add_argument(
        "--throttle-rate", type=float, default=0.0, help="fraction of requests throttled"
    )
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="fraction answered with a 500"
    )
    parser.add_argument(
        "--drop-rate", type=float, default=0.0, help="fraction of connections dropped"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="added to each request"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for injected faults")


def _run_emulator(args: argparse.Namespace) -> int:
    from runner.emulator.quotas import Faults
    from runner.emulator.server import serve_forever
    from runner.emulator.state import EmulatorConfig

    try:
        faults = Faults(
            throttle_rate=args.throttle_rate,
            error_rate=args.error_rate,
            drop_rate=args.drop_rate,
            latency_s=args.latency,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"smrun emulator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    config = EmulatorConfig(
        job_duration=args.job_duration,
        stop_duration=args.stop_duration,
        profile=args.profile,
        log_lines=args.log_lines,
        max_instances_per_type=args.max_instances_per_type,
        faults=faults,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(config, args.host, args.port))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smrun", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    _emulator_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        return _run_emulator(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
