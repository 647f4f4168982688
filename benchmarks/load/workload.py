"""The jobs every strategy drives, and how time is compressed so that a run fits in minutes.

Time compression. Training jobs of a sweep typically run 10 to 45 minutes; here they run 20
to 90 seconds, about 30x shorter: each job's length is drawn from a seeded lognormal (median
``duration_median``, clipped to ``[duration_min, duration_max]``). What is measured is *not*
compressed: the runner's intervals (5 s sweep), the baselines' poll interval, the log tailer's
pace and the List/Logs quotas are those of AWS and of the defaults, so detection latency and
calls per minute read as they would against AWS. What compression does change is the rate of
per-job events (creations, status changes, ends): a batch churns ~30x faster than on AWS,
which weighs on every strategy's fixed per-job calls (see ``emulator``).

The shape of a run. Jobs are submitted at ``submit_rate`` (the same pace for every strategy),
and each job's end is planned from the end of that ramp: ``ramp + d``. So once everything is
submitted, every job runs for at least ``duration_min`` seconds (the steady state, where CPU is
measured), and then the ends arrive spread over the distribution.

A realistic mix: nine in ten jobs are training jobs (five status changes each), one in ten a
processing job; one in five runs on two instances (two log streams).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.sagemaker_requests import IMAGE, ROLE, training_request

DURATION_TAG = "emulator:duration-seconds"  # emulator/jobs.py
LOG_LINES_TAG = "emulator:log-lines"  # emulator/logs.py
NAME_FIELDS = {"training": "TrainingJobName", "processing": "ProcessingJobName"}
# A client method's noun: describe_training_job, stop_processing_job.
METHOD_NOUNS = {"training": "training_job", "processing": "processing_job"}
NOUNS = {"training": "TrainingJob", "processing": "ProcessingJob"}
STATUS_FIELDS = {"training": "TrainingJobStatus", "processing": "ProcessingJobStatus"}
LOG_GROUPS = {
    "training": "/aws/sagemaker/TrainingJobs",
    "processing": "/aws/sagemaker/ProcessingJobs",
}
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
KUBERNETES_GRACE = 30.0  # terminationGracePeriodSeconds' default: a KFP pod's time after SIGTERM
STRATEGIES = ("ours", "ours-events", "v1", "trigger")


@dataclass(frozen=True)
class Profile:
    """Every knob of one benchmark invocation (``full``, ``quick`` or ``smoke``)."""

    name: str
    sizes: tuple[int, ...]
    # The largest N a baseline is run at (see the README: threads and clients per job).
    caps: dict[str, int] = field(default_factory=lambda: {"v1": 1000, "trigger": 1000})
    duration_median: float = 40.0
    duration_sigma: float = 0.45
    duration_min: float = 20.0
    duration_max: float = 90.0
    interval: float = 5.0  # the runner's sweep interval and the baselines' poll interval
    submit_rate: float = 80.0  # jobs submitted per second, by every strategy
    log_lines: int = 24  # log lines per host over a job's life
    sigterm_size: int = 1000  # N of the SIGTERM phase; 0 skips it
    sigterm_strategies: tuple[str, ...] = ("ours", "v1", "trigger")
    sigterm_settle: float = 5.0  # seconds the jobs are followed before the SIGTERM
    # The steady state at AWS's pace (the ``paced`` phase): ``paced_size`` jobs whose durations
    # and log lines are ``pace`` times the run phase's, so that each job changes status at
    # AWS's pace while each host writes as many lines a minute as in the run phase; measured
    # for ``paced_window`` seconds as late as the plan allows before any job ends (a training
    # job writes its first line a quarter into its life: right after the submission, few
    # hosts would be writing; see ``paced_window_from``). 0 skips it.
    paced_size: int = 10_000
    paced_strategies: tuple[str, ...] = ("ours", "ours-events")
    paced_window: float = 120.0
    pace: float = 30.0
    # After SIGTERM the process is killed after this: long enough for the Stop* quota (10/s)
    # to accept every Stop at N = 1,000 (issue 12's target: N / 10 + 2 s); the figures also
    # say what was accepted within Kubernetes' default grace period (``KUBERNETES_GRACE``).
    grace: float = 150.0
    # Quotas the compression forces up (see ``emulator``): per second, equal burst.
    create_rate: float = 100.0
    describe_rate: float = 100.0
    stop_duration: float = 1.0  # Stopping -> Stopped in the emulator
    # How long a strategy may spend on logs after a job ended (ours: LogPolicy.drain_limit, for
    # the listing of a job still missing a stream, then again for reading).
    drain_limit: float = 60.0
    seed: int = 7
    # The account: ended jobs of every kind preloaded (``emulator/history.py``), and how
    # List calls page (``emulator/listing.py``: "aws" cuts the page before filtering).
    history: int = 20_000
    list_paging: str = "aws"
    creation_time_bounds_scan: bool = False
    # Another ListTrainingJobs user of the account (``bystander``): one call every this many
    # seconds, through the same quotas; 0: none.
    bystander_interval: float = 10.0
    # EventBridge's delivery of each SageMaker event to the ``ours-events`` queue, seconds
    # after the change (``smrun emulator --event-delay``); AWS says "near real time".
    event_delay: float = 1.0
    # Every run at once rather than one after another: only where nothing is measured.
    concurrent: bool = False

    def ramp(self, size: int) -> float:
        return size / self.submit_rate

    def history_sweep(self, size: int) -> float:
        """Seconds one sweep may take to walk the account (history and batch, 100 jobs a
        page) at the runner's List budget (1.5 pages/s): a deadline must allow a few."""
        return (self.history + size) / 100 / 1.5

    def cap(self, strategy: str, size: int) -> bool:
        return size <= self.caps.get(strategy, size)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Profile(name="full", sizes=(100, 1000, 10_000))
