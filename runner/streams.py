"""Output streams that can fail without taking the process down.

A process's output can fail under it: stdout on a full disk (``ENOSPC``), a pipe whose reader
left (``smrun launch ... | head -2``: Python ignores SIGPIPE, so the write raises
``BrokenPipeError``), a closed file. Left alone, the first failing write raises out of whatever
called ``print`` or logged an event: a scheduled sweep, a signal handler, the line right after
a Create. So every stream the entry points write to goes through a ``GuardedStream``: the first
write or flush that fails drops the stream for good and says so once, in one line, on another
guarded stream that still works (stderr when stdout failed, stdout when stderr did). A failure
nothing could be told of is kept (``lost_output``) for the caller's own record, such as the
launcher's journal.

A dropped standard stream has ``/dev/null`` put under its file descriptor, the recipe of
Python's own documentation for SIGPIPE ("Note on SIGPIPE", the ``signal`` module): the
interpreter's final flush, and anything else writing to that descriptor, then succeed instead
of ending the process with "Exception ignored ... BrokenPipeError".

    with guard_std_streams():          # sys.stdout and sys.stderr are guarded inside
        ...
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO, cast

__all__ = ["GuardedStream", "guard_std_streams", "guarded", "lost_output"]

# Streams alive now, in the order a failure is reported to (stderr first: it is for notes).
_streams: list[GuardedStream] = []
_lock = threading.RLock()
# What a write that fails raises: OSError (ENOSPC, EPIPE, EIO...), ValueError (a closed file).
STREAM_ERRORS = (OSError, ValueError)


class GuardedStream:
    """A text stream whose write and flush never raise: the first failure drops ``stream``
    (later writes are discarded) and is reported once, on another guarded stream."""

    def __init__(self, stream: TextIO, name: str | None = None, *, owns_fd: bool = False) -> None:
        self.stream = stream
        self.name = name or str(getattr(stream, "name", "output"))
        self.failure: str | None = None  # one line, once the stream was dropped
        self.reported = False  # whether another stream said so
        self._owns_fd = owns_fd  # a standard stream: /dev/null goes under its fd when dropped
        with _lock:
            _streams.append(self)

    @property
    def dropped(self) -> bool:
        return self.failure is not None

    def write(self, text: str) -> int:
        if self.failure is None:
            try:
                self.stream.write(text)
            except STREAM_ERRORS as error:
                self._drop(error)
        return len(text)

    def flush(self) -> None:
        if self.failure is None:
            try:
                self.stream.flush()
            except STREAM_ERRORS as error:
                self._drop(error)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def isatty(self) -> bool:
        if self.failure is not None:
            return False
        try:
            return self.stream.isatty()
        except STREAM_ERRORS:
            return False

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return str(getattr(self.stream, "encoding", None) or "utf-8")

    def __getattr__(self, attribute: str) -> Any:  # errors, buffer, mode, ...: the stream's
        return getattr(self.stream, attribute)

    def forget(self) -> None:
        """No longer a stream to report to (closing it then is not a failure)."""
        with _lock:
            if self in _streams:
                _streams.remove(self)

    def close(self) -> None:
        self.forget()
        with contextlib.suppress(*STREAM_ERRORS):
            self.stream.close()

    def _drop(self, error: BaseException) -> None:
        with _lock:
            if self.failure is not None:
                return
            reason = os.strerror(error.errno) if isinstance(error, OSError) and error.errno else ""
            self.failure = (
                f"output to {self.name} failed ({reason or error}): "
                "its output is dropped from here on"
            )
            if self._owns_fd:
                self._silence_fd()
            for other in _streams:
                if other is not self and not other.dropped:
                    other.write(f"smrun: {self.failure}\n")
                    other.flush()
                    if not other.dropped:
                        self.reported = True
                        return

    def _silence_fd(self) -> None:
        with contextlib.suppress(*STREAM_ERRORS):
            descriptor = self.stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, descriptor)
            os.close(devnull)


def guarded(stream: TextIO, name: str | None = None) -> TextIO:
    """``stream`` guarded (itself when it already is)."""
    if isinstance(stream, GuardedStream):
        return stream
    return cast(TextIO, GuardedStream(stream, name))


def lost_output() -> list[str]:
    """One line per stream (alive now) that failed while no other stream could say so."""
    with _lock:
        return [s.failure for s in _streams if s.failure is not None and not s.reported]


@contextlib.contextmanager
def guard_std_streams() -> Iterator[tuple[GuardedStream, GuardedStream]]:
    """While inside, ``sys.stdout`` and ``sys.stderr`` are guarded (the pair it gives); both
    are restored on the way out."""
    saved = sys.stdout, sys.stderr
    err = GuardedStream(sys.stderr, "stderr", owns_fd=sys.stderr is sys.__stderr__)
    out = GuardedStream(sys.stdout, "stdout", owns_fd=sys.stdout is sys.__stdout__)
    sys.stdout, sys.stderr = cast(TextIO, out), cast(TextIO, err)
    try:
        yield out, err
    finally:
        out.flush()
        err.flush()
        sys.stdout, sys.stderr = saved
        out.forget()
        err.forget()
