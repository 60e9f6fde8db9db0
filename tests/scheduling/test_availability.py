"""Slot generation, a pure function: DST both ways, midnight, leap days, buffers, exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicflow.scheduling.availability import (
    Busy,
    Interval,
    Slot,
    WeeklyRule,
    free_slots,
    generate_slots,
    window_of,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


def day_range(tz: ZoneInfo, d: date, days: int = 1) -> tuple[datetime, datetime]:
    start = datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)
    return start, datetime.combine(d + timedelta(days=days), time(0), tzinfo=tz).astimezone(UTC)


def test_a_plain_morning_in_local_time() -> None:
    monday = date(2026, 1, 5)
    rule = WeeklyRule(weekday=0, start=time(9), end=time(10), slot_minutes=20)
    slots = generate_slots([rule], BERLIN, *day_range(BERLIN, monday))
    assert [s.starts_at for s in slots] == [
        utc(2026, 1, 5, 8, 0),
        utc(2026, 1, 5, 8, 20),
        utc(2026, 1, 5, 8, 40),
    ]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=20) for s in slots)


def test_several_windows_a_day_and_other_weekdays_ignored() -> None:
    monday = date(2026, 1, 5)
    rules = [
        WeeklyRule(0, time(9), time(10), 30),
        WeeklyRule(0, time(14), time(15), 30),
        WeeklyRule(1, time(9), time(10), 30),
    ]
    slots = generate_slots(rules, BERLIN, *day_range(BERLIN, monday))
    assert [s.starts_at.astimezone(BERLIN).time() for s in slots] == [
        time(9),
        time(9, 30),
        time(14),
        time(14, 30),
    ]


def test_spring_forward_keeps_real_durations_and_skips_the_gap() -> None:
    # Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    sunday = date(2026, 3, 29)
    rule = WeeklyRule(6, time(1), time(4), 60)
    slots = generate_slots([rule], BERLIN, *day_range(BERLIN, sunday))
    assert [s.starts_at.astimezone(BERLIN).strftime("%H:%M %Z") for s in slots] == ["01:00 CET", "03:00 CEST"]
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in slots)
    gap_only = WeeklyRule(6, time(2), time(2, 45), 15)
    assert generate_slots([gap_only], BERLIN, *day_range(BERLIN, sunday)) == []


def test_a_window_starting_inside_the_gap_starts_when_the_gap_ends() -> None:
    sunday = date(2026, 3, 29)
    window = window_of(WeeklyRule(6, time(2, 30), time(5), 30), sunday, BERLIN)
    assert window.start == local(BERLIN, 2026, 3, 29, 3, 0).astimezone(UTC)
    assert window.end - window.start == timedelta(hours=2)


def test_fall_back_gives_the_repeated_hour_twice() -> None:
    # America/New_York, 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    sunday = date(2026, 11, 1)
    rule = WeeklyRule(6, time(0, 30), time(2, 30), 60)
    slots = generate_slots([rule], NEW_YORK, *day_range(NEW_YORK, sunday))
    labels = [s.starts_at.astimezone(NEW_YORK).strftime("%H:%M %Z") for s in slots]
    assert labels == ["00:30 EDT", "01:30 EDT", "01:30 EST"]
    assert len({s.starts_at for s in slots}) == 3


def test_a_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    friday = date(2026, 1, 9)
    night = WeeklyRule(4, time(23), time(1), 30)
    slots = generate_slots([night], BERLIN, *day_range(BERLIN, friday, days=2))
    assert [s.starts_at.astimezone(BERLIN).strftime("%a %H:%M") for s in slots] == [
        "Fri 23:00",
        "Fri 23:30",
        "Sat 00:00",
        "Sat 00:30",
    ]
    # Asking only for Saturday still finds the slots after midnight.
    saturday_only = generate_slots([night], BERLIN, *day_range(BERLIN, date(2026, 1, 10)))
    assert [s.starts_at.astimezone(BERLIN).strftime("%a %H:%M") for s in saturday_only] == [
        "Sat 00:00",
        "Sat 00:30",
    ]


def test_leap_day_and_validity_bounds() -> None:
    leap_day = date(2028, 2, 29)  # a Tuesday
    rule = WeeklyRule(1, time(9), time(10), 60, valid_from=date(2028, 2, 29), valid_to=date(2028, 2, 29))
    assert len(generate_slots([rule], BERLIN, *day_range(BERLIN, leap_day))) == 1
    assert generate_slots([rule], BERLIN, *day_range(BERLIN, date(2028, 3, 7))) == []
    assert generate_slots([rule], BERLIN, *day_range(BERLIN, date(2028, 2, 22))) == []


def test_buffers_space_slots_and_block_around_them() -> None:
    monday = date(2026, 1, 5)
    rule = WeeklyRule(0, time(9), time(11), 30, buffer_before=5, buffer_after=10)
    slots = generate_slots([rule], BERLIN, *day_range(BERLIN, monday))
    starts = [s.starts_at.astimezone(BERLIN).time() for s in slots]
    assert starts == [time(9, 5), time(9, 50)]  # a third (10:35) would end after 11:00
    first, second = slots
    assert first.blocked_from == local(BERLIN, 2026, 1, 5, 9, 0).astimezone(UTC)
    assert first.blocked_until == second.blocked_from  # touching, not overlapping


def test_exceptions_remove_overlapping_slots_including_buffers() -> None:
    monday = date(2026, 1, 5)
    rule = WeeklyRule(0, time(9), time(12), 60, buffer_after=15)
    lunch = Interval(
        local(BERLIN, 2026, 1, 5, 10, 20).astimezone(UTC), local(BERLIN, 2026, 1, 5, 10, 30).astimezone(UTC)
    )
    slots = generate_slots([rule], BERLIN, *day_range(BERLIN, monday), exceptions=[lunch])
    # 09:00-10:15 (blocked to 10:15) is clear; 10:15-11:30 overlaps the exception.
    assert [s.starts_at.astimezone(BERLIN).time() for s in slots] == [time(9)]
    overlapping = [lunch, Interval(lunch.start - timedelta(hours=3), lunch.end + timedelta(hours=3))]
    assert generate_slots([rule], BERLIN, *day_range(BERLIN, monday), exceptions=overlapping) == []


def test_notice_and_horizon_bound_start_instants() -> None:
    monday = date(2026, 1, 5)
    rule = WeeklyRule(0, time(9), time(12), 60)
    start, end = day_range(BERLIN, monday)
    slots = generate_slots(
        [rule],
        BERLIN,
        start,
        end,
        not_before=local(BERLIN, 2026, 1, 5, 9, 30).astimezone(UTC),
        not_after=local(BERLIN, 2026, 1, 5, 10, 0).astimezone(UTC),
    )
    assert [s.starts_at.astimezone(BERLIN).time() for s in slots] == [time(10)]


def test_free_slots_subtract_bookings_and_count_group_seats() -> None:
    t = utc(2026, 1, 5, 9)
    single = Slot(t, t + timedelta(minutes=30), t, t + timedelta(minutes=30), 1)
    later = Slot(
        t + timedelta(hours=1), t + timedelta(hours=2), t + timedelta(hours=1), t + timedelta(hours=2), 3
    )
    booked_single = Busy(t, t + timedelta(minutes=30), t, group=False)
    seat = Busy(later.blocked_from, later.blocked_until, later.starts_at, group=True)
    result = free_slots([single, later], [booked_single, seat, seat])
    assert [(f.slot.starts_at, f.remaining) for f in result] == [(later.starts_at, 1)]
    full = free_slots([later], [seat, seat, seat])
    assert full == []
    clash = Busy(
        later.blocked_from + timedelta(minutes=10),
        later.blocked_until,
        later.starts_at + timedelta(minutes=10),
        group=False,
    )
    assert free_slots([later], [clash]) == []
