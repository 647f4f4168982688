"""One aiobotocore session, one client per service, shared by every job.

A client per job (as deferrable triggers do) costs a TLS connection pool, a credential
resolution and a service-model load per job; here every job of the process shares one client
per service, region, endpoint and credentials, whose pool is sized to the runner's concurrency.

Credentials follow the standard AWS chain (environment, profile, IRSA web identity, container,
instance metadata). With ``assume_role_arn``, the chain's credentials call STS AssumeRole and
the result refreshes itself before it expires (aiobotocore's refreshable credentials).

``AwsCaller`` is the only way the core calls AWS: a shared per-operation token bucket, then
the retry policy, then the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import AioSession, get_session
from botocore import xform_name
from botocore.credentials import CredentialProvider
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from runner.config import AwsTarget, RunnerConfig
from runner.errors import CredentialsUnavailable, error_code
from runner.ratelimit import RateLimiter
from runner.retry import call_with_retries

ASSUME_ROLE_SECONDS = 3600


class AssumedRoleProvider(CredentialProvider):
    """First in the chain when a role is configured: assume it with the chain's credentials."""

    METHOD = "smrun-assume-role"
    CANONICAL_NAME = "smrun-assume-role"

    def __init__(self, target: AwsTarget, base_session: AioSession) -> None:
        self._target = target
        self._base = base_session

    async def _fetch(self) -> dict[str, Any]:
        """STS's answer as refreshable-credential metadata; any failure is one
        ``CredentialsUnavailable`` (an error from a wrong endpoint, a body that does not parse,
        no base credentials), never botocore's own exception from inside another call."""
        target = self._target
        assert target.assume_role_arn is not None
        try:
            async with self._base.create_client(
                "sts",
                region_name=target.region,
                endpoint_url=target.sts_endpoint_url or target.endpoint_url,
            ) as sts:
                answer = await sts.assume_role(
                    RoleArn=target.assume_role_arn,
                    RoleSessionName=target.role_session_name,
                    DurationSeconds=ASSUME_ROLE_SECONDS,
                )
        except ClientError as error:
            message = str(error.response.get("Error", {}).get("Message", ""))
            raise CredentialsUnavailable(
                target.assume_role_arn, error_code(error), message
            ) from error
        except (BotoCoreError, ResponseParserError, aiohttp.ClientError, OSError) as error:
            # ResponseParserError: an answer that is not STS's (another service's endpoint).
            raise CredentialsUnavailable(target.assume_role_arn, "", str(error)) from error
        credentials = answer["Credentials"]
        expiry: dt.datetime = credentials["Expiration"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": expiry.isoformat(),
        }

    async def load(self) -> AioRefreshableCredentials:
        return AioRefreshableCredentials.create_from_metadata(
            metadata=await self._fetch(), refresh_using=self._fetch, method=self.METHOD
        )


def make_session(target: AwsTarget) -> AioSession:
    session = get_session()
    if target.profile:
        session.set_config_variable("profile", target.profile)
    if target.assume_role_arn:
        base = get_session()
        if target.profile:
            base.set_config_variable("profile", target.profile)
        resolver = session.get_component("credential_provider")
        resolver.providers.insert(0, AssumedRoleProvider(target, base))
    return session


class ClientPool:
    """Clients by service, created on first use and closed together."""

    def __init__(self, config: RunnerConfig) -> None:
        self._config = config
        # Typed as Any: the stubs overload create_client per service literal.
        self._session: Any = make_session(config.aws)
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[str, Any] = {}
        self._client_config = AioConfig(
            max_pool_connections=config.max_connections,
            connect_timeout=min(config.retry.call_timeout, 10.0),
            read_timeout=config.retry.call_timeout,
            # The runner retries (runner.retry); botocore must not retry underneath it.
            retries={"total_max_attempts": 1, "mode": "standard"},
        )

    def _endpoint(self, service: str) -> str | None:
        """None lets botocore resolve it (``AWS_ENDPOINT_URL_<SERVICE>``, config, region)."""
        target = self._config.aws
        own = {
            "sagemaker": target.sagemaker_endpoint_url,
            "logs": target.logs_endpoint_url,
            "sts": target.sts_endpoint_url,
        }.get(service)
        return own or target.endpoint_url

    async def client(self, service: str) -> Any:
        if service not in self._clients:
            target = self._config.aws
            keys = target.static_credentials
            creating = self._session.create_client(
                service,
                region_name=target.region,
                endpoint_url=self._endpoint(service),
                config=self._client_config,
                aws_access_key_id=keys[0] if keys else None,
                aws_secret_access_key=keys[1] if keys else None,
            )
            self._clients[service] = await self._stack.enter_async_context(creating)
        return self._clients[service]

    async def close(self) -> None:
        self._clients.clear()
        await self._stack.aclose()


class AwsCaller:
    """``await caller.call("sagemaker", "DescribeTrainingJob", TrainingJobName=...)``."""

    def __init__(self, config: RunnerConfig, clients: ClientPool | None = None) -> None:
        self.config = config
        self.clients = clients or ClientPool(config)
        self.limiter = RateLimiter(config.limits)
        self._sending: dict[str, asyncio.Semaphore] = {}

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        client = await self.clients.client(service)
        method = getattr(client, xform_name(operation))
        # At most a connection pool's worth of calls per service are built, signed and sent
        # at once. Without this, a burst (shutdown's Stop for every job) builds and signs every
        # request before the first goes out, then waits for a connection.
        sending = self._sending.setdefault(
            service, asyncio.Semaphore(max(self.config.max_connections, 1))
        )

        async def attempt() -> dict[str, Any]:
            await self.limiter.acquire(operation)
            async with sending:
                response: dict[str, Any] = await method(**params)
            response.pop("ResponseMetadata", None)
            return response

        return await call_with_retries(operation, self.config.retry, attempt)

    async def sagemaker(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.call("sagemaker", operation, **params)

    async def close(self) -> None:
        await self.clients.close()
