"""``smrun``: the command line. Thin: parse arguments, call into the package, return an exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from runner.config import (  # stdlib only: the CLI stays quick to start
    DEFAULT_FEED_QUEUE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    SHUTDOWN_MARGIN_S,
    AwsTarget,
)
from runner.streams import guard_std_streams

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
DESCRIPTION = (  # what `smrun --help` says; the module's docstring is for its readers
    "Run many Amazon SageMaker jobs as one resumable batch (launch, status, stop, logs), "
    "or serve a local SageMaker emulator to run them against."
)


def _number(
    kind: type[int] | type[float], low: float, low_allowed: bool, high: float | None = None
) -> Callable[[str], float]:
    """An argparse ``type``: a finite ``kind`` from ``low`` (allowed or not) to ``high``, so a
    value out of range is argparse's one-line usage error (exit 2), before anything starts."""
    if high is not None:
        wanted = f"from {low:g} to {high:g}"
    else:
        wanted = f"{low:g} or more" if low_allowed else f"more than {low:g}"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}"
            ) from None
        too_low = value < low if low_allowed else value <= low
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {wanted} (got {text})")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


PORT = _number(int, 0, True, 65535)  # TCP's port range; 0 picks a free one
SECONDS = _number(float, 0, False)
DELAY = _number(float, 0, True)
COUNT = _number(int, 0, True)
SKEW = _number(float, -86400, True, 86400)  # a day either way: enough to test any skew
POSITIVE_COUNT = _number(int, 1, True)
FRACTION = _number(float, 0, True, 1)


def _emulator_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="serve the local SageMaker + CloudWatch Logs + STS + SQS + EventBridge emulator",
        description="Serve a local emulator of the SageMaker and CloudWatch Logs APIs "
        "(AWS JSON 1.1), of STS GetCallerIdentity and AssumeRole (AWS query), and of the SQS "
        "(JSON 1.0) and EventBridge calls that carry SageMaker's state-change events, for "
        "clients pointed at it with endpoint_url.",
        allow_abbrev=False,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=PORT, default=4566, help="0 to 65535; 0 picks a free port")
    parser.add_argument(
        "--job-duration", type=SECONDS, default=5.0, metavar="SECONDS", help="how long a job runs"
    )
    parser.add_argument("--stop-duration", type=SECONDS, default=1.0, metavar="SECONDS")
    parser.add_argument(
        "--profile", choices=["fast", "aws-like"], default="fast", help="API quotas"
    )
    parser.add_argument(
        "--log-lines", type=COUNT, default=20, metavar="N", help="log lines per host per job"
    )
    parser.add_argument(
        "--max-instances-per-type",
        type=POSITIVE_COUNT,
        default=None,
        metavar="N",
        help="cap on in-flight instances per kind and instance type (ResourceLimitExceeded)",
    )
    parser.add_argument(
        "--throttle-rate", type=FRACTION, default=0.0, help="fraction of requests throttled"
    )
    parser.add_argument(
        "--error-rate", type=FRACTION, default=0.0, help="fraction answered with a 500"
    )
    parser.add_argument(
        "--drop-rate", type=FRACTION, default=0.0, help="fraction of connections dropped"
    )
    parser.add_argument(
        "--lose-answer-rate",
        type=FRACTION,
        default=0.0,
        help="fraction of requests served whose answer is then lost (the connection dropped)",
    )
    parser.add_argument(
        "--latency", type=DELAY, default=0.0, metavar="SECONDS", help="added to each request"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed for injected faults and event delivery"
    )
    parser.add_argument(
        "--event-delay",
        type=DELAY,
        default=0.0,
        metavar="SECONDS",
        help="EventBridge delivers each SageMaker event to SQS this long after it happens",
    )
    parser.add_argument(
        "--event-duplicate-rate",
        type=FRACTION,
        default=0.0,
        help="fraction of event deliveries sent twice (AWS delivers at least once)",
    )
    parser.add_argument(
        "--event-reorder",
        type=DELAY,
        default=0.0,
        metavar="SECONDS",
        help="each delivery is up to this much later at random, so close events swap",
    )
    parser.add_argument(
        "--clock-skew",
        type=SKEW,
        default=0.0,
        metavar="SECONDS",
        help="the service's clock runs this far ahead of this machine's (negative: behind), "
        "-86400 to 86400",
    )
    parser.add_argument(
        "--algorithm",
        action="append",
        default=[],
        metavar="NAME_OR_ARN",
        help="an algorithm resource the account may train with (AlgorithmName); any other "
        "AlgorithmName is refused, as AWS refuses it; repeatable",
    )
    parser.add_argument(
        "--history",
        type=COUNT,
        default=0,
        metavar="N",
        help="preload N ended jobs of every kind, created over the past months",
    )
    parser.add_argument(
        "--list-paging",
        choices=["aws", "exact"],
        default="aws",
        help="aws: List calls cut the page before filtering, as SageMaker does (default); "
        "exact: filter first (not AWS)",
    )
    parser.add_argument(
        "--creation-time-bounds-scan",
        action="store_true",
        help="CreationTimeAfter/Before bound a List call's scan instead of filtering its page",
    )
    parser.add_argument(
        "--labeling-not-found",
        choices=["ValidationException", "ResourceNotFound"],
        default="ValidationException",
        help="what DescribeLabelingJob answers for a missing job (undocumented by AWS)",
    )
    parser.add_argument(
        "--credential-seconds",
        type=SECONDS,
        default=None,
        metavar="SECONDS",
        help="AssumeRole credentials expire this soon, whatever DurationSeconds asks "
        "(emulator only: AWS refuses less than 900)",
    )
    parser.add_argument(
        "--deny-role",
        action="append",
        default=[],
        metavar="PATTERN",
        help="AssumeRole answers AccessDenied for role ARNs matching this glob; repeatable",
    )


