"""The SageMaker Python SDK v2 against the emulator: fit, attach, tune, transform, process, deploy.

Run with the Python of a throwaway virtualenv that has the SDK (never a project dependency):

    python3.11 -m venv /tmp/sagemaker-sdk-venv
    /tmp/sagemaker-sdk-venv/bin/pip install 'sagemaker<3'
    /tmp/sagemaker-sdk-venv/bin/python tests/e2e/sagemaker_sdk_check.py --endpoint-url URL

against an emulator started with short jobs, e.g. ``smrun emulator --port 4566
--job-duration 2 --stop-duration 0.5``. ``tests/e2e/test_sagemaker_sdk.py`` does both.

Nothing here talks to AWS: the clients the SDK builds are pointed at the emulator
(``AWS_ENDPOINT_URL``, so a call to a service the emulator lacks fails there instead of
reaching AWS; only a client built with an explicit endpoint escapes it, such as the regional
STS client of ``Session.default_bucket``, which is why nothing here may need that bucket, and
why the test runs this script under the network guard), credentials are fake, telemetry is opted out through the SDK's own config
(``TelemetryOptOut``: its telemetry is a GET to an S3 bucket of AWS's), the estimator gets an
explicit ``output_path`` and s3:// strings as inputs, so the SDK needs no default bucket (which
would call STS and S3; its profiler and debugger outputs go under the output path too), and
the image is not a built-in algorithm's (see ``IMAGE``).

The SDK waits with fixed sleeps (``logs_for_job`` reads logs every 10 s and describes every
30 s; endpoints are polled every 30 s). ``--sdk-clock-speedup N`` gives ``sagemaker.session``
a clock that runs N times faster (its ``time.sleep`` sleeps 1/N of the time and its
``time.time`` advances N times faster): the same calls in the same order, in a fraction of
the wall time. 1 runs the SDK at its own pace.

Each step prints ``PASS <step>``, ``FAIL <step>: <error>`` or ``SKIP <step>: <why>``; the exit
status is 1 when a step failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
# Not a built-in algorithm: HyperparameterTuner.attach maps a built-in image (kmeans) to its
# estimator class, whose constructor asks for the default bucket (STS, then S3).
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/smrun-sdk-check:1"
BUCKET = "s3://smrun-sdk-check"
REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def fast_clock(speedup: float) -> types.SimpleNamespace:
    """The ``time`` module as ``sagemaker.session`` sees it, running ``speedup`` times faster."""
    start = time.time()
    names = {name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
    return types.SimpleNamespace(
        **{
            **names,
            "sleep": lambda seconds: time.sleep(seconds / speedup),
            "time": lambda: start + (time.time() - start) * speedup,
        }
    )


def report(line: str) -> None:
    """A result line, on a line of its own (the SDK's progress dots leave lines unended)."""
    print(f"\n{line}", flush=True)


class Steps:
    """Runs the steps in order and remembers which failed."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.results: dict[str, Any] = {}

    def run(self, name: str, step: Callable[[], Any], *needs: str) -> Any:
        missing = [need for need in needs if need not in self.results]
        if missing:
            report(f"SKIP {name}: needs {', '.join(missing)}")
            return None
        began = time.monotonic()
        try:
            result = step()
        except Exception as error:
            traceback.print_exc()
            report(f"FAIL {name}: {type(error).__name__}: {error}")
            self.failed.append(name)
            return None
        report(f"PASS {name} ({time.monotonic() - began:.1f} s)")
        self.results[name] = result
        return result


FIT = "Estimator.fit(logs=True)"
TUNE = "HyperparameterTuner.fit"
METRIC = "validation:loss"


def sdk_session(endpoint_url: str, speedup: float) -> Any:
    """A ``sagemaker.Session`` whose every client goes to the emulator, with fake credentials
    and the SDK's telemetry off; set up before the SDK builds any client."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    for key, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

    import boto3
    import sagemaker
    import sagemaker.session

    sagemaker.session.time = fast_clock(speedup)  # type: ignore[assignment]
    boto_session = boto3.Session(region_name=REGION)
    return sagemaker.Session(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        sagemaker_runtime_client=boto_session.client("sagemaker-runtime"),
        sagemaker_config={
            "SchemaVersion": "1.0",
            "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
        },
    )


class Checks:
    """Each step of the check, against one session; jobs are named ``name``-<step>."""

    def __init__(self, session: Any, name: str, steps: Steps) -> None:
        self.session = session
        self.name = name
        self.steps = steps
        self.inputs = {"train": f"{BUCKET}/train", "validation": f"{BUCKET}/validation"}

    def estimator(self, **extra: Any) -> Any:
        from sagemaker.estimator import Estimator

        return Estimator(
            image_uri=IMAGE,
            role=ROLE,
            instance_count=1,
            instance_type="ml.m5.xlarge",
            output_path=f"{BUCKET}/output",
            sagemaker_session=self.session,
            metric_definitions=[{"Name": METRIC, "Regex": "loss=([0-9.]+)"}],
            hyperparameters={"k": "8"},
            **extra,
        )

    @property
    def trained(self) -> Any:
        return self.steps.results[FIT]

    def fit(self) -> Any:
        trained = self.estimator()
        trained.fit(self.inputs, job_name=f"{self.name}-fit", logs=True)
        assert trained.model_data.endswith("model.tar.gz"), trained.model_data
        return trained

    def attach(self) -> Any:
        from sagemaker.estimator import Estimator

        attached = Estimator.attach(f"{self.name}-fit", sagemaker_session=self.session)
        assert attached.model_data == self.trained.model_data, attached.model_data
        assert attached.output_path == f"{BUCKET}/output"
        return attached

    def tune(self) -> Any:
        from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

        tuner = HyperparameterTuner(
            self.estimator(),
            objective_metric_name=METRIC,
            objective_type="Minimize",
            hyperparameter_ranges={
                "k": IntegerParameter(2, 16),
                "learning_rate": ContinuousParameter(0.01, 0.2),
            },
            metric_definitions=[{"Name": METRIC, "Regex": "loss=([0-9.]+)"}],
            max_jobs=2,
            max_parallel_jobs=2,
        )
        tuner.fit(self.inputs, job_name=f"{self.name}-hpo", wait=True)
        return tuner

    def best_estimator(self) -> Any:
        best = self.steps.results[TUNE].best_estimator()
        assert best.latest_training_job.name.startswith(f"{self.name}-hpo"), (
            best.latest_training_job
        )
        return best

    def tuner_attach(self) -> Any:
        from sagemaker.tuner import HyperparameterTuner

        attached = HyperparameterTuner.attach(f"{self.name}-hpo", sagemaker_session=self.session)
        assert attached.objective_metric_name == METRIC, attached.objective_metric_name
        return attached.best_estimator()

    def transform(self) -> Any:
        from sagemaker.transformer import Transformer

        transformer = self.trained.transformer(
            instance_count=1,
            instance_type="ml.m5.xlarge",
            output_path=f"{BUCKET}/batch-out",
        )
        transformer.transform(
            f"{BUCKET}/batch",
            content_type="text/csv",
            job_name=f"{self.name}-batch",
            wait=True,
            logs=True,
        )
        attached = Transformer.attach(f"{self.name}-batch", sagemaker_session=self.session)
        assert attached.output_path == f"{BUCKET}/batch-out", attached.output_path
        return transformer

    def process(self) -> Any:
        from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor

        processor = Processor(
            role=ROLE,
            image_uri=IMAGE,
            instance_count=1,
            instance_type="ml.m5.xlarge",
            sagemaker_session=self.session,
        )
        processor.run(
            inputs=[ProcessingInput(source=f"{BUCKET}/raw", destination="/opt/ml/processing/in")],
            outputs=[
                ProcessingOutput(source="/opt/ml/processing/out", destination=f"{BUCKET}/prepared")
            ],
            job_name=f"{self.name}-process",
            wait=True,
            logs=True,
        )
        described = processor.latest_job.describe()
        assert described["ProcessingJobStatus"] == "Completed", described["ProcessingJobStatus"]
        return processor

    def deploy(self) -> Any:
        predictor = self.trained.deploy(
            initial_instance_count=1,
            instance_type="ml.m5.xlarge",
            endpoint_name=f"{self.name}-endpoint",
        )
        described = self.session.sagemaker_client.describe_endpoint(
            EndpointName=predictor.endpoint_name
        )
        assert described["EndpointStatus"] == "InService", described["EndpointStatus"]
        predictor.delete_model()
        predictor.delete_endpoint(delete_endpoint_config=True)
        return predictor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True, help="the emulator, http://127.0.0.1:PORT")
    parser.add_argument("--sdk-clock-speedup", type=float, default=10.0)
    parser.add_argument("--prefix", default="sdk", help="prefix of the job names")
    args = parser.parse_args(argv)
    session = sdk_session(args.endpoint_url, args.sdk_clock_speedup)
    steps = Steps()
    checks = Checks(session, f"{args.prefix}-{int(time.time())}", steps)
    steps.run(FIT, checks.fit)
    steps.run("Estimator.attach", checks.attach, FIT)
    steps.run(TUNE, checks.tune)
    steps.run("HyperparameterTuner.best_estimator", checks.best_estimator, TUNE)
    steps.run("HyperparameterTuner.attach + best_estimator", checks.tuner_attach, TUNE)
    steps.run(
        "Estimator.transformer().transform(wait, logs) + Transformer.attach",
        checks.transform,
        FIT,
    )
    steps.run("Processor.run(wait, logs)", checks.process)
    steps.run("Estimator.deploy + delete", checks.deploy, FIT)
    if steps.failed:
        report(f"FAILED: {', '.join(steps.failed)}")
        return 1
    report("ALL PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
