"""Output that fails: a guarded stream is dropped and said once, on another that works; a
failing log sink never keeps the lines from the others."""

from __future__ import annotations

import errno
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from runner import streams
from runner.joblogs import FileSink, TeeSink, TextSink
from runner.joblogs.merge import LogLine
from runner.streams import GuardedStream, lost_output
from runner.telemetry import configure_logging


class Failing(io.StringIO):
    """A stream whose writes fail as a full disk's or a closed pipe's do."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        raise self.error


@pytest.fixture
def guards(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[GuardedStream]]:
    """The test's guards, alone: none of another test's is told of their failures."""
    monkeypatch.setattr(streams, "_streams", [])
    made: list[GuardedStream] = []
    yield made
    for guard in made:
        guard.forget()


def test_a_full_stream_is_dropped_and_said_once_on_another(guards: list[GuardedStream]) -> None:
    notes = io.StringIO()
    full = Failing(OSError(errno.ENOSPC, "No space left on device"))
    guards += [GuardedStream(notes, "stderr"), GuardedStream(full, "stdout")]
    out = guards[1]
    assert out.write("one\n") == 4 and out.write("two\n") == 4
    out.flush()
    assert full.writes == 1  # dropped at the first failure
    assert out.dropped and not out.isatty()
    assert notes.getvalue() == (
        "smrun: output to stdout failed (No space left on device): "
        "its output is dropped from here on\n"
    )
    assert lost_output() == []


def test_a_failure_nobody_can_hear_is_kept_for_the_journal(guards: list[GuardedStream]) -> None:
    guards += [
        GuardedStream(Failing(BrokenPipeError(errno.EPIPE, "Broken pipe")), "stdout"),
        GuardedStream(Failing(ValueError("I/O operation on closed file.")), "stderr"),
    ]
    guards[0].write("x")  # told to stderr, which fails in turn: nobody heard either
    lost = sorted(lost_output())
    assert [line.split(" failed")[0] for line in lost] == ["output to stderr", "output to stdout"]
    assert "(I/O operation on closed file.)" in lost[0] and "(Broken pipe)" in lost[1]


def test_a_log_call_never_raises_for_its_stream(guards: list[GuardedStream]) -> None:
    notes = io.StringIO()
    guards.append(GuardedStream(notes, "stderr"))
    configure_logging(json=True, file=Failing(OSError(errno.EIO, "Input/output error")))
    try:
        structlog.get_logger("test").info("job.submitted", job="a")
        structlog.get_logger("test").info("job.status_changed", job="a")
    finally:
        structlog.reset_defaults()
    assert notes.getvalue().count("failed (Input/output error)") == 1


def test_a_failing_log_file_never_keeps_the_lines_from_the_console(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    files = FileSink(logs)
    logs.rmdir()
    logs.write_text("a file where the directory was")  # every write to it fails
    console = io.StringIO()
    tee = TeeSink(files, TextSink(console))
    with pytest.raises(NotADirectoryError):
        tee.write([LogLine("job-a", "algo-1/1", "algo-1", 1, "epoch 1")])
    assert console.getvalue() == "epoch 1\n"
