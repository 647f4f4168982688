"""Where followed log lines go: each entry point picks.

A KFP component prints a job's lines to stdout (the KFP UI shows the pod's output), the batch
launcher writes one file per job under a directory, a service may want them as structured
events. The tailer only knows the ``LogSink`` protocol: ``write`` gets a job's lines in the
order to show them, ``finish`` is called once per job when its tail has ended. Sinks are
called from the event loop and must not block for long. Read errors never reach a sink: the
tailer reports them as ``logs.*`` structlog events.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

import structlog

from runner.joblogs.merge import LogLine

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class LogSummary:
    """How one job's tail ended."""

    job: str
    kind: str
    streams: int  # streams found
    lines: int  # lines delivered to the sink
    drained: (
        bool  # read until quiet after the job ended (not cut by the limit, an error or a cancel)
    )
    error: str | None = None  # why the tail gave up, if it did


class LogSink(Protocol):
    def write(self, lines: Sequence[LogLine]) -> None:
        """Show ``lines`` (one job's, in order)."""

    def finish(self, summary: LogSummary) -> None:
        """The tail of ``summary.job`` has ended: nothing more comes for it."""


class TextSink:
    """Plain lines to a text stream, stdout by default, flushed at once (KFP shows it live).

    ``show_job`` prefixes each line with its job's name, for several jobs in one output.
    """

    def __init__(self, stream: TextIO | None = None, *, show_job: bool = False) -> None:
        self._stream = stream
        self.show_job = show_job

    def write(self, lines: Sequence[LogLine]) -> None:
        if not lines:
            return
        out = self._stream or sys.stdout  # looked up late: tests and CLIs swap sys.stdout
        if self.show_job:
            out.write("".join(f"[{line.job}] {line.text}\n" for line in lines))
        else:
            out.write("".join(f"{line.text}\n" for line in lines))
        out.flush()

    def finish(self, summary: LogSummary) -> None:
        pass


class FileSink:
    """``<directory>/<job>.log`` per job, appended to as lines come.

    Files are opened per write rather than kept open: the launcher follows thousands of jobs.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, job: str) -> Path:
        return Path(self._file_for(job))

    def _file_for(self, job: str) -> str:
        """The file's path as a string: a ``Path`` made per write interns its name (pathlib
        does), and the interpreter's table of interned strings grew ~640 bytes a job."""
        return os.path.join(self.directory, f"{_UNSAFE_FILENAME.sub('_', job)}.log")

    def write(self, lines: Sequence[LogLine]) -> None:
        by_job: dict[str, list[str]] = {}
        for line in lines:
            by_job.setdefault(line.job, []).append(f"{line.text}\n")
        for job, texts in by_job.items():
            with open(self._file_for(job), "a", encoding="utf-8") as out:
                out.write("".join(texts))

    def finish(self, summary: LogSummary) -> None:
        with open(self._file_for(summary.job), "a", encoding="utf-8"):
            pass  # a job that wrote nothing still gets its file


class EventSink:
    """Each line as a ``logs.line`` structlog event (for JSON-log pipelines), and a
    ``logs.finished`` event per job."""

    def __init__(self, logger: structlog.typing.FilteringBoundLogger | None = None) -> None:
        self._log = logger or structlog.get_logger("runner.joblogs")

    def write(self, lines: Sequence[LogLine]) -> None:
        for line in lines:
            self._log.info(
                "logs.line",
                job=line.job,
                host=line.host,
                timestamp=line.timestamp,
                message=line.message.rstrip("\n"),
            )

    def finish(self, summary: LogSummary) -> None:
        self._log.info(
            "logs.finished",
            job=summary.job,
            streams=summary.streams,
            lines=summary.lines,
            drained=summary.drained,
        )


class MemorySink:
    """Keeps everything, per job: for tests and for callers that post-process lines."""

    def __init__(self) -> None:
        self.lines: dict[str, list[LogLine]] = {}
        self.summaries: dict[str, LogSummary] = {}

    def write(self, lines: Sequence[LogLine]) -> None:
        for line in lines:
            self.lines.setdefault(line.job, []).append(line)

    def finish(self, summary: LogSummary) -> None:
        self.summaries[summary.job] = summary


class TeeSink:
    """The same lines to several sinks. One that fails (a full disk under the log file) never
    keeps the lines from the others: each is written to, then the first failure is raised."""

    def __init__(self, *sinks: LogSink) -> None:
        self.sinks = sinks

    def write(self, lines: Sequence[LogLine]) -> None:
        self._each(lambda sink: sink.write(lines))

    def finish(self, summary: LogSummary) -> None:
        self._each(lambda sink: sink.finish(summary))

    def _each(self, use: Callable[[LogSink], None]) -> None:
        failure: Exception | None = None
        for sink in self.sinks:
            try:
                use(sink)
            except Exception as error:
                failure = failure or error
        if failure is not None:
            raise failure
