"""``assume_role_arn``: the runner's clients sign with credentials from STS AssumeRole, and
those credentials refresh themselves before they expire.

STS is moto's (an independent implementation, on 127.0.0.1; the tests marked ``moto``) or the
emulator's own, which refuses expired credentials and can refuse a role; SageMaker is the
emulator. The environment's credentials (``testing``, see tests/conftest.py) are only the base
that calls AssumeRole.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import get_session
from structlog.testing import capture_logs

from emulator.quotas import Faults
from runner import session as runner_session
from runner.config import AwsTarget, PollPolicy, RateLimits, RetryPolicy, RunnerConfig
from runner.core import Runner
from runner.errors import AwsCallFailed, RunnerError
from runner.session import AssumedRoleProvider, ClientPool
from support import requests as req
from support.clock import HandClock
from support.stats import fetch_stats

ROLE = "arn:aws:iam::123456789012:role/smrun-test"


class FetchCounter:
    """Wraps ``AssumedRoleProvider._fetch``: every AssumeRole the runner makes, with its answer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: list[dict[str, Any]] = []
        original = AssumedRoleProvider._fetch

        async def fetch(provider: AssumedRoleProvider) -> dict[str, Any]:
            answer = await original(provider)
            self.answers.append(answer)
            return answer

        monkeypatch.setattr(AssumedRoleProvider, "_fetch", fetch)

    @property
    def calls(self) -> int:
        return len(self.answers)


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> FetchCounter:
    return FetchCounter(monkeypatch)


@pytest.fixture
def environment_key() -> Iterator[str]:
    key = os.environ["AWS_ACCESS_KEY_ID"]
    assert key == "testing"  # tests/conftest.py: the base credentials
    yield key


def role_config(emulator_url: str, moto_url: str, **aws: Any) -> RunnerConfig:
    return RunnerConfig(
        aws=AwsTarget(
            region="us-east-1",
            endpoint_url=emulator_url,
            sts_endpoint_url=moto_url,
            assume_role_arn=ROLE,
            **aws,
        ),
        poll=PollPolicy(initial=0.1, maximum=0.3, jitter=0.1),
        retry=RetryPolicy(initial=0.05, maximum=0.5, max_attempts=5, call_timeout=10),
        limits=RateLimits.none(),
        stop_grace=5,
    )


async def sagemaker_credentials(runner: Runner) -> Any:
    client = await runner.caller.clients.client("sagemaker")
    return client._request_signer._credentials


@pytest.mark.moto
async def test_a_job_is_submitted_with_assumed_role_credentials(
    emulator: Any, moto_url: str, fetches: FetchCounter, environment_key: str
) -> None:
    request = req.training("assumed-one", Tags=req.tags(**{"emulator:duration-seconds": 0.2}))
    async with Runner(role_config(emulator.url, moto_url)) as runner:
        outcome = await (await runner.submit("training", request)).wait()
        credentials = await sagemaker_credentials(runner)
        frozen = await credentials.get_frozen_credentials()
    assert outcome.succeeded and outcome.status == "Completed"

    assert isinstance(credentials, AioRefreshableCredentials)
    assert credentials.method == "smrun-assume-role"
    # One AssumeRole: the credentials last an hour, so every call of the run reused them.
    assert fetches.calls == 1
    (answer,) = fetches.answers
    assert frozen.access_key == answer["access_key"] != environment_key
    assert frozen.access_key.startswith("ASIA")  # temporary credentials, as STS issues them
    assert frozen.secret_key == answer["secret_key"] != "testing"
    assert frozen.token == answer["token"] and frozen.token != "testing"
    expiry = dt.datetime.fromisoformat(answer["expiry_time"])
    assert dt.timedelta(minutes=55) < expiry - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=1)


@pytest.mark.moto
async def test_the_role_session_uses_the_configured_name_and_role(
    moto_url: str, fetches: FetchCounter
) -> None:
    config = role_config("http://127.0.0.1:9", moto_url, role_session_name="pipeline-run-7")
    pool = ClientPool(config)
    try:
        # Asking for the STS client resolves the assumed credentials without calling SageMaker.
        sts = await pool.client("sts")
        identity = await sts.get_caller_identity()
    finally:
        await pool.close()
    assert fetches.calls == 1
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/smrun-test/pipeline-run-7"


async def test_without_a_role_the_environment_credentials_are_used(
    emulator: Any, fetches: FetchCounter, environment_key: str
) -> None:
    config = RunnerConfig(aws=AwsTarget(region="us-east-1", endpoint_url=emulator.url))
    async with Runner(config) as runner:
        credentials = await sagemaker_credentials(runner)
        frozen = await credentials.get_frozen_credentials()
    assert fetches.calls == 0
    assert frozen.access_key == environment_key
    assert credentials.method == "env"


