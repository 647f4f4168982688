"""STS on the emulator, over its own wire protocol (AWS query: a form in, XML out), through
aiobotocore and plain boto3: GetCallerIdentity, AssumeRole, its errors, and credentials that
expire. The expected answers are AWS's (see emulator/sts.py for the sources)."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.quotas import Faults
from emulator.server import BackgroundEmulator
from emulator.state import EmulatorConfig
from support.clock import HandClock
from support.stats import fetch_stats

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/smrun-runner"
ROLE_WITH_PATH = f"arn:aws:iam::{ACCOUNT}:role/pipelines/smrun-runner"
NO_RETRIES = {"mode": "standard", "total_max_attempts": 1}


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        job_duration=1.0,
        stop_duration=0.2,
        check_responses=True,
        denied_roles=("arn:aws:iam::*:role/forbidden-*",),
    )


@pytest.fixture
def clock(emulator: Any) -> HandClock:
    clock = emulator.emulator.clock = HandClock()
    return clock


def aio_client(url: str, service: str, credentials: dict[str, Any] | None = None) -> Any:
    """An aiobotocore client on the emulator, signed with ``credentials`` (an AssumeRole
    ``Credentials``) or the environment's."""
    keys: dict[str, Any] = {}
    if credentials is not None:
        keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    return get_session().create_client(
        service,
        region_name="us-east-1",
        endpoint_url=url,
        config=AioConfig(retries=NO_RETRIES),
        **keys,
    )


@pytest.fixture
async def sts(emulator: Any) -> AsyncIterator[Any]:
    async with aio_client(emulator.url, "sts") as client:
        yield client


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


