"""Moto's server, in this process, on a free loopback port: an independent reference emulator.

Moto is imported only when a server is started, so that test runs that do not use it do not
pay for the import (a couple of seconds).
"""

from __future__ import annotations

import logging
import urllib.request
from types import TracebackType
from typing import Any


class MotoServer:
    """``with MotoServer() as moto: ...`` then point clients at ``moto.url``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        # Werkzeug logs every request at INFO on stderr; keep test output for failures.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Port 0: the OS picks a free port when the server binds; ask the server which.
        self._server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
        self._server.start()
        self.host, self.port = self._server.get_host_and_port()

    def reset(self) -> None:
        """Forget every resource (moto keeps its backends in process-wide state)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
