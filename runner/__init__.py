"""smrun's library: one asyncio core that drives many Amazon SageMaker jobs.

What a KFP component, the launcher or a script imports, from here:

    from runner import AwsTarget, Identity, LogTailer, Runner, RunnerConfig, TextSink

    async with Runner(RunnerConfig(aws=AwsTarget(region="eu-west-1"))) as runner:
        handle = await runner.submit("training", request, identity=Identity(run_id, "fit"))
        outcome = await runner.wait(handle)

The names load on first use, so ``import runner.config`` (the CLI's quick start) does not pull
in aiobotocore. The layers around this package are drawn in ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from runner.config import AwsTarget, LogPolicy, PollPolicy, RateLimits, RunnerConfig
    from runner.core import Runner
    from runner.errors import (
        AwsCallFailed,
        CredentialsUnavailable,
        JobConflict,
        RequestInvalid,
        ResourceMissing,
        RunnerClosed,
        RunnerError,
    )
    from runner.joblogs import FileSink, LogTailer, TextSink
    from runner.kinds import KINDS, JobKind, kind_named
    from runner.naming import Identity
    from runner.telemetry import configure_logging
    from runner.tracker import JobHandle, Outcome

_HOMES = {
    "AwsTarget": "runner.config",
    "LogPolicy": "runner.config",
    "PollPolicy": "runner.config",
    "RateLimits": "runner.config",
    "RunnerConfig": "runner.config",
    "Runner": "runner.core",
    "AwsCallFailed": "runner.errors",
    "CredentialsUnavailable": "runner.errors",
    "JobConflict": "runner.errors",
    "RequestInvalid": "runner.errors",
    "ResourceMissing": "runner.errors",
    "RunnerClosed": "runner.errors",
    "RunnerError": "runner.errors",
    "FileSink": "runner.joblogs",
    "LogTailer": "runner.joblogs",
    "TextSink": "runner.joblogs",
    "KINDS": "runner.kinds",
    "JobKind": "runner.kinds",
    "kind_named": "runner.kinds",
    "Identity": "runner.naming",
    "configure_logging": "runner.telemetry",
    "JobHandle": "runner.tracker",
    "Outcome": "runner.tracker",
}

__all__ = [
    "KINDS",
    "AwsCallFailed",
    "AwsTarget",
    "CredentialsUnavailable",
    "FileSink",
    "Identity",
    "JobConflict",
    "JobHandle",
    "JobKind",
    "LogPolicy",
    "LogTailer",
    "Outcome",
    "PollPolicy",
    "RateLimits",
    "RequestInvalid",
    "ResourceMissing",
    "Runner",
    "RunnerClosed",
    "RunnerConfig",
    "RunnerError",
    "TextSink",
    "configure_logging",
    "kind_named",
]  # the same names as _HOMES (tests/unit/test_import_boundaries.py)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'runner' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
