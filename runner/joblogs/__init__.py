"""Live CloudWatch logs of SageMaker jobs, for every entry point (see ``runner.joblogs.tailer``).

    tailer = LogTailer(runner.caller)  # LogPolicy from RunnerConfig.logs
    handle = await runner.submit("training", request)
    outcome = await tailer.wait_with_logs(handle, TextSink(), request=request)

Entry points pick the sink (``TextSink`` to stdout for components, ``FileSink`` with one file
per job for the launcher, ``EventSink`` for structured logs) and the policy (``batched`` for
many jobs at once).
"""

from runner.joblogs.merge import LogLine, Position
from runner.joblogs.sinks import (
    EventSink,
    FileSink,
    LogSink,
    LogSummary,
    MemorySink,
    TeeSink,
    TextSink,
)
from runner.joblogs.tailer import BatchReader, LogTailer, StreamReader
from runner.kinds import instance_count

__all__ = [
    "BatchReader",
    "EventSink",
    "FileSink",
    "LogLine",
    "LogSink",
    "LogSummary",
    "LogTailer",
    "MemorySink",
    "Position",
    "StreamReader",
    "TeeSink",
    "TextSink",
    "instance_count",
]
