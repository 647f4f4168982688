"""The processing component as KFP runs it: a subprocess with v1-style arguments, against the
emulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from support import requests as req
from support.components import run_component as run_named
from support.stats import fetch_stats

QUICK = {"emulator:duration-seconds": "0.3"}
INPUTS = [
    {
        "InputName": "raw",
        "S3Input": {
            "S3Uri": "s3://bucket/raw",
            "LocalPath": "/opt/ml/processing/input",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }
]
OUTPUTS = [
    {
        "OutputName": name,
        "S3Output": {
            "S3Uri": f"s3://bucket/processed/{name}",
            "LocalPath": f"/opt/ml/processing/{name}",
            "S3UploadMode": "EndOfJob",
        },
    }
    for name in ("train", "test")
]


def process_args(url: str, out: Path, **overrides: str) -> list[str]:
    values = {
        "region": "us-east-1",
        "endpoint_url": url,
        "role": req.ROLE,
        "image": req.IMAGE,
        "input_config": json.dumps(INPUTS),
        "output_config": json.dumps(OUTPUTS),
        "tags": json.dumps({**QUICK, "team": "ml"}),
    }
    values.update(overrides)
    args = [item for name, value in values.items() for item in (f"--{name}", value)]
    for output in ("job_name", "output_artifacts"):
        args += [f"--{output}_output_path", str(out / output)]
    return args


async def run_component(args: list[str]) -> tuple[int, str]:
    code, _, stderr = await run_named("process", args)
    return code, stderr


async def test_processing_succeeds_and_writes_its_artifacts(emulator: Any, tmp_path: Path) -> None:
    full = process_args(
        emulator.url,
        tmp_path / "full",
        job_name="prep-1",
        instance_type="ml.c5.xlarge",
        instance_count="2",
        volume_size="50",
        resource_encryption_key="alias/volume-key",
        output_encryption_key="alias/out-key",
        max_run_time="3600",
        environment=json.dumps({"MODE": "split"}),
        container_entrypoint=json.dumps(["python3", "/opt/ml/code/prep.py"]),
        container_arguments=json.dumps(["--ratio", "0.8"]),
        vpc_security_group_ids="sg-1, sg-2",
        vpc_subnets="subnet-1",
        network_isolation="False",
        traffic_encryption="True",
    )
    # v1's defaults, and no inputs or outputs at all (SageMaker allows a job without outputs).
    bare = process_args(emulator.url, tmp_path / "bare", output_config="[]", input_config="[]")
    (code, stderr), (code2, stderr2) = await asyncio.gather(
        run_component(full), run_component(bare)
    )
    assert code == 0, stderr
    assert code2 == 0, stderr2

    assert (tmp_path / "full" / "job_name").read_text() == "prep-1"
    artifacts = json.loads((tmp_path / "full" / "output_artifacts").read_text())
    assert artifacts == {
        "train": "s3://bucket/processed/train",
        "test": "s3://bucket/processed/test",
    }
    jobs = emulator.emulator.jobs["processing"]
    sent = jobs["prep-1"].request
    assert sent["ProcessingInputs"] == INPUTS
    assert sent["ProcessingOutputConfig"] == {"Outputs": OUTPUTS, "KmsKeyId": "alias/out-key"}
    assert sent["ProcessingResources"] == {
        "ClusterConfig": {
            "InstanceType": "ml.c5.xlarge",
            "InstanceCount": 2,
            "VolumeSizeInGB": 50,
            "VolumeKmsKeyId": "alias/volume-key",
        }
    }
    assert sent["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert sent["AppSpecification"] == {
        "ImageUri": req.IMAGE,
        "ContainerEntrypoint": ["python3", "/opt/ml/code/prep.py"],
        "ContainerArguments": ["--ratio", "0.8"],
    }
    assert sent["Environment"] == {"MODE": "split"}
    assert sent["NetworkConfig"] == {
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-1", "sg-2"], "Subnets": ["subnet-1"]},
    }
    assert sent["RoleArn"] == req.ROLE and jobs["prep-1"].tags["team"] == "ml"

    bare_name = (tmp_path / "bare" / "job_name").read_text()
    assert bare_name.startswith("ProcessingJob-")
    assert json.loads((tmp_path / "bare" / "output_artifacts").read_text()) == {}
    sent = jobs[bare_name].request
    assert "ProcessingOutputConfig" not in sent and "ProcessingInputs" not in sent
    assert sent["AppSpecification"] == {"ImageUri": req.IMAGE}
    assert sent["NetworkConfig"] == {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": False,
    }
    assert sent["ProcessingResources"]["ClusterConfig"] == {
        "InstanceType": "ml.m4.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 30,
    }


async def test_failed_job_exits_1(emulator: Any, tmp_path: Path) -> None:
    tags = json.dumps({**QUICK, "emulator:fail-reason": "AlgorithmError: prep.py exited 1"})
    code, stderr = await run_component(process_args(emulator.url, tmp_path, tags=tags))
    assert code == 1
    assert "AlgorithmError: prep.py exited 1" in stderr
    assert not (tmp_path / "job_name").exists() and not (tmp_path / "output_artifacts").exists()


async def test_bad_input_exits_2_and_creates_nothing(emulator: Any, tmp_path: Path) -> None:
    # input -> (value, what stderr names, the rule)
    cases = {
        "image": ("", "image", "must name the processing container image"),
        "vpc_security_group_ids": ("sg-1", "vpc_subnets", "VPC needs both"),
        "environment": (json.dumps({"THREADS": 4}), "environment", "must be a string"),
        "output_config": ("[", "output_config", "neither valid JSON nor valid YAML"),
        "role": ("arn:aws:iam::12345:role/short", "RoleArn", "must match the pattern"),
    }
    results = await asyncio.gather(
        *(
            run_component(process_args(emulator.url, tmp_path / name, **{name: value}))
            for name, (value, _, _) in cases.items()
        )
    )
    for (name, (_, named, rule)), (code, stderr) in zip(cases.items(), results, strict=True):
        assert code == 2, (name, stderr)
        assert named in stderr and rule in stderr, (name, stderr)
    stats = await fetch_stats(emulator.url)
    assert "CreateProcessingJob" not in stats["calls"] and stats["jobs"] == []
