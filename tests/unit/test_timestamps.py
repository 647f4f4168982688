"""How answers' timestamps are parsed (``runner.parsing.service_timestamp``)."""

from __future__ import annotations

import datetime as dt

import pytest

from runner.parsing import service_timestamp

MOMENT = dt.datetime(2026, 12, 1, 19, 30, 5, 250000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value",
    [
        MOMENT.timestamp(),  # the JSON protocols: epoch seconds
        int(MOMENT.timestamp()),
        str(MOMENT.timestamp()),
        "2026-12-01T19:30:05.250Z",  # the query protocol: ISO 8601
        "2026-12-01T20:30:05.250+01:00",
    ],
)
def test_every_form_is_the_same_moment_in_utc(value: object) -> None:
    parsed = service_timestamp(value)
    assert parsed.utcoffset() == dt.timedelta(0)
    expected = MOMENT if not isinstance(value, int) else MOMENT.replace(microsecond=0)
    assert parsed == expected


def test_epoch_timestamps_share_one_tzinfo() -> None:
    assert service_timestamp(1.5).tzinfo is service_timestamp(2).tzinfo is dt.UTC


def test_a_malformed_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="not a time"):
        service_timestamp("not a time")
