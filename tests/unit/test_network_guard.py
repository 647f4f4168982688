"""The network guard: nothing a test runs can reach a host that is not this machine.

The non-loopback address used here is never contacted: the guard refuses before the socket
connects (a test that got past it would hang on the unroutable address until its timeout).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap

import pytest

from support.environment import subprocess_env
from support.network_guard import NonLoopbackConnection, is_loopback

UNROUTABLE = ("10.255.255.1", 443)
AWS_NAME = "sagemaker.us-east-1.amazonaws.com"


def test_connect_to_a_non_loopback_address_is_refused() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NonLoopbackConnection),
    ):
        sock.connect(UNROUTABLE)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NonLoopbackConnection),
    ):
        sock.connect_ex(UNROUTABLE)


def test_create_connection_is_refused() -> None:
    with pytest.raises(NonLoopbackConnection):
        socket.create_connection(UNROUTABLE, timeout=1)


def test_name_lookup_of_aws_is_refused() -> None:
    with pytest.raises(NonLoopbackConnection):
        socket.getaddrinfo(AWS_NAME, 443)
    with pytest.raises(NonLoopbackConnection):
        socket.getaddrinfo("amazonaws.com", None)


def test_the_refusal_is_a_connection_error() -> None:
    # Libraries that retry on ConnectionError see an ordinary refusal, never a hang.
    assert issubclass(NonLoopbackConnection, ConnectionRefusedError)


async def test_asyncio_connections_are_refused() -> None:
    with pytest.raises(NonLoopbackConnection):
        await asyncio.wait_for(asyncio.open_connection(*UNROUTABLE), timeout=2)
    with pytest.raises(NonLoopbackConnection):
        await asyncio.wait_for(asyncio.open_connection(AWS_NAME, 443), timeout=2)


def test_loopback_works() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, port), timeout=2) as client:
                accepted, _ = server.accept()
                with accepted:
                    client.sendall(b"ping")
                    assert accepted.recv(4) == b"ping"


def test_unix_sockets_are_not_affected() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        (b"127.0.0.1", True),
        ("localhost", True),
        ("10.255.255.1", False),
        ("0.0.0.0", False),
        ("169.254.169.254", False),  # the instance metadata service
        ("amazonaws.com", False),
        (None, False),
        (12, False),
    ],
)
def test_is_loopback(host: object, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_subprocess_started_with_subprocess_env_is_guarded() -> None:
    script = textwrap.dedent(
        f"""
        import socket
        results = []
        for attempt in (
            lambda: socket.create_connection({UNROUTABLE!r}, timeout=1),
            lambda: socket.getaddrinfo({AWS_NAME!r}, 443),
        ):
            try:
                attempt()
                results.append("connected")
            except Exception as exc:
                results.append(type(exc).__name__)
        server = socket.create_server(("127.0.0.1", 0))
        socket.create_connection(server.getsockname(), timeout=1).close()
        results.append("loopback ok")
        print(",".join(results))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.strip() == "NonLoopbackConnection,NonLoopbackConnection,loopback ok"
