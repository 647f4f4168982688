"""The bystander: another ListTrainingJobs user in the same account, beside the strategy.

A console page or another pipeline lists the account's training jobs now and then; AWS's
ListTrainingJobs quota (2 requests/s per account and region, not adjustable) is shared with it,
so whatever a strategy spends on List calls is taken from them. The bystander calls
ListTrainingJobs every ``interval`` seconds (the newest first, one page, as the console's
training-jobs list does) through the same emulator and its quotas, with botocore's retries off
so that each throttled answer is one the user would see. Its requests carry ``MARK`` in their
User-Agent, by which the benchmark emulator records them apart (``emulator``) and the figures
leave them out of the strategy's own calls (``metrics``).

It runs on a thread of the harness, not in the strategy's process, so its CPU is not the
strategy's.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

MARK = "smrun-bench-bystander"


class Bystander:
    """ListTrainingJobs at ``start`` and every ``interval`` seconds after, until ``stop``."""

    def __init__(self, url: str, interval: float) -> None:
        self.interval = interval
        self.client: Any = boto3.session.Session().client(
            "sagemaker",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(
                user_agent_extra=MARK,
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=10,
                read_timeout=30,
            ),
        )
        self.failures = 0  # answers that were not a page (throttled or not); the emulator counts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bystander", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.client.list_training_jobs(SortBy="CreationTime", SortOrder="Descending")
            except (ClientError, BotoCoreError):
                self.failures += 1
            if self._stop.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
