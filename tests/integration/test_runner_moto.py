"""The runner's create/describe path against moto: an emulator written by somebody else.

Moto marks every job Completed at creation, so this checks the path a real account exercises most (lookup, Create with tags, Describe, outputs,
ListTags for re-attach), not the lifecycle.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from runner.core import Runner
from runner.naming import DIGEST_TAG, Identity
from support import requests as req
from support.runner_setup import runner_config

pytestmark = pytest.mark.moto


async def test_training_and_processing_through_moto(moto_url: str) -> None:
    suffix = uuid.uuid4().hex[:8]  # moto's state is shared by the whole session
    async with Runner(runner_config(moto_url)) as runner:
        training = await runner.submit("training", req.training(f"moto-train-{suffix}"))
        processing = await runner.submit("processing", req.processing(f"moto-proc-{suffix}"))
        trained, processed = await runner.wait_all([training, processing])
    assert trained.succeeded and trained.status == "Completed"
    assert trained.outputs["job_name"] == f"moto-train-{suffix}"
    assert trained.outputs["model_artifact_url"].startswith("s3://bucket/output")
    assert processed.succeeded
    assert processed.outputs["output_artifacts"] == {"out": "s3://bucket/processed"}


async def test_reattach_by_identity_through_moto(moto_url: str) -> None:
    identity = Identity(f"run-{uuid.uuid4().hex[:8]}", "train")
    request = req.training("")
    del request["TrainingJobName"]
    async with Runner(runner_config(moto_url)) as runner:
        first = await (await runner.submit("training", request, identity=identity)).wait()
    async with Runner(runner_config(moto_url)) as runner:
        second = await (await runner.submit("training", request, identity=identity)).wait()
    assert second.name == first.name and second.attached and not first.attached
    assert second.description["TrainingJobArn"] == first.description["TrainingJobArn"]


async def test_model_through_moto_is_tagged_with_its_digest(moto_url: str) -> None:
    name = f"moto-model-{uuid.uuid4().hex[:8]}"
    async with Runner(runner_config(moto_url)) as runner:
        outcome = await (await runner.submit("model", req.model(name))).wait()
        tags = await runner.caller.sagemaker("ListTags", ResourceArn=outcome.arn)
    assert outcome.succeeded and outcome.outputs == {"model_name": name}
    assert DIGEST_TAG in {tag["Key"] for tag in tags["Tags"]}


async def test_answers_timestamps_share_utc(moto_url: str) -> None:
    """Every timestamp of an answer is aware and in UTC, with one tzinfo for all (botocore's
    default gives each epoch timestamp a ``tzlocal()`` of its own: ~400 bytes a datetime)."""
    suffix = uuid.uuid4().hex[:8]
    async with Runner(runner_config(moto_url)) as runner:
        outcome = await (await runner.submit("training", req.training(f"moto-utc-{suffix}"))).wait()
    stamps = [outcome.description[key] for key in ("CreationTime", "LastModifiedTime")]
    assert all(isinstance(stamp, dt.datetime) and stamp.tzinfo is dt.UTC for stamp in stamps)
