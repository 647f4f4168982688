"""Fixtures for integration tests: a moto server to compare the emulator against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.moto_server import MotoServer


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server for the session (starting one imports moto: a couple of seconds)."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def moto_url(moto_server: MotoServer) -> str:
    """The URL of a moto server on 127.0.0.1; its state is shared by every test of the session."""
    return moto_server.url
