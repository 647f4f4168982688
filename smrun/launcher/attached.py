"""Whether a launch is attached to a journal: an exclusive lock held while it runs.

``smrun launch`` holds an ``flock`` on ``<journal>.lock`` from before it writes the journal
until it exits; the kernel drops the lock when the process dies, ``kill -9`` included, so
``smrun status`` can tell "running, followed by launch 4242" from "journaled as running, but
no launch is attached: rerun the launch to follow them". A second launch of the same batch
is refused while the first holds the lock (both would follow, and journal, the same jobs).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["LaunchLock", "LockHeld", "attached_pid"]


class LockHeld(RuntimeError):
    """Another launch holds the journal."""


def lock_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".lock")


class LaunchLock:
    """Held while a launch runs on ``journal``; ``release()`` (or process exit) frees it."""

    def __init__(self, journal: Path) -> None:
        self.path = lock_path(journal)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(self._fd)
            os.close(self._fd)
            raise LockHeld(
                f"another launch (pid {holder or 'unknown'}) is running on {journal}; "
                "wait for it, or smrun stop it"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def _read_pid(fd: int) -> int | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 32).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def attached_pid(journal: Path) -> int | None:
    """The pid of the launch attached to ``journal``, or None when none is."""
    path = lock_path(journal)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
