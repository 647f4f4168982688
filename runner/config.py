"""The runner's configuration, as explicit value objects.

Nothing in the core reads flags or the environment: entry points build a ``RunnerConfig`` (from
their flags, or with ``RunnerConfig.from_env``) and hand it in. Every field has a default that
is safe against real AWS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from runner.backoff import Backoff


@dataclass(frozen=True)
class AwsTarget:
    """Where and as whom to call AWS."""

    region: str | None = None  # None: the standard chain (AWS_REGION, profile)
    # Every service's endpoint (SageMaker, Logs, STS, SQS, EventBridge), e.g. the local emulator.
    endpoint_url: str | None = None
    # SageMaker's alone (a VPC interface endpoint, say: v1's endpoint_url); defaults to endpoint_url.
    sagemaker_endpoint_url: str | None = None
    logs_endpoint_url: str | None = None  # defaults to endpoint_url
    sts_endpoint_url: str | None = None  # defaults to endpoint_url
    sqs_endpoint_url: str | None = None  # the change feed's queue (runner.feed); endpoint_url
    events_endpoint_url: str | None = None  # EventBridge, for ``smrun events``; endpoint_url
    # A service with no endpoint here gets botocore's own resolution: AWS_ENDPOINT_URL_<SERVICE>,
    # AWS_ENDPOINT_URL, the config file's ``services`` section, then the region's endpoint.
    assume_role_arn: str | None = None  # assumed through STS, refreshed before expiry
    role_session_name: str = "smrun"
    profile: str | None = None
    # Static credentials instead of the standard chain: for the local emulator, which accepts any.
    static_credentials: tuple[str, str] | None = None

    @classmethod
    def local(cls, endpoint_url: str, region: str = "us-east-1") -> AwsTarget:
        """The local emulator at ``endpoint_url``, with placeholder credentials."""
        return cls(region=region, endpoint_url=endpoint_url, static_credentials=("local", "local"))

    def __repr__(self) -> str:
        # Never print credentials, even placeholder ones.
        shown = "set" if self.static_credentials else None
        return (
            f"AwsTarget(region={self.region!r}, endpoint_url={self.endpoint_url!r}, "
            f"sagemaker_endpoint_url={self.sagemaker_endpoint_url!r}, "
            f"assume_role_arn={self.assume_role_arn!r}, profile={self.profile!r}, "
            f"static_credentials={shown})"
        )


@dataclass(frozen=True)
class PollPolicy:
    """How often to look at jobs.

    A job on its own is Described at ``initial`` seconds, growing by ``multiplier`` to
    ``maximum``, with +-``jitter`` (a fraction), back to ``initial`` when its status changes.
    With ``delta_threshold`` or more jobs of a kind in flight, one List sweep per kind every
    ``sweep_interval`` replaces the per-job Describes (``runner.sweeps``): a listing newest
    first down to the oldest followed job's creation time less ``sweep_overlap`` (clock skew),
    of at most ``sweep_page_cap`` pages; the jobs a capped sweep did not reach are Described.
    """

    initial: float = 2.0
    maximum: float = 30.0
    multiplier: float = 1.5
    jitter: float = 0.2
    delta_threshold: int = 4
    sweep_interval: float = 5.0
    sweep_overlap: float = 10.0  # a sweep reaches this far before its oldest job (clock skew)
    sweep_page_cap: int = 20  # pages one sweep may take (20 List pages: ~13 s of the 1.5/s budget)

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError("PollPolicy needs 0 < initial <= maximum")
        if self.multiplier < 1 or not 0 <= self.jitter < 1:
            raise ValueError("PollPolicy needs multiplier >= 1 and 0 <= jitter < 1")
        if self.sweep_page_cap < 1 or self.sweep_overlap < 0:
            raise ValueError("PollPolicy needs sweep_page_cap >= 1 and sweep_overlap >= 0")

    def delays(self) -> Backoff:
        """A job's Describe polls: ``initial``, growing to ``maximum``, reset on a change."""
        return Backoff(self.initial, self.maximum, self.multiplier, self.jitter)