QUICK = Profile(
    name="quick",
    sizes=(100,),
    duration_median=7.0,
    duration_sigma=0.3,
    duration_min=5.0,
    duration_max=10.0,
    sigterm_size=100,
    sigterm_settle=2.0,
    paced_size=100,
    paced_window=10.0,
    pace=10.0,  # its jobs' logs begin within a minute (the full profile's, in five)
    grace=8.0,
    drain_limit=15.0,
    history=1000,  # 11 pages a sweep: the AWS paging path, in minutes
)
# The test suite's smoke run: a few jobs of a second or two, everything ten times faster.
SMOKE = Profile(
    name="smoke",
    sizes=(4,),
    duration_median=0.8,
    duration_sigma=0.2,
    duration_min=0.5,
    duration_max=1.2,
    interval=0.5,
    submit_rate=40.0,
    log_lines=4,
    sigterm_size=4,
    sigterm_strategies=("ours",),  # the baselines' SIGTERM paths run in --quick
    paced_size=4,
    paced_strategies=("ours",),
    paced_window=3.0,
    pace=10.0,
    sigterm_settle=0.3,
    grace=5.0,
    stop_duration=0.2,
    drain_limit=5.0,
    history=150,  # two pages a sweep: the AWS paging path, in seconds
    bystander_interval=2.0,  # a few calls a run, a quarter of the quota
    event_delay=0.2,
    concurrent=True,
)
PROFILES = {profile.name: profile for profile in (FULL, QUICK, SMOKE)}


@dataclass(frozen=True)
class JobSpec:
    """One job of a run, as every strategy gets it."""

    name: str
    kind: str  # "training" or "processing"
    end_offset: float  # seconds after the strategy's start (t0) when the job should end
    instances: int
    log_lines: int
    submit_offset: float  # seconds after t0 when it is submitted

    def duration_at(self, now_offset: float) -> float:
        """The emulator's duration tag for a job submitted ``now_offset`` s after t0."""
        return round(max(self.end_offset - now_offset, 1.0), 3)


def plan_jobs(
    profile: Profile, size: int, *, long_running: bool = False, paced: bool = False
) -> list[JobSpec]:
    """``size`` jobs, the same for every strategy (seeded); ``long_running``: jobs that outlast
    the run (the SIGTERM phase); ``paced``: durations and log lines ``profile.pace`` times
    longer and more (the paced phase)."""
    rng = random.Random(profile.seed * 1_000_003 + size)
    ramp = profile.ramp(size)
    jobs = []
    for index in range(size):
        kind = "processing" if rng.random() < 0.1 else "training"
        instances = 2 if rng.random() < 0.2 else 1
        drawn = rng.lognormvariate(math.log(profile.duration_median), profile.duration_sigma)
        duration = min(max(drawn, profile.duration_min), profile.duration_max)
        scale = profile.pace if paced else 1.0
        end = 24 * 3600.0 if long_running else ramp + duration * scale
        jobs.append(
            JobSpec(
                name=f"lb-{index:05d}",
                kind=kind,
                end_offset=round(end, 3),
                instances=instances,
                log_lines=round(profile.log_lines * scale),
                submit_offset=round(index / profile.submit_rate, 4),
            )
        )
    return jobs


def paced_window_from(profile: Profile, jobs: Sequence[JobSpec]) -> float:
    """Seconds after t0 the paced window starts: as late as it can while it (and one interval)
    ends before the first job's planned end, so that as many hosts as the plan allows write
    their logs in it (a training job's logs begin with its ``Training`` phase, a quarter into
    its life, as SageMaker's do after its instances start and its data downloads); never
    before one interval after the planned last submission."""
    first_end = min((job.end_offset for job in jobs), default=0.0)
    latest = first_end - profile.interval - profile.paced_window
    return max(latest, profile.ramp(len(jobs)) + profile.interval)


def request(job: JobSpec, duration: float) -> dict[str, Any]:
    """The Create request of ``job``, running ``duration`` seconds in the emulator."""
    tags = [
        {"Key": DURATION_TAG, "Value": f"{duration:g}"},
        {"Key": LOG_LINES_TAG, "Value": str(job.log_lines)},
    ]
    if job.kind == "processing":
        return {
            "ProcessingJobName": job.name,
            "RoleArn": ROLE,
            "AppSpecification": {"ImageUri": IMAGE},
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": "ml.m5.xlarge",
                    "InstanceCount": job.instances,
                    "VolumeSizeInGB": 30,
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "Tags": tags,
        }
    return training_request(job.name, instances=job.instances, max_runtime=86400, tags=tags)
