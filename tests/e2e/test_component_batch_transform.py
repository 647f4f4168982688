"""The batch transform component as KFP runs it: a subprocess with v1-style arguments, against
the emulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from support import requests as req
from support.components import run_component as run_named
from support.stats import fetch_stats

QUICK = {"emulator:duration-seconds": "0.3"}


def transform_args(url: str, out: Path, **overrides: str) -> list[str]:
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "model_name": "model-a",
        "input_location": "s3://bucket/batch/in",
        "output_location": "s3://bucket/batch/out",
        "tags": json.dumps({**QUICK, "team": "ml"}),
    }
    values.update(overrides)
    args = [item for name, value in values.items() for item in (f"--{name}", value)]
    return [*args, "--output_location_output_path", str(out / "output_location")]


async def run_component(args: list[str]) -> tuple[int, str]:
    code, _, stderr = await run_named("batch_transform", args)
    return code, stderr


async def test_transform_succeeds_and_sends_what_sagemaker_takes(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    await sagemaker.create_model(**req.model("model-a"))
    full = transform_args(
        emulator.url,
        tmp_path / "full",
        job_name="tf-full",
        max_concurrent="4",
        max_payload="0",
        batch_strategy="MultiRecord",
        environment=json.dumps({"MODE": "fast"}),
        data_type="ManifestFile",
        content_type="text/csv",
        split_type="Line",
        compression_type="Gzip",
        accept="text/csv",
        assemble_with="Line",
        output_encryption_key="alias/out-key",
        input_filter="$[1:]",
        output_filter="$[0,-1]",
        join_source="Input",
        instance_type="ml.c5.xlarge",
        instance_count="2",
        resource_encryption_key="alias/volume-key",
    )
    defaults = transform_args(emulator.url, tmp_path / "defaults")
    (code, stderr), (code2, stderr2) = await asyncio.gather(
        run_component(full), run_component(defaults)
    )
    assert code == 0, stderr
    assert code2 == 0, stderr2
    for case in ("full", "defaults"):
        assert (tmp_path / case / "output_location").read_text() == "s3://bucket/batch/out"

    jobs = emulator.emulator.jobs["transform"]
    sent = jobs["tf-full"].request
    assert sent["MaxConcurrentTransforms"] == 4 and sent["MaxPayloadInMB"] == 0
    assert sent["BatchStrategy"] == "MultiRecord" and sent["Environment"] == {"MODE": "fast"}
    assert sent["TransformInput"] == {
        "DataSource": {
            "S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://bucket/batch/in"}
        },
        "ContentType": "text/csv",
        "SplitType": "Line",
        "CompressionType": "Gzip",
    }
    assert sent["TransformOutput"] == {
        "S3OutputPath": "s3://bucket/batch/out",
        "Accept": "text/csv",
        "AssembleWith": "Line",
        "KmsKeyId": "alias/out-key",
    }
    assert sent["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "OutputFilter": "$[0,-1]",
        "JoinSource": "Input",
    }
    assert sent["TransformResources"] == {
        "InstanceType": "ml.c5.xlarge",
        "InstanceCount": 2,
        "VolumeKmsKeyId": "alias/volume-key",
    }
    assert jobs["tf-full"].tags["team"] == "ml"

    # v1's defaults: "None" goes as given, empty optional fields are left out.
    (name,) = (n for n in jobs if n != "tf-full")
    assert name.startswith("BatchTransform-")
    sent = jobs[name].request
    assert "MaxConcurrentTransforms" not in sent and sent["MaxPayloadInMB"] == 6
    assert "BatchStrategy" not in sent and "Environment" not in sent
    assert sent["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/batch/in"}},
        "SplitType": "None",
        "CompressionType": "None",
    }
    assert sent["TransformOutput"] == {"S3OutputPath": "s3://bucket/batch/out"}
    assert sent["DataProcessing"] == {"JoinSource": "None"}
    assert sent["TransformResources"] == {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1}


async def test_failed_job_exits_1(emulator: Any, sagemaker: Any, tmp_path: Path) -> None:
    await sagemaker.create_model(**req.model("model-a"))
    tags = json.dumps({**QUICK, "emulator:fail-reason": "ClientError: bad record on line 7"})
    code, stderr = await run_component(transform_args(emulator.url, tmp_path, tags=tags))
    assert code == 1
    assert "ClientError: bad record on line 7" in stderr
    assert not (tmp_path / "output_location").exists()


async def test_bad_input_exits_2_and_creates_nothing(
    emulator: Any, sagemaker: Any, tmp_path: Path
) -> None:
    await sagemaker.create_model(**req.model("model-a"))
    cases = {
        "environment": (json.dumps({"THREADS": 4}), "every value must be a string"),
        "batch_strategy": ("Sometimes", "BatchStrategy"),
        "model_name": ("no-such-model", "Could not find model"),
    }
    results = await asyncio.gather(
        *(
            run_component(transform_args(emulator.url, tmp_path / name, **{name: value}))
            for name, (value, _) in cases.items()
        )
    )
    for (name, (_, rule)), (code, stderr) in zip(cases.items(), results, strict=True):
        assert code == 2, (name, stderr)
        assert rule in stderr, (name, stderr)
    stats = await fetch_stats(emulator.url)
    assert stats["jobs"] == []