@dataclass(frozen=True)
class LogPolicy:
    """How job logs are followed (``runner.joblogs``).

    A reader reads its streams every ``min_interval`` seconds while new lines come, and backs
    off by ``backoff`` (+-``jitter``) up to ``max_interval`` while they do not; with a call per
    stream, each stream backs off on its own (a quiet host of a busy job is read less often).
    A line waits at most ``merge_hold`` seconds for slower hosts, so that hosts are shown merged
    by timestamp.
    Once the job has ended, its streams are listed once more (at most ``drain_limit`` seconds:
    a shared listing of thousands of jobs' streams takes tens of seconds), then reading goes
    on until each stream was read ``drain_wait`` seconds after the job's last new line (late
    events), for at most ``drain_limit`` seconds more.

    ``batched`` reads the streams of every followed job with FilterLogEvents, ``batch_size``
    streams (at most 100) per call, for many jobs at once (CloudWatch allows FilterLogEvents 5/s
    per account); otherwise each stream has its own GetLogEvents calls, the lowest latency for a
    few jobs. A batched round reads from ``fresh_window`` seconds (at most ``late_window``)
    before where the last read of each stream began. Every ``late_interval`` seconds, and on
    every round of a job's drain, a round re-reads ``late_window`` seconds back for events
    ingested late. An event ingested more than ``late_window`` after its timestamp is missed in
    batched mode; one ingested more than ``fresh_window`` late comes at the next late round.
    (When every round reached the late window back, each line was parsed up to
    late_window / min_interval times.)
    """

    min_interval: float = 1.0
    max_interval: float = 10.0
    backoff: float = 1.5
    jitter: float = 0.1
    merge_hold: float = 2.0
    drain_wait: float = 5.0
    drain_limit: float = 60.0
    batched: bool = False
    batch_size: int = 100
    late_window: float = 30.0
    fresh_window: float = 5.0
    late_interval: float = 15.0

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.max_interval:
            raise ValueError("LogPolicy needs 0 < min_interval <= max_interval")
        if self.backoff < 1 or not 0 <= self.jitter < 1:
            raise ValueError("LogPolicy needs backoff >= 1 and 0 <= jitter < 1")
        if not 1 <= self.batch_size <= 100:
            raise ValueError("LogPolicy needs 1 <= batch_size <= 100 (FilterLogEvents' limit)")
        durations = (self.merge_hold, self.drain_wait, self.drain_limit, self.late_window)
        if min(*durations, self.fresh_window, self.late_interval) < 0:
            raise ValueError("LogPolicy durations must not be negative")

    def delays(self) -> Backoff:
        """Reads and stream searches: ``min_interval``, growing to ``max_interval`` while
        nothing new comes."""
        return Backoff(self.min_interval, self.max_interval, self.backoff, self.jitter)


# The change feed's SQS queue, unless told otherwise (``smrun events setup --queue``).
DEFAULT_FEED_QUEUE = "smrun-sagemaker-changes"


