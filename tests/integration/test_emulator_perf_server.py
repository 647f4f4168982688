"""The emulator's cheap per-request shortcuts change nothing a client can see.

A body found valid is not validated again; request ids come from a counter. Here: the same
answers, valid or not, on repeats; validation skipped only for repeats of a valid body; ids
unique and shaped like AWS's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest

from emulator import server

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def post(
    session: aiohttp.ClientSession, url: str, operation: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], str]:
    headers = {
        "X-Amz-Target": f"SageMaker.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
    }
    async with session.post(url, data=json.dumps(body), headers=headers) as response:
        return (
            response.status,
            await response.json(content_type=None),
            response.headers["x-amzn-RequestId"],
        )


async def test_repeated_bodies_get_the_same_answers(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    validated: list[str] = []
    real = server.validate_request

    def counting(service: str, operation: str, params: Any) -> Any:
        validated.append(operation)
        return real(service, operation, params)

    monkeypatch.setattr(server, "validate_request", counting)
    monkeypatch.setattr(server, "_valid_bodies", set())
    ids: list[str] = []
    async with aiohttp.ClientSession() as session:
        # Valid, for a job that does not exist: validated once, then not found twice (a
        # ValidationException, as AWS answers for a training job).
        for _ in range(2):
            status, body, request_id = await post(
                session, emulator.url, "DescribeTrainingJob", {"TrainingJobName": "nobody"}
            )
            ids.append(request_id)
            assert status == 400
            assert body == {
                "__type": "ValidationException",
                "message": "Requested resource not found.",
            }
        assert validated == ["DescribeTrainingJob"]
        # Invalid: refused every time, with the same message, and validated every time.
        answers = []
        for _ in range(2):
            status, body, request_id = await post(
                session, emulator.url, "DescribeTrainingJob", {"TrainingJobName": "x" * 64}
            )
            ids.append(request_id)
            answers.append((status, body))
        assert answers[0] == answers[1]
        assert answers[0][0] == 400
        assert "ValidationException" in answers[0][1]["__type"]
        assert validated == ["DescribeTrainingJob"] * 3
        # The same body to another operation is validated on its own.
        await post(session, emulator.url, "StopTrainingJob", {"TrainingJobName": "nobody"})
        assert validated[-1] == "StopTrainingJob"
    assert len(set(ids)) == len(ids)
    assert all(UUID.match(request_id) for request_id in ids)


def test_the_valid_body_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "_valid_bodies", set())
    monkeypatch.setattr(server, "_VALID_BODIES_MAX", 3)
    for index in range(10):
        raw = json.dumps({"TrainingJobName": f"job-{index}"}).encode()
        assert server._problems("sagemaker", "DescribeTrainingJob", raw, json.loads(raw)) == []
        assert len(server._valid_bodies) <= 3
    big = {"TrainingJobName": "job", "padding": "x" * 2000}
    raw = json.dumps(big).encode()
    assert server._problems("sagemaker", "DescribeTrainingJob", raw, big)  # unknown field
    assert (("sagemaker", "DescribeTrainingJob", raw)) not in server._valid_bodies