async def test_the_environment_credentials_are_the_accounts_user(sts: Any) -> None:
    identity = await sts.get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/emulator"
    assert identity["UserId"].startswith("AIDA") and len(identity["UserId"]) == 21
    assert identity["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "text/xml"


async def test_assume_role_issues_credentials_that_sign_as_the_session(
    emulator: Any, sts: Any, clock: HandClock
) -> None:
    answer = await sts.assume_role(
        RoleArn=ROLE_WITH_PATH,
        RoleSessionName="run-42",
        DurationSeconds=900,
    )
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
    assert credentials["SecretAccessKey"] and credentials["SessionToken"]
    issued_at = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    expires_in = credentials["Expiration"] - issued_at
    assert abs(expires_in.total_seconds() - 900) < 0.001  # milliseconds on the wire
    # A role with a path is named by its last part in the session's ARN.
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/smrun-runner/run-42"
    assert answer["AssumedRoleUser"]["Arn"] == session_arn
    role_id = answer["AssumedRoleUser"]["AssumedRoleId"]
    assert role_id.startswith("AROA") and role_id.endswith(":run-42")

    async with aio_client(emulator.url, "sts", credentials) as as_session:
        identity = await as_session.get_caller_identity()
    assert identity["Arn"] == session_arn
    assert identity["UserId"] == role_id
    assert identity["Account"] == ACCOUNT
    # The same role assumed again: the same role id, new keys.
    again = await sts.assume_role(RoleArn=ROLE_WITH_PATH, RoleSessionName="run-43")
    assert again["AssumedRoleUser"]["AssumedRoleId"].split(":")[0] == role_id.split(":")[0]
    assert again["Credentials"]["AccessKeyId"] != credentials["AccessKeyId"]
    # Without DurationSeconds, an hour (AssumeRole's default).
    assert (again["Credentials"]["Expiration"] - issued_at).total_seconds() == pytest.approx(
        3600, abs=0.001
    )


async def test_a_role_in_another_account_gives_that_accounts_session(
    emulator: Any, sts: Any
) -> None:
    answer = await sts.assume_role(RoleArn="arn:aws:iam::210987654321:role/x", RoleSessionName="s1")
    async with aio_client(emulator.url, "sts", answer["Credentials"]) as as_session:
        identity = await as_session.get_caller_identity()
    assert identity["Account"] == "210987654321"
    assert identity["Arn"] == "arn:aws:sts::210987654321:assumed-role/x/s1"


# RoleArn values AWS refused, with the message it gave (localstack's AWS-validated snapshot).
@pytest.mark.parametrize(
    "role_arn",
    [
        "nothing-valid-in-here",
        "arn::b:::something/test-role",  # no partition
        "arn:a::::something/test-role",  # no service
        "arn:a:::something/test-role",  # not enough parts
        "arn:a:a::aaaaaaaaaa:",  # no resource
    ],
)
async def test_a_malformed_role_arn_is_invalid(sts: Any, role_arn: str) -> None:
    with pytest.raises(ClientError) as caught:
        await sts.assume_role(RoleArn=role_arn, RoleSessionName="Session1")
    assert error_of(caught) == ("ValidationError", f"{role_arn} is invalid", 400)
    assert caught.value.response["Error"]["Type"] == "Sender"


@pytest.mark.parametrize(
    ("session_name", "message"),
    [
        # AWS's own answer, as field reports quote it (zalando-stups/aws-credentials-service#7,
        # aws-actions/configure-aws-credentials#1306).
        (
            "Session1:2",
            "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ),
        (
            "s" * 65,
            f"1 validation error detected: Value '{'s' * 65}' at 'roleSessionName' failed to "
            "satisfy constraint: Member must have length less than or equal to 64",
        ),
    ],
)
async def test_a_session_name_breaking_stss_rules_is_refused_in_aws_words(
    sts: Any, session_name: str, message: str
) -> None:
    # botocore checks neither the pattern nor the maximum length: the service does.
    with pytest.raises(ClientError) as caught:
        await sts.assume_role(RoleArn=ROLE, RoleSessionName=session_name)
    assert error_of(caught) == ("ValidationError", message, 400)


async def test_durations_beyond_the_roles_maximum_or_role_chaining_are_refused(
    emulator: Any, sts: Any
) -> None:
    with pytest.raises(ClientError) as caught:
        await sts.assume_role(RoleArn=ROLE, RoleSessionName="long", DurationSeconds=7200)
    assert error_of(caught) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        400,
    )
    emulator.emulator.config.role_max_session_seconds = 43200
    first = await sts.assume_role(RoleArn=ROLE, RoleSessionName="long", DurationSeconds=7200)
    async with aio_client(emulator.url, "sts", first["Credentials"]) as chained:
        with pytest.raises(ClientError) as caught:
            await chained.assume_role(RoleArn=ROLE, RoleSessionName="next", DurationSeconds=3601)
        assert error_of(caught) == (
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
            "by role chaining.",
            400,
        )
        hop = await chained.assume_role(RoleArn=ROLE, RoleSessionName="next", DurationSeconds=3600)
    assert hop["AssumedRoleUser"]["Arn"].endswith(":assumed-role/smrun-runner/next")


async def test_a_denied_role_is_access_denied_naming_the_caller(emulator: Any, sts: Any) -> None:
    denied = f"arn:aws:iam::{ACCOUNT}:role/forbidden-admin"
    with pytest.raises(ClientError) as caught:
        await sts.assume_role(RoleArn=denied, RoleSessionName="s1")
    assert error_of(caught) == (
        "AccessDenied",
        f"User: arn:aws:iam::{ACCOUNT}:user/emulator is not authorized to perform: "
        f"sts:AssumeRole on resource: {denied}",
        403,
    )
    # Only a role can be assumed.
    with pytest.raises(ClientError) as caught:
        await sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:user/someone", RoleSessionName="s1")
    assert error_of(caught)[0] == "AccessDenied"
    assert emulator.emulator.credentials == {}


async def test_issued_credentials_expire_on_every_service(emulator: Any, clock: HandClock) -> None:
    emulator.emulator.config.credential_seconds = 5  # emulator only: AWS's minimum is 900
    async with aio_client(emulator.url, "sts") as sts:
        answer = await sts.assume_role(RoleArn=ROLE, RoleSessionName="short", DurationSeconds=900)
    credentials = answer["Credentials"]
    lifetime = credentials["Expiration"] - dt.datetime.fromtimestamp(clock.now, dt.UTC)
    assert lifetime.total_seconds() == pytest.approx(5, abs=0.001)  # milliseconds on the wire
    async with (
        aio_client(emulator.url, "sts", credentials) as sts,
        aio_client(emulator.url, "sagemaker", credentials) as sagemaker,
    ):
        clock.advance(4.9)
        await sts.get_caller_identity()
        await sagemaker.list_training_jobs()
        clock.advance(0.2)
        with pytest.raises(ClientError) as caught:
            await sts.get_caller_identity()
        assert error_of(caught) == (
            "ExpiredToken",
            "The security token included in the request is expired",
            400,
        )
        with pytest.raises(ClientError) as caught:
            await sagemaker.list_training_jobs()
        assert error_of(caught)[0] == "ExpiredTokenException"


async def test_issued_keys_need_their_session_token(emulator: Any, sts: Any) -> None:
    credentials = (await sts.assume_role(RoleArn=ROLE, RoleSessionName="s1"))["Credentials"]
    forged = {**credentials, "SessionToken": "not-the-token"}
    async with (
        aio_client(emulator.url, "sagemaker", forged) as sagemaker,
        aio_client(emulator.url, "sts", forged) as as_session,
    ):
        with pytest.raises(ClientError) as caught:
            await sagemaker.list_training_jobs()
        assert error_of(caught)[0] == "UnrecognizedClientException"
        with pytest.raises(ClientError) as caught:
            await as_session.get_caller_identity()
        assert error_of(caught)[0] == "InvalidClientTokenId"


async def test_sts_calls_are_counted_and_get_faults_and_quotas(emulator: Any, sts: Any) -> None:
    await sts.get_caller_identity()
    emulator.emulator.config.faults = Faults(throttle_rate=1.0, services=frozenset({"sts"}))
    with pytest.raises(ClientError) as caught:
        await sts.get_caller_identity()
    # The query protocol's spelling of throttling, which botocore retries as throttling.
    assert error_of(caught) == ("Throttling", "Rate exceeded", 400)
    stats = await fetch_stats(emulator.url)
    assert stats["calls"]["GetCallerIdentity"] == 2
    assert stats["throttled"] == {"GetCallerIdentity": 1}
    emulator.emulator.config.faults = Faults(error_rate=1.0, services=frozenset({"sts"}))
    with pytest.raises(ClientError) as caught:
        await sts.get_caller_identity()
    assert error_of(caught)[0] == "InternalFailure"
    assert caught.value.response["Error"]["Type"] == "Receiver"


def post_form(url: str, body: bytes, authorization: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(f"{url}/", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


SIGNED_FOR_STS = (
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261201/us-east-1/sts/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


@pytest.fixture
def background_emulator() -> Iterator[str]:
    """The emulator on its own thread, for blocking clients (plain boto3, urllib)."""
    config = EmulatorConfig(check_responses=True)
    with BackgroundEmulator(config) as url:
        yield url


def test_an_action_sts_does_not_have_is_an_invalid_action(background_emulator: str) -> None:
    status, body = post_form(
        background_emulator, b"Action=GetSessionTokn&Version=2011-06-15", SIGNED_FOR_STS
    )
    assert status == 400
    assert "<Code>InvalidAction</Code>" in body
    assert "Could not find operation GetSessionTokn for version 2011-06-15" in body
    assert body.startswith('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')


def test_an_unsigned_query_request_is_missing_its_token(background_emulator: str) -> None:
    status, body = post_form(background_emulator, b"Action=GetCallerIdentity", None)
    assert status == 403
    assert "<Code>MissingAuthenticationToken</Code>" in body


def test_a_plain_boto3_client_assumes_a_role_and_signs_with_it(background_emulator: str) -> None:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    sts = boto3.client(
        "sts", region_name="us-east-1", endpoint_url=background_emulator, config=config
    )
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/emulator"
    credentials = sts.assume_role(RoleArn=ROLE, RoleSessionName="boto3")["Credentials"]
    as_session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )
    identity = as_session.client("sts", endpoint_url=background_emulator, config=config)
    assert identity.get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/smrun-runner/boto3"
    )
    sagemaker = as_session.client("sagemaker", endpoint_url=background_emulator, config=config)
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn="nothing-valid-in-here", RoleSessionName="boto3")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
