"""``smrun events setup`` and ``smrun events teardown``: the change feed's AWS resources.

The work is ``runner.feed.setup``'s; this module checks the flags (every problem at once, exit
2, nothing created), runs it, and prints each resource with what happened to it.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable

import aiohttp
from botocore.exceptions import BotoCoreError

from runner.config import AwsTarget, RunnerConfig
from runner.errors import AwsCallFailed
from runner.feed.setup import FeedReport, setup_feed, teardown_feed
from runner.session import AwsCaller
from runner.validation import endpoint_url_problem, region_problem, role_arn_problem
from smrun.launcher.preflight import chain_region, credentials_problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# CreateQueue's API reference: "up to 80 characters ... alphanumeric characters, hyphens (-),
# and underscores (_)"; a FIFO queue's name ends in ".fifo", and EventBridge's events carry no
# message group id for one, so the feed takes a standard queue.
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def argument_problems(
    queue: str, region: str | None, endpoint_url: str | None, assume_role: str | None
) -> list[str]:
    """What is wrong with the flags and the AWS chain, each in the words of the flag, found
    before anything is sent (the launcher's checks: ``runner.validation``, ``preflight``)."""
    problems = []
    if not _QUEUE_NAME.fullmatch(queue):
        problems.append(
            f"--queue: {queue!r} is not an SQS standard queue name (1 to 80 letters, digits, "
            "hyphens or underscores)"
        )
    if region is None and chain_region() is None:
        problems.append("--region: is not given: use --region, or set AWS_REGION")
    checks = (
        ("--region", region, region_problem),
        ("--endpoint-url", endpoint_url, endpoint_url_problem),
        ("--assume-role", assume_role, role_arn_problem),
    )
    for flag, value, check in checks:
        problem = check(value) if value is not None else None
        if problem:
            problems.append(f"{flag}: {problem}")
    missing = credentials_problem(otherwise="against an emulator any will do")
    if missing:
        problems.append(missing)
    return problems


def run(
    command: str,
    target: AwsTarget,
    queue: str,
    tagged_only: bool = False,
) -> int:
    """Run ``setup`` or ``teardown`` against ``target`` and print what it did."""

    async def setup(caller: AwsCaller) -> FeedReport:
        return await setup_feed(caller, queue, tagged_only=tagged_only)

    async def teardown(caller: AwsCaller) -> FeedReport:
        return await teardown_feed(caller, queue)

    work: Callable[[AwsCaller], Awaitable[FeedReport]] = setup if command == "setup" else teardown
    try:
        report = asyncio.run(_with_caller(target, work))
    except AwsCallFailed as error:
        print(f"smrun events {command}: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (BotoCoreError, aiohttp.ClientError, OSError) as error:
        print(f"smrun events {command}: {error}", file=sys.stderr)
        return EXIT_FAILED
    for step in report.steps:
        print(step.line())
    if command == "setup":
        print(f"queue url: {report.queue_url}")
    if not report.changed:
        print("nothing changed" if command == "setup" else "nothing to remove")
    return EXIT_OK


async def _with_caller(
    target: AwsTarget, work: Callable[[AwsCaller], Awaitable[FeedReport]]
) -> FeedReport:
    caller = AwsCaller(RunnerConfig(aws=target))
    try:
        return await work(caller)
    finally:
        await caller.close()