def set_clock(credentials: AioRefreshableCredentials, now: Callable[[], dt.datetime]) -> None:
    """botocore's refreshable credentials read the time through ``_time_fetcher``."""
    credentials._time_fetcher = now  # type: ignore[attr-defined]


def provider_for(moto_url: str) -> AssumedRoleProvider:
    target = AwsTarget(region="us-east-1", sts_endpoint_url=moto_url, assume_role_arn=ROLE)
    return AssumedRoleProvider(target, get_session())


@pytest.mark.moto
async def test_credentials_are_refreshed_by_a_new_assume_role_before_they_expire(
    moto_url: str, fetches: FetchCounter
) -> None:
    credentials = await provider_for(moto_url).load()
    first = await credentials.get_frozen_credentials()
    again = await credentials.get_frozen_credentials()
    assert fetches.calls == 1  # an hour left: nothing to refresh
    assert again == first

    # Five minutes before expiry (inside botocore's 10-minute mandatory window): the next use
    # assumes the role again and signs with the new credentials.
    expiry = dt.datetime.fromisoformat(fetches.answers[0]["expiry_time"])
    set_clock(credentials, lambda: expiry - dt.timedelta(minutes=5))
    refreshed = await credentials.get_frozen_credentials()
    assert fetches.calls == 2
    assert refreshed.access_key == fetches.answers[1]["access_key"]
    assert refreshed.access_key != first.access_key
    assert str(refreshed.access_key).startswith("ASIA")

    # Back on the real clock, the refreshed credentials have an hour left: no more refreshes.
    set_clock(credentials, lambda: dt.datetime.now(dt.UTC))
    assert await credentials.get_frozen_credentials() == refreshed
    assert fetches.calls == 2


@pytest.mark.moto
async def test_short_lived_credentials_are_refreshed_through_the_runners_clients(
    emulator: Any, moto_url: str, fetches: FetchCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Moto answers Expiration = now + DurationSeconds: 900 s, STS's minimum, is already inside
    # botocore's 15-minute advisory window, so each use of the credentials refreshes them.
    monkeypatch.setattr(runner_session, "ASSUME_ROLE_SECONDS", 900)
    async with Runner(role_config(emulator.url, moto_url)) as runner:
        credentials = await sagemaker_credentials(runner)
        first = await credentials.get_frozen_credentials()
        calls_after_first = fetches.calls
        await runner.caller.sagemaker("ListTrainingJobs", MaxResults=1)
        second = await credentials.get_frozen_credentials()
    assert calls_after_first >= 2  # load, then the refresh the first use asked for
    assert fetches.calls > calls_after_first
    assert second.access_key != first.access_key
    assert {second.access_key, first.access_key} <= {a["access_key"] for a in fetches.answers}
    for answer in fetches.answers:
        expiry = dt.datetime.fromisoformat(answer["expiry_time"])
        assert expiry - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=900)


# --- against the emulator's STS -----------------------------------------------------------------


async def describes_after(emulator: Any, seen: int, more: int = 2) -> int:
    """Wait until the runner has sent ``more`` DescribeTrainingJobs after ``seen`` of them
    (it polls every 0.1-0.3 s); the count then."""
    calls = emulator.emulator.calls
    for _ in range(3000):
        if calls["DescribeTrainingJob"] >= seen + more:
            return int(calls["DescribeTrainingJob"])
        await asyncio.sleep(0.01)
    raise AssertionError(f"the runner stopped polling at {calls['DescribeTrainingJob']} Describes")


async def test_the_runner_refreshes_credentials_before_they_expire_while_following_a_job(
    emulator: Any, fetches: FetchCounter
) -> None:
    """The emulator issues 20-minute credentials and refuses them once expired; its clock and
    the credentials' clock are moved by hand through a 30-minute job."""
    clock = emulator.emulator.clock = HandClock()
    emulator.emulator.config.credential_seconds = 20 * 60
    request = req.training("refreshed", Tags=req.tags(**{"emulator:duration-seconds": 30 * 60}))
    async with Runner(role_config(emulator.url, emulator.url)) as runner:
        handle = await runner.submit("training", request)
        credentials = await sagemaker_credentials(runner)
        set_clock(credentials, clock.utc)
        first = await credentials.get_frozen_credentials()
        seen = await describes_after(emulator, 0)

        # 16 minutes left: outside botocore's 15-minute advisory window, nothing to refresh.
        clock.advance(4 * 60)
        seen = await describes_after(emulator, seen)
        assert fetches.calls == 1

        # 8 minutes left, inside the 10-minute mandatory window: the next call refreshes.
        clock.advance(8 * 60)
        seen = await describes_after(emulator, seen)
        assert fetches.calls == 2
        second = await credentials.get_frozen_credentials()
        assert second.access_key != first.access_key
        assert second.access_key == fetches.answers[1]["access_key"]

        # Past the first credentials' expiry and the job's end: the runner sees it complete,
        # signing with the refreshed credentials (the expired ones would be refused).
        clock.advance(19 * 60)
        outcome = await asyncio.wait_for(handle.wait(), timeout=60)
    assert outcome.succeeded and outcome.status == "Completed"
    issued = emulator.emulator.credentials
    assert {a["access_key"] for a in fetches.answers} <= set(issued)
    assert issued[first.access_key].expires_at < clock.now  # the first ones did expire