@dataclass(frozen=True)
class FeedPolicy:
    """How the change feed's queue is read (``runner.feed.FeedConsumer``).

    One ReceiveMessage long-polls for ``wait_seconds`` (SQS's maximum, 20: the fewest empty
    answers) and takes up to ``batch`` messages (SQS's maximum, 10), each hidden from other
    readers for ``visibility_timeout`` seconds while it is handled; a message that is not
    deleted in that time (its handler failed) is delivered again. The feed is *quiet* after
    ``quiet_after`` seconds without a message, and *unhealthy* when a receive has failed for
    ``unhealthy_after`` seconds (retries included) or for good; while unhealthy it tries
    again every ``retry_interval`` seconds. Up to ``receivers`` long polls run at once (each
    takes at most 10 messages per round trip): one while receives bring partial batches, all
    while they come back full. A receiver whose receive brought a partial batch
    waits ``gather`` seconds before its next: a long poll answers as soon as one message is
    there, so at AWS's pace messages would otherwise come about one to a call (two calls with
    its delete, ~2.5 ms of CPU a message); a full batch is received again at once. It
    remembers the last change of at most ``remembered_jobs`` jobs (the oldest forgotten
    first), to drop duplicates and stale events.

    While the feed is healthy a runner that reads it Describes or sweeps the jobs it follows
    by events only every ``safety_interval`` seconds (the safety net); when the feed is quiet
    with jobs in flight, or unhealthy, it polls them as it would without a feed.
    """

    wait_seconds: int = 20
    batch: int = 10
    visibility_timeout: int = 60
    quiet_after: float = 120.0
    unhealthy_after: float = 60.0
    retry_interval: float = 30.0
    remembered_jobs: int = 100_000
    safety_interval: float = 300.0
    receivers: int = 4
    gather: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.wait_seconds <= 20:
            raise ValueError("FeedPolicy needs 0 <= wait_seconds <= 20 (SQS's long-poll limit)")
        if not 1 <= self.batch <= 10:
            raise ValueError("FeedPolicy needs 1 <= batch <= 10 (SQS's ReceiveMessage limit)")
        if not 0 <= self.visibility_timeout <= 43_200:
            raise ValueError("FeedPolicy needs 0 <= visibility_timeout <= 43200 (12 hours)")
        if (
            min(self.quiet_after, self.unhealthy_after, self.retry_interval, self.safety_interval)
            <= 0
        ):
            raise ValueError("FeedPolicy durations must be positive")
        if self.remembered_jobs < 1:
            raise ValueError("FeedPolicy needs remembered_jobs >= 1")
        if not 1 <= self.receivers <= 16:
            raise ValueError("FeedPolicy needs 1 <= receivers <= 16")
        if self.gather < 0:
            raise ValueError("FeedPolicy needs gather >= 0")


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of throttled and transient calls: exponential backoff with full jitter.

    Throttling and transient errors never fail a job while they pass; a call that keeps failing
    gives up after ``max_attempts`` attempts or ``max_elapsed`` seconds (0: no bound), so that a
    dead endpoint surfaces as an error instead of hanging the runner.
    """

    initial: float = 0.5
    maximum: float = 20.0
    max_attempts: int = 0
    max_elapsed: float = 900.0
    call_timeout: float = 60.0  # connect + read timeout of one HTTP call


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


# Shared per-operation budgets (one token bucket per operation for the whole process), each
# below the account's own default quota so that a batch leaves room for other callers:
# ListTrainingJobs is 2 requests/s per account (Service Quotas, "Rate of ListTrainingJobs
# requests", not adjustable); CloudWatch Logs allows GetLogEvents 25/s, DescribeLogStreams 25/s
# and FilterLogEvents 5/s per account and region (CloudWatch Logs quotas).
# SageMaker publishes no per-second quota for Create*/Describe*/Stop* (its general reference
# says API throttling limits are not adjustable); the figures here are under what throttling
# reports show (emulator.quotas keeps those estimates). Users change them with ``with_rates``
# (``smrun launch --rate``, a manifest's ``rates``).
DEFAULT_RATES: Mapping[str, Rate] = {
    "Describe*": Rate(10, 20),
    "List*": Rate(1.5, 3),
    "Create*": Rate(2, 5),
    "Update*": Rate(1, 2),
    "Delete*": Rate(2, 5),
    # AWS publishes no Stop quota; 10/s is the emulator's estimate (emulator.quotas). A
    # shutdown's first Stops go at once (the burst), the rest at this pace, none throttled.
    "Stop*": Rate(10, 10),
    "ListTags": Rate(5, 10),
    "Search": Rate(1, 2),
    "GetLogEvents": Rate(10, 10),
    "DescribeLogStreams": Rate(5, 5),
    "FilterLogEvents": Rate(3, 3),
    # The change feed (runner.feed). Named one by one so that no SageMaker pattern above
    # ("Delete*", "List*") spends its budget on them. SQS standard queues have no documented
    # API rate quota; these only bound a runaway loop. EventBridge's control plane calls are
    # made a handful of times by ``smrun events setup``/``teardown``.
    "ReceiveMessage": Rate(40, 40),
    "DeleteMessageBatch": Rate(40, 40),
    "ChangeMessageVisibilityBatch": Rate(40, 40),
    "DeleteQueue": Rate(1, 2),
    "DeleteRule": Rate(1, 2),
    "ListQueueTags": Rate(5, 5),
    "ListTargetsByRule": Rate(5, 5),
    "ListTagsForResource": Rate(5, 5),
}


@dataclass(frozen=True)
class RateLimits:
    """Per-operation budgets, ``Stop*`` included: a shutdown's Stops go out at the Stop
    budget's pace, the first ones at once (a bucket starts full), instead of all at once to be
    throttled and retried."""

    rates: Mapping[str, Rate] = field(default_factory=lambda: dict(DEFAULT_RATES))

    def rate_for(self, operation: str) -> Rate | None:
        if operation in self.rates:
            return self.rates[operation]
        matches = [k for k in self.rates if k.endswith("*") and operation.startswith(k[:-1])]
        return self.rates[max(matches, key=len)] if matches else None

    @classmethod
    def none(cls) -> RateLimits:
        return cls(rates={})

    def with_rates(self, rates: Mapping[str, Rate]) -> RateLimits:
        """These budgets with ``rates`` (keyed by budget name, ``Create``, see ``BUDGETS``)
        in place of theirs."""
        return RateLimits({**self.rates, **{BUDGETS[name]: rate for name, rate in rates.items()}})


# The budgets a user may set, by the name they write (``Create=5``): each ``DEFAULT_RATES`` key
# without its ``*`` (``Create`` is every Create* operation).
BUDGETS: Mapping[str, str] = {key.rstrip("*"): key for key in DEFAULT_RATES}
# Far above any AWS API rate quota: a budget beyond these is a typo, not a wish; and below one
# call per 100 s a batch would stall.
MIN_BUDGET_RATE = 0.01
MAX_BUDGET_RATE = 1000.0
MAX_BUDGET_BURST = 10_000


def budget_rate(name: str, per_second: float, burst: int | None = None) -> Rate:
    """Budget ``name`` at ``per_second``; without ``burst``, the default's burst scaled to the
    new rate (at least 1). Raises ValueError saying what is wrong, in the user's terms."""
    if name not in BUDGETS:
        raise ValueError(f"{name!r} is not a budget (budgets: {', '.join(sorted(BUDGETS))})")
    if not MIN_BUDGET_RATE <= per_second <= MAX_BUDGET_RATE:  # NaN fails both comparisons
        raise ValueError(
            f"calls per second must be {MIN_BUDGET_RATE:g} to {MAX_BUDGET_RATE:g}, "
            f"got {per_second:g}"
        )
    if burst is None:
        default = DEFAULT_RATES[BUDGETS[name]]
        burst = max(1, round(per_second * default.burst / default.per_second))
    if not 1 <= burst <= MAX_BUDGET_BURST:
        raise ValueError(f"burst must be 1 to {MAX_BUDGET_BURST} calls, got {burst}")
    return Rate(per_second, burst)


