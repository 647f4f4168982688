"""Where a component sends each service's calls, and what it says when one cannot be reached.

``endpoint_url`` is the SageMaker endpoint alone, as in v1 (typically a VPC interface endpoint
for SageMaker): CloudWatch Logs and STS are found the way botocore finds any endpoint
(``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``, ``AWS_ENDPOINT_URL_STS``, the config file's ``services``
section, else the region's). ``SageMakerOnly`` plays such an endpoint: it passes SageMaker's
calls to the emulator and answers any other service's the way AWS does, HTTP 400
``InvalidSignatureException: Credential should be scoped to correct service: 'sagemaker'``
(field reports: JuliaCloud/AWS.jl#334, disneystreaming/smithy4s#1568).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from support import requests as req
from support.components import run_component
from support.moto_server import MotoServer
from support.stats import fetch_stats

ASSUMED = "arn:aws:iam::123456789012:role/pipeline-runner"
WRONG_SERVICE = {
    "__type": "InvalidSignatureException",
    "message": "Credential should be scoped to correct service: 'sagemaker'. ",
}


class SageMakerOnly:
    """A loopback endpoint that serves SageMaker (by way of the emulator) and nothing else."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refused: list[str] = []  # what other services asked for
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        target = request.headers.get("X-Amz-Target", "")
        body = await request.read()
        if not target.startswith("SageMaker."):
            self.refused.append(target or body.decode(errors="replace")[:60])
            return web.json_response(
                WRONG_SERVICE, status=400, content_type="application/x-amz-json-1.1"
            )
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self._session.post(self.upstream, data=body, headers=headers) as answer:
            return web.Response(
                body=await answer.read(),
                status=answer.status,
                content_type=answer.content_type,
            )

    async def __aenter__(self) -> SageMakerOnly:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None and self._session is not None
        await self._runner.cleanup()
        await self._session.close()


def train_args(url: str, out: Path, name: str, **overrides: str) -> list[str]:
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "job_name": name,
        "image": req.IMAGE,
        "role": req.ROLE,
        "channels": json.dumps([{"ChannelName": "train", "DataSource": {}}]),
        "model_artifact_path": "s3://bucket/out",
        "tags": json.dumps({"emulator:duration-seconds": "0.5", "emulator:log-lines": "12"}),
        **overrides,
    }
    args = [part for key, value in values.items() for part in (f"--{key}", value)]
    for output in ("model_artifact_url", "job_name", "training_image"):
        args += [f"--{output}_output_path", str(out / name / output)]
    return args


async def test_endpoint_url_is_sagemakers_alone_and_logs_find_their_own(
    emulator: Any, tmp_path: Path
) -> None:
    """v1's setting: endpoint_url at a SageMaker-only endpoint. Every log line still comes,
    from Logs' own endpoint: the variable or the config file's services section."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[default]\nservices = local\n\n"
        f"[services local]\ncloudwatch_logs =\n  endpoint_url = {emulator.url}\n"
    )
    async with SageMakerOnly(emulator.url) as sagemaker:
        by_variable, by_config = await asyncio.gather(
            run_component(
                "train",
                train_args(sagemaker.url, tmp_path, "by-variable"),
                {"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": emulator.url},
            ),
            run_component(
                "train",
                train_args(sagemaker.url, tmp_path, "by-config"),
                {"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": "", "AWS_CONFIG_FILE": str(config)},
            ),
        )
    for code, stdout, stderr in (by_variable, by_config):
        assert code == 0, stderr
        assert len([line for line in stdout.splitlines() if line.strip()]) >= 12, stdout
    assert sagemaker.refused == []  # not one Logs call went to SageMaker's endpoint
    assert (tmp_path / "by-config" / "job_name").read_text() == "by-config"


async def test_logs_that_cannot_be_read_fail_the_step_in_one_line(
    emulator: Any, tmp_path: Path
) -> None:
    """Logs pointed at SageMaker's endpoint: the job runs to its end, then one line says the
    logs could not be read, exit 1, no traceback (v1 failed here too, with one)."""
    async with SageMakerOnly(emulator.url) as sagemaker:
        code, _, stderr = await run_component(
            "train",
            train_args(sagemaker.url, tmp_path, "no-logs"),
            {"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": sagemaker.url},
        )
    assert code == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert "CloudWatch logs could not be read" in errors[0]
    assert "InvalidSignatureException" in errors[0]
    assert "Traceback" not in stderr
    (job,) = (await fetch_stats(emulator.url))["jobs"]
    assert job["name"] == "no-logs" and job["status"] == "Completed"
    assert not (tmp_path / "no-logs" / "job_name").exists()


async def test_assume_role_goes_to_sts_own_endpoint(emulator: Any, tmp_path: Path) -> None:
    with MotoServer() as sts:
        async with SageMakerOnly(emulator.url) as sagemaker:
            code, _, stderr = await run_component(
                "train",
                train_args(sagemaker.url, tmp_path, "assumed", assume_role=ASSUMED),
                {"AWS_ENDPOINT_URL_STS": sts.url, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": emulator.url},
            )
    assert code == 0, stderr
    assert sagemaker.refused == []
    assert "CreateTrainingJob" in (await fetch_stats(emulator.url))["calls"]
    assert "component.sts_endpoint" not in stderr  # STS has its own endpoint: nothing to warn of


async def test_sts_failures_are_one_line_and_create_nothing(emulator: Any, tmp_path: Path) -> None:
    async with SageMakerOnly(emulator.url) as sagemaker:
        unreachable, malformed = await asyncio.gather(
            # STS asked at SageMaker's endpoint (v1 sent it there): refused.
            run_component(
                "train",
                train_args(sagemaker.url, tmp_path, "sts-refused", assume_role=ASSUMED),
                {"AWS_ENDPOINT_URL_STS": sagemaker.url},
            ),
            run_component(
                "train",
                train_args(sagemaker.url, tmp_path, "sts-bad", assume_role="pipeline-runner"),
            ),
        )
    code, _, stderr = unreachable
    assert code == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    (error,) = errors
    assert f"could not assume role {ASSUMED} through STS" in error
    assert "Traceback" not in stderr
    code, _, stderr = malformed
    assert code == 2, stderr
    (error,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert "input 'assume_role': must be an IAM role ARN" in error
    assert "CreateTrainingJob" not in (await fetch_stats(emulator.url))["calls"]
