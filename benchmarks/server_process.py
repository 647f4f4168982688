"""An emulator the benchmarks start as a process of their own, and read figures from.

Benchmarks measure the emulator apart from the load (or the runner) they put on it, so it
always runs in its own process. The command prints ``... listening on http://HOST:PORT`` once
it serves; that line gives the URL.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).parents[1]
LISTENING = re.compile(r"listening on (http://[\d.]+:\d+)")


class ServerProcess:
    """``command`` started in the repository, its URL read from its first line of output.

    ``pin_to`` pins it to one CPU core right after it starts (threads it starts later inherit
    the mask). Stopped with SIGINT, then killed if it has not exited within 30 s.
    """

    def __init__(
        self,
        command: list[str],
        *,
        stderr: int | IO[Any] | None = subprocess.PIPE,
        start_timeout: float = 30.0,
        pin_to: int | None = None,
    ) -> None:
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO
        )
        if pin_to is not None:
            os.sched_setaffinity(self.process.pid, {pin_to})
        self.url = self._wait_for_url(start_timeout)

    def _wait_for_url(self, timeout: float) -> str:
        lines: list[str] = []
        assert self.process.stdout is not None
        stdout = self.process.stdout
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        match = LISTENING.search(lines[0]) if lines else None
        if match is None:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {lines!r}")
        return match.group(1)

    def get(self, path: str, timeout: float = 120.0) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data

    def stats(self) -> dict[str, Any]:
        """The emulator's ``/_emulator/stats``: calls, throttled calls, and every job."""
        return self.get("/_emulator/stats")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
