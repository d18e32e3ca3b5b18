"""The reads the figures statement is built from (`_arms` in dashboard/services/figures.py), checked
directly against a brute-force reading of what they mean."""

import itertools
import random
from datetime import UTC, datetime, timedelta

from dashboard.services.figures import _arms

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def hours(a: int, b: int) -> tuple[datetime, datetime]:
    return T0 + a * HOUR, T0 + b * HOUR


def test_a_week_late_in_the_month_reads_each_piece_for_exactly_its_own_figures():
    """The 7-day range from 06:00 on the 17th, asked on the 24th: hourly metric rows to midnight, then
    daily rows: the month's cost alone before the range, the 17th for both costs (its metrics come from
    the hourly rows), and the rest for everything."""
    start = T0 + 16 * DAY + 6 * HOUR
    spans = [
        ("m", "1h", start, T0 + 17 * DAY),
        ("m", "1d", T0 + 17 * DAY, T0 + 24 * DAY),
        ("m", "1d", T0 + 23 * DAY, T0 + 24 * DAY),  # today's daily row, read for a live range
        ("rc", "1d", T0 + 16 * DAY, T0 + 24 * DAY),
        ("mc", "1d", T0, T0 + 24 * DAY),
    ]
    assert _arms(spans) == [
        ("1d", T0, T0 + 16 * DAY, frozenset({"mc"})),
        ("1d", T0 + 16 * DAY, T0 + 17 * DAY, frozenset({"rc", "mc"})),
        ("1d", T0 + 17 * DAY, T0 + 24 * DAY, frozenset({"m", "rc", "mc"})),
        ("1h", start, T0 + 17 * DAY, frozenset({"m"})),
    ]
    assert _arms([]) == []


def test_gaps_between_spans_are_not_read_and_touching_pieces_of_the_same_figures_are_one_read():
    spans = [("m", "1h", *hours(0, 5)), ("m", "1h", *hours(5, 8)), ("m", "1h", *hours(10, 12))]
    assert _arms(spans) == [
        ("1h", *hours(0, 8), frozenset({"m"})),
        ("1h", *hours(10, 12), frozenset({"m"})),
    ]


def random_spans(rng: random.Random) -> list[tuple[str, str, datetime, datetime]]:
    spans = []
    for _ in range(rng.randint(0, 7)):
        a = rng.randint(0, 60)
        flag, resolution = rng.choice(["m", "rc", "mc"]), rng.choice(["1h", "1d"])
        spans.append((flag, resolution, *hours(a, a + rng.randint(1, 30))))
    return spans


def test_every_hour_is_read_once_for_exactly_the_figures_whose_spans_hold_it():
    rng = random.Random(8)
    for _ in range(500):
        spans = random_spans(rng)
        arms = _arms(spans)
        for resolution, h in itertools.product(["1h", "1d"], range(100)):
            bucket = T0 + h * HOUR
            expected = {flag for flag, r, a, b in spans if r == resolution and a <= bucket < b}
            reading = [flags for r, a, b, flags in arms if r == resolution and a <= bucket < b]
            if expected:
                assert reading == [expected], (spans, arms, resolution, bucket)
            else:
                assert reading == [], (spans, arms, resolution, bucket)
        for (r1, a1, b1, f1), (r2, a2, b2, f2) in itertools.pairwise(arms):
            assert a1 < b1 and a2 < b2
            if r1 == r2:
                assert b1 <= a2, arms  # in order, never overlapping
                assert b1 < a2 or f1 != f2, arms  # touching reads of the same figures are one read
