"""The emulator's whole state, and the registry of the operations it answers.

``Emulator`` is one account in one region: every resource, every tag, every log stream, the
call counters, and the clock. Operation handlers are plain functions ``(emulator, params) ->
response``, registered per service with ``@operation("sagemaker", "CreateTrainingJob")``; the
HTTP layer (``server``) validates the request against botocore's model before a handler sees it,
so handlers deal only with well-formed input and the service's own rules.

``SERVICES`` names the services served, by botocore's name; everything else about one (its wire
protocol, JSON target prefix, signing name) is read from botocore's model of it
(``emulator.protocols``), so serving another service is adding its name and handlers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.delivery import EventDelivery
from emulator.listing import AWS_PAGING, IndexedTable, Paging
from emulator.quotas import Faults, Quotas

if TYPE_CHECKING:
    from emulator.eventbridge import EventBus
    from emulator.hosting import Endpoint, EndpointConfig, Model
    from emulator.jobs import Job
    from emulator.logs import LogStore
    from emulator.sqs import Queues
    from emulator.sts import IssuedCredentials
    from emulator.workteams import Workteam

Params = dict[str, Any]
Response = dict[str, Any]
Handler = Callable[["Emulator", Params], Response]
AwaitingHandler = Callable[["Emulator", Params], Awaitable[Response]]

SERVICES = ("sagemaker", "logs", "sts", "sqs", "events")
OPERATIONS: dict[str, dict[str, Handler]] = {service: {} for service in SERVICES}
# Operations that may wait (SQS's long poll): the server awaits these instead of the plain
# handler of the same name, which answers without waiting.
AWAITING: dict[tuple[str, str], AwaitingHandler] = {}


def operation(service: str, name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the answer to ``service``.``name``."""

    def register(handler: Handler) -> Handler:
        if name in OPERATIONS[service]:
            raise RuntimeError(f"{service}.{name} is registered twice")
        OPERATIONS[service][name] = handler
        return handler

    return register


def awaiting_operation(service: str, name: str) -> Callable[[AwaitingHandler], AwaitingHandler]:
    """Register ``handler`` as the waiting answer to ``service``.``name`` (see ``AWAITING``)."""

    def register(handler: AwaitingHandler) -> AwaitingHandler:
        AWAITING[(service, name)] = handler
        return handler

    return register


@dataclass
class EmulatorConfig:
    """How the emulated account behaves. Durations are seconds of emulator wall-clock time."""

    region: str = "us-east-1"
    account_id: str = "123456789012"
    job_duration: float = 5.0
    stop_duration: float = 1.0
    endpoint_duration: float | None = None  # defaults to job_duration
    # Debugger rules finish this long after training completes; None means 10% of its duration.
    rule_duration: float | None = None
    log_lines: int = 20  # lines per host over a job's life (tag emulator:log-lines overrides)
    log_page_size: int = 10_000  # most events one GetLogEvents/FilterLogEvents page returns
    log_page_bytes: int = 1_048_576  # and the most bytes (``emulator.logs.event_bytes``)
    late_event_delay: float = 0.5  # late log events become visible this long after the job ends
    profile: str = "fast"
    max_instances_per_type: int | None = None  # in flight per (kind, instance type)
    check_responses: bool = False  # tests: check every response against botocore's output shape
    faults: Faults = field(default_factory=Faults)
    # How List calls cut their pages: as AWS does (the page first, then the filters) unless
    # told otherwise (``listing``).
    paging: Paging = AWS_PAGING
    # What DescribeLabelingJob answers for a missing job: no public source says (``errors``).
    labeling_not_found: str = "ValidationException"
    # Ended jobs of every kind preloaded over the past months, as an account's history
    # (``history``): 0 is a new account.
    history: int = 0
    # STS (emulator.sts). Emulator only: credentials from AssumeRole expire this many
    # seconds after they are issued, whatever DurationSeconds asked for (AWS refuses less than
    # 900), so that tests can watch credentials expire; None honours DurationSeconds.
    credential_seconds: float | None = None
    role_max_session_seconds: int = 3600  # every role's MaxSessionDuration (IAM's default)
    denied_roles: tuple[str, ...] = ()  # fnmatch patterns of role ARNs AssumeRole refuses
    # The algorithm resources the account may train with (AlgorithmSpecification.AlgorithmName):
    # names of its own algorithms or ARNs of subscribed ones; any other is refused, as AWS does.
    algorithms: tuple[str, ...] = ()
    # How EventBridge delivers SageMaker's events to SQS: delay, duplicates, reordering.
    events: EventDelivery = field(default_factory=EventDelivery)
    # The service's clock runs this many seconds ahead of ``clock`` (negative: behind): every
    # time it states (CreationTime, LastModifiedTime, events, the HTTP Date header) and every
    # time filter it applies is on its own clock, as AWS's are on AWS's.
    clock_skew_s: float = 0.0


