"""Pure schedule logic: due times across DST, words, misfire/concurrency decisions, diff."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from jupyter_mlplat.errors import InvalidRequest
from jupyter_mlplat.runs.cron import describe, parse
from jupyter_mlplat.runs.policies import concurrency_decision, misfire_decision
from jupyter_mlplat.runs.service import diff_parameters

UTC = dt.timezone.utc


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_spring_forward_gap_fires_once_after_the_jump() -> None:
    cron = parse("30 2 * * *", "Europe/Berlin")
    times = cron.next_times(utc(2024, 3, 29), 4)
    assert [t.isoformat() for t in times] == [
        "2024-03-29T02:30:00+01:00", "2024-03-30T02:30:00+01:00",
        "2024-03-31T03:30:00+02:00",  # 02:30 does not exist that night
        "2024-04-01T02:30:00+02:00"]


def test_fall_back_repeated_hour_fires_once() -> None:
    cron = parse("30 1 * * *", "America/New_York")
    times = cron.next_times(utc(2024, 11, 2, 12), 3)
    assert [t.astimezone(UTC).isoformat() for t in times] == [
        "2024-11-03T05:30:00+00:00",  # 01:30 EDT, the first of the two 01:30s
        "2024-11-04T06:30:00+00:00", "2024-11-05T06:30:00+00:00"]


def test_hourly_across_dst_is_strictly_increasing_and_unique() -> None:
    cron = parse("0 * * * *", "Europe/Berlin")
    times = cron.next_times(utc(2024, 3, 30, 23, 30), 4)
    assert [t.isoformat() for t in times] == [
        "2024-03-31T01:00:00+01:00", "2024-03-31T03:00:00+02:00",
        "2024-03-31T04:00:00+02:00", "2024-03-31T05:00:00+02:00"]
    autumn = cron.next_times(utc(2024, 10, 26, 23, 30), 5)
    assert all(a < b for a, b in itertools.pairwise(autumn))


def test_seconds_field_and_latest_due() -> None:
    cron = parse("*/10 * * * * *", "UTC")
    assert cron.next_times(utc(2024, 1, 1, 0, 0, 5), 2) == [utc(2024, 1, 1, 0, 0, 10),
                                                          utc(2024, 1, 1, 0, 0, 20)]
    assert cron.latest_at_or_before(utc(2024, 1, 1, 0, 0, 25)) == utc(2024, 1, 1, 0, 0, 20)
    assert cron.latest_at_or_before(utc(2024, 1, 1, 0, 0, 20)) == utc(2024, 1, 1, 0, 0, 20)


@pytest.mark.parametrize(("expr", "zone", "field"), [
    ("61 * * * *", "UTC", "cron"), ("* * * *", "UTC", "cron"), ("0 0 30 2 *", "UTC", "cron"),
    ("nonsense", "UTC", "cron"), ("* * * * *", "Mars/Olympus", "timezone"),
    ("* * * * *", "", "timezone"), ("* * * * *", "../etc/passwd", "timezone"),
])
def test_bad_cron_or_zone_names_the_field(expr: str, zone: str, field: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse(expr, zone)
    assert err.value.message.startswith(f"{field}:")


def test_kubernetes_crons_have_five_fields() -> None:
    with pytest.raises(InvalidRequest, match="cron"):
        parse("*/5 * * * * *", allow_seconds=False)


@pytest.mark.parametrize(("expr", "words"), [
    ("* * * * *", "Every minute"), ("*/15 * * * *", "Every 15 minutes"),
    ("0 9 * * 1-5", "At 09:00, on Monday through Friday"), ("30 2 * * *", "At 02:30, every day"),
    ("5 * * * *", "At minute 5 of every hour"),
    ("0 6 1 1 *", "At 06:00, on day 1 of the month, in January"),
    ("*/5 * * * * *", "Every 5 seconds"),
])
def test_describe(expr: str, words: str) -> None:
    assert describe(expr) == words


CRON = parse("0 * * * *", "UTC")
DUE = utc(2024, 1, 1, 10)
GRACE = dt.timedelta(seconds=60)


def test_on_time_fires_the_due_time() -> None:
    for policy in ("skip", "run_once"):
        f = misfire_decision(CRON, DUE, DUE + dt.timedelta(seconds=5), policy, GRACE)
        assert (f.due, f.start, f.next_fire, f.note) == (DUE, True, utc(2024, 1, 1, 11), "")


def test_not_due_yet() -> None:
    f = misfire_decision(CRON, DUE, DUE - dt.timedelta(seconds=1), "skip", GRACE)
    assert f.due is None and not f.start


def test_downtime_run_once_fires_one_run_for_the_latest_missed() -> None:
    now = utc(2024, 1, 1, 13, 30)  # 10:00 .. 13:00 missed
    f = misfire_decision(CRON, DUE, now, "run_once", GRACE)
    assert f.due == utc(2024, 1, 1, 13) and f.start and f.next_fire == utc(2024, 1, 1, 14)
    assert "run_once" in f.note


def test_downtime_skip_records_but_does_not_start() -> None:
    f = misfire_decision(CRON, DUE, utc(2024, 1, 1, 13, 30), "skip", GRACE)
    assert f.due == utc(2024, 1, 1, 13) and not f.start and "skip" in f.note
    assert f.next_fire == utc(2024, 1, 1, 14)


def test_back_just_after_a_due_time_folds_the_missed_and_fires_it_on_time() -> None:
    now = utc(2024, 1, 1, 13, 0, 10)
    f = misfire_decision(CRON, DUE, now, "skip", GRACE)
    assert f.due == utc(2024, 1, 1, 12) and not f.start and "10:00" in f.note
    assert f.next_fire == utc(2024, 1, 1, 13)
    g = misfire_decision(CRON, f.next_fire, now, "skip", GRACE)
    assert g.due == utc(2024, 1, 1, 13) and g.start and g.next_fire == utc(2024, 1, 1, 14)


def test_a_slow_tick_within_grace_loses_no_due_time() -> None:
    cron = parse("*/10 * * * * *")
    due = utc(2024, 1, 1, 0, 0, 0)
    now = utc(2024, 1, 1, 0, 0, 25)  # three due times passed, all within a minute
    fired = []
    while (f := misfire_decision(cron, due, now, "skip", GRACE)).due is not None:
        fired.append(f.due.second)
        due = f.next_fire
    assert fired == [0, 10, 20] and due == utc(2024, 1, 1, 0, 0, 30)


def test_concurrency() -> None:
    assert concurrency_decision("forbid", 0) == "start"
    assert concurrency_decision("forbid", 1) == "skip"
    assert concurrency_decision("allow", 3) == "start"
    assert concurrency_decision("replace", 1) == "replace"


def test_parameter_diff() -> None:
    d = diff_parameters({"a": 1, "b": 2.0, "c": [1], "d": "x"},
                        {"a": 1, "b": 3.0, "c": [1, 2], "e": True, "d": "x"})
    assert d == {"added": {"e": True}, "removed": {}, "unchanged": {"a": 1, "d": "x"},
                 "changed": {"b": {"a": 2.0, "b": 3.0}, "c": {"a": [1], "b": [1, 2]}}}
    assert diff_parameters({"n": 1}, {"n": 1.0})["changed"] == {"n": {"a": 1, "b": 1.0}}
    assert diff_parameters({"n": True}, {})["removed"] == {"n": True}