def _run_emulator(args: argparse.Namespace) -> int:
    from emulator.delivery import EventDelivery
    from emulator.listing import Paging
    from emulator.quotas import Faults
    from emulator.server import serve_forever
    from emulator.state import EmulatorConfig

    try:
        faults = Faults(
            throttle_rate=args.throttle_rate,
            error_rate=args.error_rate,
            drop_rate=args.drop_rate,
            lose_answer_rate=args.lose_answer_rate,
            latency_s=args.latency,
            seed=args.seed,
        )
        events = EventDelivery(
            delay_s=args.event_delay,
            duplicate_rate=args.event_duplicate_rate,
            reorder_s=args.event_reorder,
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
        paging=Paging(args.list_paging, creation_time_bounds_scan=args.creation_time_bounds_scan),
        labeling_not_found=args.labeling_not_found,
        history=args.history,
        clock_skew_s=args.clock_skew,
        credential_seconds=args.credential_seconds,
        denied_roles=tuple(args.deny_role),
        algorithms=tuple(args.algorithm),
        events=events,
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_forever(config, args.host, args.port))
    except OSError as exc:  # the port is taken, or the host is not ours to bind
        print(
            f"smrun emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_OK


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default=None, help="AWS region (default: the AWS chain)")
    parser.add_argument(
        "--endpoint-url", default=None, help="SageMaker (and Logs) endpoint, e.g. an emulator"
    )
    parser.add_argument(
        "--assume-role", default=None, metavar="ARN", help="role to assume through STS"
    )


def _target(args: argparse.Namespace) -> AwsTarget:
    """Where the ``_target_arguments`` flags point."""
    return AwsTarget(
        region=args.region, endpoint_url=args.endpoint_url, assume_role_arn=args.assume_role
    )


