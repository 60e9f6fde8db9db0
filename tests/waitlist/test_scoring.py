"""Priority scoring is a pure function; the stored key orders like the score at any time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from clinicflow.waitlist.scoring import Weights, Window, fit, order_key, score

W = Weights(wait_time=2.0, priority_tier=10.0, chronic_condition=30.0, window_fit=5.0)
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def test_waiting_grows_the_score_and_tiers_and_chronic_conditions_add_to_it() -> None:
    key = order_key(W, tier=0, chronic=False, boost=0, pinned=False, joined=T0)
    assert score(W, key, T0) == 0
    assert score(W, key, T0 + timedelta(hours=5)) == 10
    urgent = order_key(W, tier=2, chronic=True, boost=0, pinned=False, joined=T0)
    assert score(W, urgent, T0) == 50


def test_pinned_entries_come_first() -> None:
    pinned = order_key(W, tier=0, chronic=False, boost=0, pinned=True, joined=T0 + timedelta(days=30))
    urgent_old = order_key(W, tier=5, chronic=True, boost=100, pinned=False, joined=T0)
    assert pinned > urgent_old


@given(
    entries=st.lists(
        st.tuples(st.integers(0, 5), st.booleans(), st.floats(-50, 50), st.integers(0, 10_000)),
        min_size=2,
        max_size=20,
    ),
    later=st.integers(0, 100_000),
)
def test_the_stored_key_orders_exactly_like_the_score_at_any_time(
    entries: list[tuple[int, bool, float, int]], later: int
) -> None:
    keys = [
        order_key(W, tier=t, chronic=c, boost=b, pinned=False, joined=T0 + timedelta(minutes=m))
        for t, c, b, m in entries
    ]
    now = T0 + timedelta(minutes=10_000 + later)
    by_key = sorted(range(len(keys)), key=lambda i: -keys[i])
    by_score = sorted(range(len(keys)), key=lambda i: -score(W, keys[i], now))
    assert [round(keys[i], 6) for i in by_key] == [round(keys[i], 6) for i in by_score]


def test_window_fit() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    monday_morning = datetime(2026, 11, 23, 9, tzinfo=berlin)
    assert fit(Window(), monday_morning, berlin) == 0.5
    assert fit(Window(weekdays=(0,), day_parts=("morning",)), monday_morning, berlin) == 1.0
    assert fit(Window(day_parts=("afternoon",)), monday_morning, berlin) is None
    assert fit(Window(date_from=date(2026, 11, 24)), monday_morning, berlin) is None
    assert fit(Window(date_to=date(2026, 11, 22)), monday_morning, berlin) is None
