"""``runner.serviceclock``: the service's clock from the answers' Date headers."""

from __future__ import annotations

import email.utils

from runner.serviceclock import ServiceClock

LOCAL = 1_800_000_000.25


def answer_dated(moment: float) -> dict[str, object]:
    """A ResponseMetadata as botocore builds it (header names lower-cased)."""
    return {"HTTPHeaders": {"date": email.utils.formatdate(moment, usegmt=True)}}


def test_no_answer_yet_means_no_offset() -> None:
    clock = ServiceClock(lambda: LOCAL)
    assert (clock.measured, clock.offset, clock.now()) == (False, 0.0, LOCAL)


def test_the_offset_is_the_service_ahead_or_behind_within_a_second() -> None:
    for skew in (-300.0, -60.0, 0.0, 60.0, 300.0):
        clock = ServiceClock(lambda: LOCAL)
        clock.observe(answer_dated(LOCAL + skew))
        assert clock.measured
        assert abs(clock.offset - skew) <= 1.0
        assert abs(clock.service_time(LOCAL - 10) - (LOCAL - 10 + skew)) <= 1.0


def test_an_odd_answer_does_not_move_the_median() -> None:
    clock = ServiceClock(lambda: LOCAL)
    for _ in range(4):
        clock.observe(answer_dated(LOCAL - 60))
    clock.observe(answer_dated(LOCAL + 3600))  # one stale or proxied Date
    assert abs(clock.offset + 60) <= 1.0


def test_answers_without_a_readable_date_are_ignored() -> None:
    clock = ServiceClock(lambda: LOCAL)
    for metadata in (None, {}, {"HTTPHeaders": {}}, {"HTTPHeaders": {"date": "yesterday"}}):
        clock.observe(metadata)
    clock.observe({"HTTPHeaders": {"date": "Tue, 01 Dec 2026 17:10:00 -0000"}})  # no zone
    assert not clock.measured and clock.offset == 0.0