def _launch_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "launch",
        help="run a manifest of SageMaker jobs as one resumable batch",
        description="Validate the manifest, then submit and follow every job under the limits, "
        "journaling each step: running the same command again (edited or not) resumes the "
        "batch without duplicating a job; finished entries are left alone unless --retry "
        "reruns them as new jobs. Exit 0 when every job succeeded, 1 when some did not, 2 on "
        "bad input (nothing created), 130/143 when interrupted.",
    )
    parser.add_argument("manifest", type=Path, help="the manifest (YAML or JSON)")
    parser.add_argument(
        "--concurrency", type=int, default=50, metavar="N", help="jobs in flight at once"
    )
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="KIND[:TYPE]=N",
        help="at most N jobs of a kind (training=20, or train=20), or N instances of a type "
        "for a kind (training:ml.p3.2xlarge=8, as account quotas count them); repeatable",
    )
    parser.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="BUDGET=N[/BURST]",
        help="at most N calls per second (bursts of BURST) for an API call budget: Create, "
        "Describe, List, Stop, ... (Create=5, Describe=20/40; see README); over the "
        "manifest's rates; repeatable",
    )
    parser.add_argument(
        "--retry",
        action="append",
        default=[],
        metavar="WHAT",
        help="rerun finished entries as new jobs (new names): failed, stopped, or changed "
        "(entries edited since they ran); repeatable or comma-separated",
    )
    parser.add_argument("--journal", type=Path, default=None, help="default: OUTPUT/journal.sqlite")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="per-job logs, reports and events (default: smrun-runs/<batch id>)",
    )
    parser.add_argument("--batch-id", default=None, help="default: the manifest's, or derived")
    _target_arguments(parser)
    parser.add_argument(
        "--local", action="store_true", help="run against an embedded SageMaker emulator"
    )
    parser.add_argument(
        "--events",
        default=None,
        metavar="QUEUE_URL",
        help="follow the jobs by SageMaker's events from this SQS queue (smrun events setup), "
        "polling as the safety net; default: the manifest's events, else polling only "
        "(--local sets up a queue on its emulator by itself)",
    )
    parser.add_argument("--follow", default=None, metavar="NAME", help="stream one job's logs")
    parser.add_argument(
        "--no-job-logs", action="store_true", help="do not write a log file per job"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="run every check a launch runs and show what it would submit, re-attach, rerun "
        "or leave; create nothing",
    )
    parser.add_argument(
        "--show-requests",
        action="store_true",
        help="with --dry-run: print each request as it would be sent (name and tags added)",
    )
    parser.add_argument(
        "--leave-running",
        action="store_true",
        help="on SIGINT/SIGTERM leave jobs running (resume later) instead of stopping them; "
        "not with --local (its emulator ends with the launch)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="on SIGINT/SIGTERM, exit within this many seconds; jobs not Stopped by then stay "
        "journaled in flight, Stopping if SageMaker took their Stop (default: in a Kubernetes "
        f"pod {DEFAULT_SHUTDOWN_TIMEOUT:g}, below its 30 s grace; elsewhere what every job's "
        f"Stop needs at the Stop budget, plus {SHUTDOWN_MARGIN_S:g} s, at least "
        f"{DEFAULT_SHUTDOWN_TIMEOUT:g})",
    )


BATCH_HELP = "the batch: its output directory, its journal file, or its id (smrun-runs/<id>)"


def _status_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="a batch's jobs, from its journal",
        description="Show a batch's jobs, and whether a launch is attached to it. Exit 0 "
        "when every job succeeded, 1 while some are pending or in flight or when some did "
        "not succeed, 2 when the batch cannot be found.",
    )
    parser.add_argument("batch", help=BATCH_HELP)
    parser.add_argument(
        "--json", action="store_true", help="as JSON: the counts, and a record per job"
    )


def _stop_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "stop",
        help="stop a batch's jobs in flight",
        description="Ask the launch running on this journal to stop, and send Stop for every "
        "job the journal has in flight (to where the batch ran, unless flags say otherwise).",
    )
    parser.add_argument("batch", help=BATCH_HELP)
    _target_arguments(parser)


def _logs_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "logs",
        help="one entry's job logs",
        description="Print the log file the launch wrote for an entry (by entry id or job "
        "name); with -f, keep printing new lines until the entry's job has ended.",
    )
    parser.add_argument("entry", help="an entry id or job name")
    parser.add_argument(
        "--batch", default=None, help=BATCH_HELP + "; default: the latest under smrun-runs/"
    )
    parser.add_argument("-f", "--follow", action="store_true", help="follow until the job ends")


def _events_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "events",
        help="set up or tear down the SageMaker change feed (EventBridge to SQS)",
        description="Manage the change feed that lets the runner follow SageMaker jobs by "
        "their state-change events instead of List sweeps: an SQS queue, an EventBridge rule "
        "on the default bus for SageMaker's job and endpoint state changes, its target and the "
        "queue policy that lets EventBridge deliver. Exit 0 when done, 1 when AWS refused, "
        "2 on bad flags (nothing created).",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    for action, text in (
        ("setup", "create what is missing (running it again changes nothing) and print it"),
        ("teardown", "remove what setup created, and only that"),
    ):
        sub = actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument(
            "--queue", default=DEFAULT_FEED_QUEUE, metavar="NAME", help="the SQS queue"
        )
        _target_arguments(sub)
        if action == "setup":
            sub.add_argument(
                "--tagged-only",
                action="store_true",
                help="only events of resources smrun created (tagged smrun:kind)",
            )


