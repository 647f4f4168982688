"""``runner.telemetry``: credentials never reach a log line, and the core's dotted job events."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from runner.config import AwsTarget, PollPolicy, RateLimits, RetryPolicy, RunnerConfig
from runner.core import Runner
from runner.telemetry import REDACTED, configure_logging, redact_credentials
from support import requests as req

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SESSION_KEY = "ASIAY34FZKBOKMUTVV7A"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 characters
assert len(SECRET) == 40


@pytest.fixture(autouse=True)
def default_structlog() -> Iterator[None]:
    """Every test starts from and leaves structlog's defaults (configure_logging is global)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_credentials(None, "info", {"event": "test.event", **event}))


# --- redact_credentials -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "aws_secret_access_key",
        "AWS_SECRET_ACCESS_KEY",
        "SecretAccessKey",
        "SessionToken",
        "aws_session_token",
        "token",
        "Authorization",
        "authorization",
        "password",
        "X-Amz-Security-Token",
        "x-amz-signature",
        "Credentials",
        "client_secret",
    ],
)
def test_secret_keys_are_masked(key: str) -> None:
    out = redact(**{key: "some value", "job": "train-1"})
    assert out[key] == REDACTED
    assert out["job"] == "train-1"
    assert out["event"] == "test.event"


def test_a_secret_keyed_structure_is_masked_whole() -> None:
    out = redact(Credentials={"AccessKeyId": SESSION_KEY, "SecretAccessKey": SECRET})
    assert out["Credentials"] == REDACTED


def test_nested_dicts_and_lists_are_masked() -> None:
    out = redact(
        request={
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "Environment": {"DB_PASSWORD": "hunter2", "MODE": "fast"},
            "Channels": [{"Name": "train", "auth": {"Authorization": "AWS4-HMAC-SHA256 ..."}}],
            "Headers": ({"x-amz-security-token": "tok"}, "plain"),
        }
    )
    request = out["request"]
    assert request["RoleArn"] == "arn:aws:iam::123456789012:role/SageMakerRole"
    assert request["Environment"] == {"DB_PASSWORD": REDACTED, "MODE": "fast"}
    assert request["Channels"] == [{"Name": "train", "auth": {"Authorization": REDACTED}}]
    assert request["Headers"] == ({"x-amz-security-token": REDACTED}, "plain")


@pytest.mark.parametrize("key_id", [ACCESS_KEY, SESSION_KEY, "AROAY34FZKBOKMUTVV7AB"])
def test_key_ids_inside_strings_are_masked(key_id: str) -> None:
    out = redact(
        message=f"signing with {key_id} for DescribeTrainingJob",
        values=[f"key={key_id}", {"nested": f"({key_id})"}],
    )
    assert out["message"] == f"signing with {REDACTED} for DescribeTrainingJob"
    assert out["values"] == [f"key={REDACTED}", {"nested": f"({REDACTED})"}]


@pytest.mark.parametrize(
    "text",
    [
        f"secret={SECRET}",
        f"secret: {SECRET}",
        f"aws_secret_access_key = {SECRET}",
        f'{{"secret": "{SECRET}"}}',
        f"{ACCESS_KEY} {SECRET}",
    ],
)
def test_a_40_character_secret_in_text_is_masked(text: str) -> None:
    out = redact(detail=text)
    assert SECRET not in out["detail"]
    assert ACCESS_KEY not in out["detail"]
    assert REDACTED in out["detail"]


def test_the_event_name_itself_is_scrubbed_but_kept() -> None:
    out = dict(redact_credentials(None, "info", {"event": f"login with {ACCESS_KEY}"}))
    assert out["event"] == f"login with {REDACTED}"


ORDINARY: dict[str, Any] = {
    "job": "TrainingJob-train-step-f39c5d6ddcd9",
    "kind": "training",
    "status": "InProgress",
    "arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/core-one",
    "role": "arn:aws:iam::123456789012:role/SageMakerRole",
    "model_artifact_url": "s3://bucket/output/core-one/output/model.tar.gz",
    "image": "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1",
    "digest": "9f2c4e1b7a0d3c5e8f6a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6",
    "message": "Downloading - Downloading input data",
    "count": 40,
    "interval": 1.5,
    "ok": True,
    "nothing": None,
    "hyperparameters": {"epochs": "3", "learning_rate": "0.1"},
    "names": ["a", "b"],
    "key_name": "smrun:request-digest",
}


def test_ordinary_values_are_left_alone() -> None:
    assert redact(**ORDINARY) == {"event": "test.event", **ORDINARY}


def test_an_s3_uri_of_40_characters_after_the_scheme_is_left_alone() -> None:
    uri = "s3://bucket/datasets/train/images/part00001"
    assert redact(uri=uri)["uri"] == uri


