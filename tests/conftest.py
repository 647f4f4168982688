"""Fixtures for every test: the network guard, fake AWS credentials, an emulator on a free port."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.network_guard import install as install_network_guard

install_network_guard()

from hypothesis import settings as hypothesis_settings  # noqa: E402

# The same examples on every run: a property test finds its bugs where it is developed, never
# by chance on a landing (HYPOTHESIS_PROFILE=explore draws new ones).
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

from support.environment import FAKE_AWS_ENV  # noqa: E402

# Fake credentials and a fixed region for everything a test starts, subprocesses included.
os.environ.update(FAKE_AWS_ENV)
for _name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)


@pytest.fixture
def emulator_config() -> Any:
    """Override in a module to change how the emulator behaves for its tests."""
    from emulator.state import EmulatorConfig

    return EmulatorConfig(
        job_duration=1.0, stop_duration=0.2, late_event_delay=0.2, check_responses=True
    )


@pytest.fixture
async def emulator(emulator_config: Any) -> AsyncIterator[Any]:
    """An emulator served in the test's event loop on a free loopback port."""
    from emulator.server import EmulatorServer

    async with EmulatorServer(emulator_config) as server:
        yield server


@pytest.fixture
def client_factory(emulator: Any) -> Callable[..., Any]:
    """``async with client_factory("sagemaker") as sm:``: an aiobotocore client on the emulator."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    session = get_session()

    def make(service: str, **config: Any) -> Any:
        return session.create_client(
            service,
            region_name="us-east-1",
            endpoint_url=emulator.url,
            # One attempt: tests see exactly what the emulator answered.
            config=AioConfig(retries={"mode": "standard", "total_max_attempts": 1}, **config),
        )

    return make


@pytest.fixture
async def sagemaker(client_factory: Callable[..., Any]) -> AsyncIterator[Any]:
    async with client_factory("sagemaker") as client:
        yield client


@pytest.fixture
async def logs(client_factory: Callable[..., Any]) -> AsyncIterator[Any]:
    async with client_factory("logs") as client:
        yield client


@pytest.fixture
def tmp_cwd(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Each test starts from structlog's defaults: a CLI run in process configures logging onto
    its captured stream, which pytest closes after that test."""
    import structlog

    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