def _run_events(args: argparse.Namespace) -> int:
    from smrun import events

    problems = events.argument_problems(
        args.queue, args.region, args.endpoint_url, args.assume_role
    )
    for problem in problems:
        print(f"smrun events {args.action}: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    return events.run(
        args.action, _target(args), args.queue, tagged_only=getattr(args, "tagged_only", False)
    )


def _run_launch(args: argparse.Namespace) -> int:
    from smrun.launcher.command import (
        LaunchRequest,
        UsageError,
        check_launch,
        prepare_launch,
        run_launch,
        show_plan,
    )

    request = LaunchRequest(
        manifest=args.manifest,
        journal=args.journal,
        output=args.output,
        batch_id=args.batch_id,
        region=args.region,
        endpoint_url=args.endpoint_url,
        assume_role_arn=args.assume_role,
        local=args.local,
        concurrency=args.concurrency,
        limits=args.limit,
        rates=args.rate,
        retry=args.retry,
        follow=args.follow,
        job_logs=not args.no_job_logs,
        leave_running=args.leave_running,
        shutdown_timeout=args.shutdown_timeout,
        events=args.events,
    )
    try:
        if args.show_requests and not args.dry_run:
            raise UsageError("--show-requests: only with --dry-run")
        checked = check_launch(request)
        if args.dry_run:
            return show_plan(checked, show_requests=args.show_requests)
        prepared = prepare_launch(checked)
    except UsageError as error:
        print(f"smrun launch: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not args.local:
        return run_launch(prepared, checked.target(), events_queue=checked.events)
    from emulator.server import BackgroundEmulator
    from smrun.launcher.command import local_events

    with BackgroundEmulator() as url:
        target = checked.target(url)
        return run_launch(prepared, target, local=True, events_queue=local_events(target))


def _run_status(args: argparse.Namespace) -> int:
    from smrun.launcher.command import UsageError, show_status

    try:
        return show_status(args.batch, as_json=args.json)
    except UsageError as error:
        print(f"smrun status: {error}", file=sys.stderr)
        return EXIT_USAGE


def _run_stop(args: argparse.Namespace) -> int:
    from smrun.launcher.command import UsageError, stop_batch

    if args.assume_role:
        from runner.validation import role_arn_problem

        problem = role_arn_problem(args.assume_role)
        if problem:
            print(f"smrun stop: --assume-role: {problem}", file=sys.stderr)
            return EXIT_USAGE
    # Without target flags, the batch is stopped where its journal says it ran.
    given = args.region or args.endpoint_url or args.assume_role
    try:
        return stop_batch(args.batch, _target(args) if given else None)
    except UsageError as error:
        print(f"smrun stop: {error}", file=sys.stderr)
        return EXIT_USAGE


def _run_logs(args: argparse.Namespace) -> int:
    from smrun.launcher.command import UsageError, show_logs

    try:
        return show_logs(args.entry, batch=args.batch, follow=args.follow)
    except UsageError as error:
        print(f"smrun logs: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 128 + 2


COMMANDS = {
    "emulator": _run_emulator,
    "launch": _run_launch,
    "status": _run_status,
    "stop": _run_stop,
    "logs": _run_logs,
    "events": _run_events,
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("smrun")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smrun", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"smrun {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _launch_parser(subparsers)
    _status_parser(subparsers)
    _stop_parser(subparsers)
    _logs_parser(subparsers)
    _events_parser(subparsers)
    _emulator_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Its stdout and stderr may fail under it (a full disk, a closed pipe):
    the failing one is dropped and said so on the other (``runner.streams``), the command goes
    on, and a command that would have exited 0 exits 1, as coreutils do on ``> /dev/full``."""
    with guard_std_streams() as streams:
        args = build_parser().parse_args(argv)
        code = COMMANDS[args.command](args)
        if code == EXIT_OK and any(stream.dropped for stream in streams):
            code = EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