def budget_of(name: str, value: str) -> Rate:
    """Budget ``name`` from ``"5"`` (5 calls/s) or ``"5/10"`` (and bursts of 10)."""
    per_second, slash, burst = value.strip().partition("/")
    try:
        rate, bursts = float(per_second), int(burst) if slash else None
    except ValueError:
        raise ValueError(
            f"expected calls per second, or calls per second/burst (like 5 or 20/40), got {value!r}"
        ) from None
    return budget_rate(name, rate, bursts)


def parse_budget(text: str) -> tuple[str, Rate]:
    """``"Create=5"`` or ``"Create=5/10"`` -> ``(name, rate)``. Raises ValueError naming
    ``text``."""
    name, sep, value = (part.strip() for part in text.partition("="))
    try:
        if not sep:
            raise ValueError("expected BUDGET=PER_SECOND[/BURST] (like Create=5 or Describe=20/40)")
        return name, budget_of(name, value)
    except ValueError as error:
        raise ValueError(f"{text!r}: {error}") from None


# How long an entry point (the launcher, a component) takes from SIGTERM to its exit, unless
# told otherwise: below a Kubernetes pod's default 30 s termination grace period, after which
# the kubelet sends SIGKILL and nothing more is written.
DEFAULT_SHUTDOWN_TIMEOUT = 25.0
# Outside a pod nothing kills the process at 30 s: a launch there takes what its Stops need at
# the Stop budget's pace, plus this for the last answers, sweeps and reports.
SHUTDOWN_MARGIN_S = 10.0