def test_deeply_nested_secrets_are_masked() -> None:
    deep: Any = {"SecretAccessKey": SECRET, "note": f"key {ACCESS_KEY}"}
    for level in range(8):
        deep = {f"level{level}": deep}
    rendered = json.dumps(redact(request=deep))
    assert SECRET not in rendered
    assert ACCESS_KEY not in rendered


# --- configure_logging --------------------------------------------------------------------------


def test_json_logging_prints_one_json_line_per_event_without_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json=True)
    log = structlog.get_logger("runner.job").bind(job="train-1", kind="training")
    log.info("job.submitted", arn="arn:aws:sagemaker:us-east-1:1:training-job/train-1")
    log.info(
        "job.status_changed",
        status="InProgress",
        aws_secret_access_key=SECRET,
        note=f"signed by {ACCESS_KEY}",
        request={"Environment": {"API_TOKEN": "abc"}},
    )
    log.debug("job.too_chatty")  # below INFO: not printed
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [json.loads(line) for line in captured.err.splitlines()]
    assert [line["event"] for line in lines] == ["job.submitted", "job.status_changed"]
    for line in lines:
        assert line["job"] == "train-1" and line["kind"] == "training"
        assert line["level"] == "info"
        assert line["timestamp"].endswith("Z")
    assert lines[1]["aws_secret_access_key"] == REDACTED
    assert lines[1]["note"] == f"signed by {REDACTED}"
    assert lines[1]["request"] == {"Environment": {"API_TOKEN": REDACTED}}
    assert SECRET not in captured.err and ACCESS_KEY not in captured.err


def test_json_logging_renders_exceptions_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger("runner").exception("job.follow_failed")
    (line,) = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    assert line["event"] == "job.follow_failed" and line["level"] == "error"
    assert "RuntimeError: boom" in line["exception"]


def test_exception_text_is_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    try:
        raise RuntimeError(f"refused key {ACCESS_KEY}")
    except RuntimeError as error:
        structlog.get_logger("runner").error("scheduler.action_failed", exc_info=error)
    assert ACCESS_KEY not in capsys.readouterr().err


def test_the_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level=logging.WARNING)
    log = structlog.get_logger("runner")
    log.info("job.submitted")
    log.warning("job.failed", failure_reason="x")
    lines = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == ["job.failed"]


def test_console_logging_also_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=False)
    structlog.get_logger("runner").info("job.submitted", token="tok-123", note=ACCESS_KEY)
    err = capsys.readouterr().err
    assert "job.submitted" in err
    assert "tok-123" not in err and ACCESS_KEY not in err


# --- the core's events --------------------------------------------------------------------------


def fast_config(url: str) -> RunnerConfig:
    return RunnerConfig(
        aws=AwsTarget(region="us-east-1", endpoint_url=url),
        poll=PollPolicy(initial=0.1, maximum=0.3, jitter=0.1),
        retry=RetryPolicy(initial=0.05, maximum=0.5, call_timeout=10),
        limits=RateLimits.none(),
        stop_grace=5,
    )


async def test_the_runner_emits_dotted_job_events(emulator: Any) -> None:
    request = req.training("events-one", Tags=req.tags(**{"emulator:duration-seconds": 0.3}))
    with capture_logs() as logs:
        async with Runner(fast_config(emulator.url)) as runner:
            outcome = await (await runner.submit("training", request)).wait()
    assert outcome.succeeded
    job_events = [entry for entry in logs if entry.get("job") == "events-one"]
    names = [entry["event"] for entry in job_events]
    assert names[0] == "job.submitted"
    assert names[-1] == "job.succeeded"
    assert "job.status_changed" in names
    for entry in job_events:
        assert entry["kind"] == "training"
        assert entry["event"].startswith("job.")
    submitted = job_events[0]
    assert submitted["arn"].endswith(":training-job/events-one")
    statuses = [e["status"] for e in job_events if e["event"] == "job.status_changed"]
    assert statuses[0] == "InProgress" and statuses[-1] == "Completed"
    succeeded = job_events[-1]
    assert succeeded["log_level"] == "info" and succeeded["status"] == "Completed"


def test_readable_lines_put_the_time_the_event_and_the_job_first() -> None:
    from runner.telemetry import render_readable

    line = render_readable(
        None,
        "info",
        {
            "timestamp": "2026-12-01T10:51:10.2Z",
            "level": "info",
            "event": "job.secondary_status",
            "message": "Downloading - Downloading input data",
            "secondary_status": "Downloading",
            "kind": "training",
            "job": "mnist-train",
            "attempt": 2,
            "empty": "",
        },
    )
    assert line == (
        "2026-12-01T10:51:10.2Z info job.secondary_status job=mnist-train kind=training "
        'secondary_status=Downloading message="Downloading - Downloading input data" '
        'attempt=2 empty=""'
    )
    assert "\n" not in render_readable(None, "info", {"event": "x", "message": "a\nb"})
