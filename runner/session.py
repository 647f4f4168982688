"""One aiobotocore session, one client per service, shared by every job.

A client per job (as deferrable triggers do) costs a TLS connection pool, a credential
resolution and a service-model load per job; here every job of the process shares one client
per service, region, endpoint and credentials, whose pool is sized to the runner's concurrency.

Credentials follow the standard AWS chain (environment, profile, IRSA web identity, container,
instance metadata), or are the target's static ones. With ``assume_role_arn``, those credentials
call STS AssumeRole and the result refreshes itself before it expires (aiobotocore's refreshable
credentials); an AssumeRole that fails for good (access denied, a malformed role ARN) is an
``AwsCallFailed`` for ``AssumeRole``, with STS's code and message. A refresh that fails while
the current credentials have more than botocore's mandatory 10 minutes left keeps them and is
tried again on a later call (a ``credentials.refresh_failed`` event); inside those 10 minutes
the call fails with the ``AwsCallFailed``.

``AwsCaller`` is the only way the core calls AWS: a shared per-operation token bucket, then
the retry policy, then the client. Its ``pages``/``paginate`` walk a List or Filter call's pages
with the token names of botocore's own paginator model (``paginators-1.json``), each page one
retried call: botocore's ``get_paginator`` would call the client directly, around the limiter
and the retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import structlog
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import AioSession, get_session
from botocore import xform_name
from botocore.credentials import CredentialProvider
from botocore.exceptions import BotoCoreError
from botocore.parsers import ResponseParserError

from runner import parsing
from runner.config import AwsTarget, RetryPolicy, RunnerConfig
from runner.errors import AwsCallFailed, CredentialsUnavailable, RunnerError
from runner.gate import WIRE, CreateGate, Wire
from runner.models import model_session, share_models
from runner.ratelimit import RateLimiter
from runner.retry import call_with_retries
from runner.serviceclock import ServiceClock

log = structlog.get_logger("runner.session")

# The runner retries (runner.retry); botocore must not retry underneath it.
_NO_BOTOCORE_RETRIES = {"total_max_attempts": 1, "mode": "standard"}

ASSUME_ROLE_SECONDS = 3600
# An AssumeRole is retried for at most this long, then fails: a refresh is due 15 minutes before
# the credentials expire (botocore's advisory window, 10 for the mandatory one), so a later call
# tries again long before they do, instead of one call waiting out an STS outage.
ASSUME_ROLE_RETRY_SECONDS = 60.0


class AssumedRoleProvider(CredentialProvider):
    """First in the chain when a role is configured: assume it with the chain's credentials."""

    METHOD = "smrun-assume-role"
    CANONICAL_NAME = "smrun-assume-role"

    def __init__(
        self, target: AwsTarget, base_session: AioSession, retry: RetryPolicy | None = None
    ) -> None:
        self._target = target
        self._base = base_session
        policy = retry or RetryPolicy()
        elapsed = min(policy.max_elapsed or ASSUME_ROLE_RETRY_SECONDS, ASSUME_ROLE_RETRY_SECONDS)
        self._retry = replace(policy, max_elapsed=elapsed)

    async def _fetch(self) -> dict[str, Any]:
        """STS's answer as refreshable-credential metadata; any failure is one
        ``CredentialsUnavailable`` (an error from a wrong endpoint, a body that does not parse,
        no base credentials), never botocore's own exception from inside another call."""
        target = self._target
        role = target.assume_role_arn
        assert role is not None
        keys = target.static_credentials
        try:
            async with self._base.create_client(
                "sts",
                region_name=target.region,
                endpoint_url=target.sts_endpoint_url or target.endpoint_url,
                config=AioConfig(retries=_NO_BOTOCORE_RETRIES),
                aws_access_key_id=keys[0] if keys else None,
                aws_secret_access_key=keys[1] if keys else None,
            ) as sts:

                async def attempt() -> Any:
                    return await sts.assume_role(
                        RoleArn=role,
                        RoleSessionName=target.role_session_name,
                        DurationSeconds=ASSUME_ROLE_SECONDS,
                    )

                answer = await call_with_retries("AssumeRole", self._retry, attempt)
        except AwsCallFailed as error:  # STS refused, for good (after the runner's retries)
            raise CredentialsUnavailable(role, error.code, error.aws_message) from error
        except (BotoCoreError, ResponseParserError, aiohttp.ClientError, OSError) as error:
            # ResponseParserError: an answer that is not STS's (another service's endpoint).
            raise CredentialsUnavailable(role, "", str(error)) from error
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