def shutdown_timeout_for(
    in_flight: int, limits: RateLimits, environ: Mapping[str, str] | None = None
) -> float:
    """The shutdown bound when the user set none: in a Kubernetes pod (the kubelet sets
    ``KUBERNETES_SERVICE_HOST`` in every container), below its 30 s grace; elsewhere long enough
    for every job in flight to get its Stop at the ``Stop*`` budget of ``limits``, never less."""
    env = os.environ if environ is None else environ
    stop = limits.rate_for("StopTrainingJob")
    if env.get("KUBERNETES_SERVICE_HOST") or stop is None or not stop.per_second:
        return DEFAULT_SHUTDOWN_TIMEOUT
    return max(DEFAULT_SHUTDOWN_TIMEOUT, in_flight / stop.per_second + SHUTDOWN_MARGIN_S)


@dataclass(frozen=True)
class RunnerConfig:
    aws: AwsTarget = field(default_factory=AwsTarget)
    poll: PollPolicy = field(default_factory=PollPolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limits: RateLimits = field(default_factory=RateLimits)
    logs: LogPolicy = field(default_factory=LogPolicy)
    feed: FeedPolicy = field(default_factory=FeedPolicy)
    # The change feed's SQS queue URL (``smrun events setup``): jobs are followed by
    # SageMaker's events first, polling as the safety net (``runner.eventfirst``).
    events_queue: str | None = None
    max_connections: int = 50  # HTTP connection pool per client
    # Tags put on every job, so that a later cleanup can find them (e.g. the pipeline run id).
    run_tags: Mapping[str, str] = field(default_factory=dict)
    # How long shutdown() takes at most, unless its caller says (None: ``shutdown_timeout_for``
    # the jobs in flight, the Stop budget and where the process runs).
    stop_grace: float | None = None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> RunnerConfig:
        """Read the endpoint, region and role from ``SMRUN_*``/``AWS_*`` variables (entry points only)."""
        env = os.environ if environ is None else environ
        aws = AwsTarget(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=env.get("SMRUN_ENDPOINT_URL") or None,
            assume_role_arn=env.get("SMRUN_ASSUME_ROLE") or None,
        )
        return replace(cls(aws=aws), **overrides)  # type: ignore[arg-type]

    def tuned_from_env(self, environ: Mapping[str, str] | None = None) -> RunnerConfig:
        """This config with the pace the environment sets, in seconds (entry points only):
        ``SMRUN_POLL_INITIAL``, ``SMRUN_POLL_MAXIMUM``, ``SMRUN_SWEEP_INTERVAL`` and
        ``SMRUN_LOG_DRAIN_WAIT``. Tests and demos use them against the emulator's short jobs."""
        env = os.environ if environ is None else environ
        poll, logs = self.poll, self.logs
        initial = float(env.get("SMRUN_POLL_INITIAL") or poll.initial)
        maximum = float(env.get("SMRUN_POLL_MAXIMUM") or max(poll.maximum, initial))
        sweep = float(env.get("SMRUN_SWEEP_INTERVAL") or poll.sweep_interval)
        drain_wait = float(env.get("SMRUN_LOG_DRAIN_WAIT") or logs.drain_wait)
        return replace(
            self,
            poll=replace(poll, initial=initial, maximum=maximum, sweep_interval=sweep),
            logs=replace(logs, drain_wait=drain_wait),
        )
