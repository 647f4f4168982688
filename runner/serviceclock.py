"""The service's clock, as its answers show it: what sweep windows are computed from.

A machine's clock can be minutes off AWS's (SigV4 accepts requests up to 5 minutes off). A
window sent from the local clock is then in the service's past or future: a
``CreationTimeAfter`` floor taken from the local clock, 60 s ahead of the service's, hides every
job created in the last minute. So windows are placed on the service's clock:

* where the service stated a job's time (its ``CreationTime``), that;
* otherwise the local moment moved by the offset this module measures: every AWS answer has an
  HTTP ``Date`` header, the service's time when it answered (RFC 9110 section 6.6.1: an origin
  server with a clock sends it), which botocore hands over as
  ``ResponseMetadata['HTTPHeaders']['date']``. The AWS SDK for Java reads the same header to
  correct clock skew (``software.amazon.awssdk.core.retry.ClockSkew.getServerTime``).

A ``Date`` has whole seconds and is stamped somewhere between sending and receiving, so one
sample is up to ~1 s off; the offset is the median of the latest samples plus half a second
(the truncation's mean). Sweeps reach ``sweep_overlap`` (10 s) further back anyway.
"""

from __future__ import annotations

import email.utils
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

SAMPLES = 15  # the latest Date headers the offset is the median of


class ServiceClock:
    """Seconds the service's clock is ahead of this machine's (negative: behind)."""

    def __init__(self, local: Callable[[], float] = time.time) -> None:
        self._local = local
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self._offset = 0.0

    @property
    def measured(self) -> bool:
        return bool(self._samples)

    @property
    def offset(self) -> float:
        """The measured offset; 0 before any answer showed a ``Date``."""
        return self._offset

    def observe(self, metadata: Mapping[str, Any] | None) -> None:
        """Take in one answer's ``ResponseMetadata`` (ignored without a readable ``Date``)."""
        headers = (metadata or {}).get("HTTPHeaders") or {}
        text = headers.get("date")
        if not isinstance(text, str):
            return
        try:
            stamped = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return
        if stamped.tzinfo is None:
            return  # "-0000": no zone said; a Date is always GMT, but do not guess
        self._samples.append(stamped.timestamp() + 0.5 - self._local())
        self._offset = statistics.median(self._samples)

    def now(self) -> float:
        """The service's time now (epoch seconds), as far as its answers showed it."""
        return self._local() + self._offset

    def service_time(self, local_moment: float) -> float:
        """A local moment (``time.time()``) on the service's clock."""
        return local_moment + self._offset