@pytest.mark.parametrize(
    ("role_arn", "code", "message"),
    [
        (
            "arn:aws:iam::123456789012:role/locked",
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/emulator is not authorized to perform: "
            "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/locked",
        ),
        ("arn:aws:iam:123456789012:role/one-colon-short", "ValidationError", "is invalid"),
    ],
)
async def test_a_refused_assume_role_is_a_runner_error_and_nothing_is_created(
    emulator: Any, role_arn: str, code: str, message: str
) -> None:
    emulator.emulator.config.denied_roles = ("*:role/locked",)
    config = role_config(emulator.url, emulator.url)
    config = replace(config, aws=replace(config.aws, assume_role_arn=role_arn))
    async with Runner(config) as runner:
        with pytest.raises(AwsCallFailed) as caught:
            await runner.submit("training", req.training("never-created"))
    error = caught.value
    assert isinstance(error, RunnerError)
    assert (error.operation, error.code) == ("AssumeRole", code)
    assert message in error.aws_message
    assert str(error).startswith(f"AssumeRole failed: {code}: ")
    calls = (await fetch_stats(emulator.url))["calls"]
    assert calls == {"AssumeRole": 1}  # refused for good: not retried, nothing sent to SageMaker


async def test_a_throttled_assume_role_is_retried_by_the_runners_policy(emulator: Any) -> None:
    emulator.emulator.config.faults = Faults(throttle_rate=1.0, services=frozenset({"sts"}))
    pool = ClientPool(role_config(emulator.url, emulator.url))  # at most 5 attempts
    try:
        with pytest.raises(AwsCallFailed) as caught:
            await pool.client("sagemaker")
    finally:
        await pool.close()
    assert (caught.value.operation, caught.value.code) == ("AssumeRole", "Throttling")
    assert emulator.emulator.throttled["AssumeRole"] == 5  # the runner's attempts, no more


async def test_static_credentials_assume_the_role_rather_than_sign_themselves(
    emulator: Any, fetches: FetchCounter
) -> None:
    # smrun launch --local --assume-role: the emulator's placeholder keys are the base.
    target = replace(AwsTarget.local(emulator.url), assume_role_arn=ROLE)
    pool = ClientPool(RunnerConfig(aws=target))
    try:
        identity = await (await pool.client("sts")).get_caller_identity()
        listed = await (await pool.client("sagemaker")).list_training_jobs()
    finally:
        await pool.close()
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/smrun-test/smrun"
    assert listed["TrainingJobSummaries"] == []
    assert fetches.calls == 1


async def test_a_refresh_sts_refuses_keeps_the_credentials_until_it_must_then_fails_clearly(
    emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    clock = emulator.emulator.clock = HandClock()
    emulator.emulator.config.credential_seconds = 20 * 60
    pool = ClientPool(role_config(emulator.url, emulator.url))
    try:
        sagemaker = await pool.client("sagemaker")
        set_clock(sagemaker._request_signer._credentials, clock.utc)
        emulator.emulator.config.denied_roles = (ROLE,)  # the role's trust changed mid-run

        clock.advance(8 * 60)  # 12 minutes left: botocore's advisory window
        with capture_logs() as advisory:
            await sagemaker.list_training_jobs()  # the current credentials still serve
        clock.advance(5 * 60)  # 7 minutes left: the mandatory window
        with capture_logs() as mandatory, pytest.raises(AwsCallFailed) as caught:
            await sagemaker.list_training_jobs()
    finally:
        await pool.close()
    assert (caught.value.operation, caught.value.code) == ("AssumeRole", "AccessDenied")
    failures = [e for e in advisory + mandatory if e["event"] == "credentials.refresh_failed"]
    assert [e["mandatory"] for e in failures] == [False, True]
    assert all("AssumeRole failed: AccessDenied" in e["error"] for e in failures)
    # One event each, not aiobotocore's warning with a traceback.
    assert not [r for r in caplog.records if r.name.startswith("aiobotocore")]