class Emulator:
    """One emulated AWS account and region."""

    def __init__(
        self, config: EmulatorConfig | None = None, clock: Callable[[], float] = time.time
    ):
        from emulator.eventbridge import EventBus
        from emulator.logs import LogStore
        from emulator.sqs import Queues

        self.config = config or EmulatorConfig()
        self.clock = clock
        self.quotas = Quotas.profile(self.config.profile)
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.lost_answers: Counter[str] = Counter()
        # Per kind, name -> job, indexed for List calls (creation order, transition times).
        self.jobs: dict[str, IndexedTable[Job]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.models: dict[str, Model] = {}
        self.endpoint_configs: dict[str, EndpointConfig] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.workteams: dict[str, Workteam] = {}
        self.credentials: dict[str, IssuedCredentials] = {}  # by access key id, from AssumeRole
        self.logs: LogStore = LogStore(self)
        self.sqs: Queues = Queues(self)
        # Per List operation: pages served, summaries on them, and pages that had none but a
        # NextToken (what AWS's page-then-filter costs a client; ``listing``).
        self.list_pages: Counter[str] = Counter()
        self.list_summaries: Counter[str] = Counter()
        self.list_empty_pages: Counter[str] = Counter()
        self.history: Counter[str] = Counter()  # preloaded ended jobs, per kind
        if self.config.history:
            from emulator.history import preload

            preload(self, self.config.history)
        self.bus: EventBus = EventBus(self)  # after the history: it publishes none of it

    def now(self) -> float:
        """The service's time: ``clock`` moved by ``clock_skew_s``."""
        return self.clock() + self.config.clock_skew_s

    def arn(self, resource_type: str, name: str) -> str:
        # SageMaker lower-cases resource names in ARNs.
        return f"arn:aws:sagemaker:{self.config.region}:{self.config.account_id}:{resource_type}/{name.lower()}"

    def jobs_of(self, kind: str) -> IndexedTable[Job]:
        table = self.jobs.get(kind)
        if table is None:
            table = self.jobs[kind] = IndexedTable()
        return table

    def all_jobs(self) -> Iterator[Job]:
        for jobs in self.jobs.values():
            yield from jobs.values()

    def record_listing(self, operation: str, response: Response) -> None:
        """Count one page a List operation served."""
        summaries = next((value for value in response.values() if isinstance(value, list)), [])
        self.list_pages[operation] += 1
        self.list_summaries[operation] += len(summaries)
        if not summaries and response.get("NextToken"):
            self.list_empty_pages[operation] += 1

    def stats(self) -> dict[str, Any]:
        """The contract tests and benchmarks measure with (``GET /_emulator/stats``): the
        jobs clients made (the preloaded history is only counted)."""
        self.bus.catch_up()
        now = self.now()
        rows = [
            job.stats_row(now) for job in self.all_jobs() if job.visible(now) and not job.preloaded
        ]
        rows.extend(endpoint.stats_row(now) for endpoint in self.endpoints.values())
        return {
            "calls": dict(self.calls),
            "throttled": dict(self.throttled),
            "lost_answers": dict(self.lost_answers),
            "listing": {
                operation: {
                    "pages": pages,
                    "summaries": self.list_summaries[operation],
                    "empty_pages": self.list_empty_pages[operation],
                }
                for operation, pages in self.list_pages.items()
            },
            "history": dict(self.history),
            "log_events_served": dict(self.logs.events_served),
            "events": self.bus.stats(),
            "paging": self.config.paging.describe(),
            "jobs": rows,
            "now": now,
        }