class _RefreshFailureEvent(logging.Filter):
    """aiobotocore reports a failed refresh as a stdlib warning with a traceback (to stderr,
    where nothing configures logging). A failed AssumeRole is already an ``AwsCallFailed``
    that the call raises (mandatory window) or that is tried again later (advisory window,
    the current credentials still serve), so it becomes one event instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, RunnerError):
            return True
        log.warning(
            "credentials.refresh_failed",
            error=str(error),
            mandatory="mandatory" in record.getMessage(),
        )
        return False


_REFRESH_FAILURES = _RefreshFailureEvent()


def make_session(target: AwsTarget, retry: RetryPolicy | None = None) -> AioSession:
    session = share_models(get_session())
    parsing.install(session)
    if target.profile:
        session.set_config_variable("profile", target.profile)
    if target.assume_role_arn:
        base = share_models(get_session())
        if target.profile:
            base.set_config_variable("profile", target.profile)
        resolver = session.get_component("credential_provider")
        resolver.providers.insert(0, AssumedRoleProvider(target, base, retry))
        logging.getLogger("aiobotocore.credentials").addFilter(_REFRESH_FAILURES)  # once
    return session


class ClientPool:
    """Clients by service, created on first use and closed together."""

    def __init__(self, config: RunnerConfig) -> None:
        self._config = config
        # Typed as Any: the stubs overload create_client per service literal.
        self._session: Any = make_session(config.aws, config.retry)
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[str, Any] = {}
        self._client_config = AioConfig(
            max_pool_connections=config.max_connections,
            connect_timeout=min(config.retry.call_timeout, 10.0),
            read_timeout=config.retry.call_timeout,
            retries=_NO_BOTOCORE_RETRIES,
        )

    def _endpoint(self, service: str) -> str | None:
        """None lets botocore resolve it (``AWS_ENDPOINT_URL_<SERVICE>``, config, region)."""
        target = self._config.aws
        own = {
            "sagemaker": target.sagemaker_endpoint_url,
            "logs": target.logs_endpoint_url,
            "sts": target.sts_endpoint_url,
            "sqs": target.sqs_endpoint_url,
            "events": target.events_endpoint_url,
        }.get(service)
        return own or target.endpoint_url

    async def client(self, service: str) -> Any:
        if service not in self._clients:
            target = self._config.aws
            # With a role, the static credentials only assume it (AssumedRoleProvider).
            keys = None if target.assume_role_arn else target.static_credentials
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
        self.clock = ServiceClock()  # the service's clock, from every answer's Date header
        # Closed by shutdown: a Create not yet on the wire is abandoned (``runner.gate``).
        self.gate = CreateGate()
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

        # Set when this is a gated call (``create``); a task started from inside one (a
        # callback) inherits the variable, but not the operation.
        wire = WIRE.get()
        if wire is not None and wire.operation != operation:
            wire = None

        async def attempt() -> dict[str, Any]:
            await self.limiter.acquire(operation)
            async with sending:
                with contextlib.nullcontext() if wire is None else wire.sending():
                    response: dict[str, Any] = await method(**params)
            self.clock.observe(response.pop("ResponseMetadata", None))
            return response

        return await call_with_retries(operation, self.config.retry, attempt)

    async def create(self, operation: str, **params: Any) -> dict[str, Any]:
        """A SageMaker call that starts something (a Create, an endpoint's Update): through
        ``gate``, so that a shutdown abandons it while it waits for its budget or a retry.
        Raises ``NotSent`` or ``AnswerUnknown`` then."""

        async def gated(wire: Wire) -> dict[str, Any]:
            WIRE.set(wire)  # this task's own context: its attempts tell the wire
            return await self.sagemaker(operation, **params)

        return await self.gate.send(operation, gated)

    async def pages(
        self, service: str, operation: str, *, max_pages: int | None = None, **params: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Each page of ``operation`` in turn, following its tokens to the end (or for at most
        ``max_pages``). A token that comes back unchanged ends it, as botocore's paginator does.

        A page is let go before the next is asked for (the caller's loop variable should be
        too): a walk waits for its budget's token between pages, and a FilterLogEvents page
        is up to 1 MB of events, ~10 MB parsed. 120 walks of a 10,000-job batched log round,
        each holding its last page while it waited, held ~600 MB."""
        paging = paging_of(service, operation)
        token: str | None = None
        taken = 0
        while max_pages is None or taken < max_pages:
            page = await self.call(
                service, operation, **params, **({paging.input_token: token} if token else {})
            )
            taken += 1
            previous, token = token, page.get(paging.output_token)
            yield page
            del page
            if not token or token == previous:
                return

    async def paginate(self, service: str, operation: str, **params: Any) -> AsyncIterator[Any]:
        """Every item of every page: the members of the paginator's (first) result key."""
        key = paging_of(service, operation).result_key
        async for page in self.pages(service, operation, **params):
            for item in page.get(key) or []:
                yield item

    async def sagemaker(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.call("sagemaker", operation, **params)

    async def close(self) -> None:
        await self.clients.close()


@dataclass(frozen=True)
class Paging:
    """How an operation pages, as botocore's paginator model says."""

    input_token: str
    output_token: str
    result_key: str


@functools.cache
def paging_of(service: str, operation: str) -> Paging:
    """The paginator of ``operation`` in botocore's model; ValueError when it has none."""
    model = model_session().get_paginator_model(service).get_paginator(operation)
    first = [
        key if isinstance(key, str) else key[0]
        for key in (model["input_token"], model["output_token"], model["result_key"])
    ]
    return Paging(*first)
