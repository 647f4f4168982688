"""Refuse every network connection that is not to loopback.

Installed for the whole test session (``tests/conftest.py``) and, through
``tests/support/sitecustomize``, in every subprocess a test starts: no test can reach AWS,
whatever a library's defaults are (IMDS, STS regional endpoints, telemetry).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class NonLoopbackConnection(ConnectionRefusedError):
    """A test tried to reach a host that is not this machine."""


def is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address and not is_loopback(address[0]):
        raise NonLoopbackConnection(f"network guard: connection to {address!r} refused in tests")


def install() -> None:
    if getattr(socket.socket.connect, "smrun_guard", False):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback(host):
            raise NonLoopbackConnection(f"network guard: name lookup of {host!r} refused in tests")
        return real_getaddrinfo(host, *args, **kwargs)

    connect.smrun_guard = True  # type: ignore[attr-defined]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo
