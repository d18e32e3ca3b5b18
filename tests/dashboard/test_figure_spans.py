"""The span helpers the figures statement is built from (`_within`, `_merged` in
dashboard/services/figures.py), checked directly against a brute-force reading of what they mean."""

import itertools
import random
import re
from datetime import UTC, datetime, timedelta

from dashboard.services.figures import _merged, _within

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hours(a: int, b: int) -> tuple[datetime, datetime]:
    return T0 + a * HOUR, T0 + b * HOUR


def holds(condition: str, params: dict, bucket: datetime) -> bool:
    """Evaluate what _within returned for one bucket: a constant, or an OR of bound half-open ranges."""
    if condition in ("TRUE", "FALSE"):
        return condition == "TRUE"
    ranges = re.findall(r"bucket >= %\((\w+)\)s AND bucket < %\((\w+)\)s", condition)
    assert (
        ranges
        and condition == "(" + " OR ".join(f"bucket >= %({a})s AND bucket < %({b})s" for a, b in ranges) + ")"
    ), condition
    return any(params[a] <= bucket < params[b] for a, b in ranges)


def test_a_read_inside_one_span_or_outside_all_is_a_constant():
    spans = [hours(0, 24), hours(48, 72)]
    params = {}
    assert _within(spans, *hours(2, 10), params, "m") == "TRUE"
    assert _within(spans, *hours(48, 72), params, "m") == "TRUE"  # the span's own bounds are inside
    assert _within(spans, *hours(24, 48), params, "m") == "FALSE"  # half-open: touching is not overlapping
    assert _within([], *hours(0, 1), params, "m") == "FALSE"
    assert params == {}


def test_a_read_across_spans_tests_only_the_spans_it_overlaps_with_its_own_keys():
    spans = [hours(0, 24), hours(30, 40), hours(100, 110)]
    params = {"other": 1}
    condition = _within(spans, *hours(20, 35), params, "c")
    assert condition == "(bucket >= %(ca0)s AND bucket < %(cb0)s OR bucket >= %(ca1)s AND bucket < %(cb1)s)"
    assert params == {
        "other": 1,
        "ca0": T0,
        "cb0": T0 + 24 * HOUR,
        "ca1": T0 + 30 * HOUR,
        "cb1": T0 + 40 * HOUR,
    }


def test_within_agrees_with_a_brute_force_reading_of_the_spans():
    rng = random.Random(8)
    for _ in range(300):
        spans = []
        for _ in range(rng.randint(0, 3)):
            a = rng.randint(0, 60)
            spans.append(hours(a, a + rng.randint(1, 30)))
        lo = rng.randint(0, 80)
        read = hours(lo, lo + rng.randint(1, 40))
        params: dict = {}
        condition = _within(spans, *read, params, "k")
        for h in range(lo, lo + int((read[1] - read[0]) / HOUR)):
            bucket = T0 + h * HOUR
            expected = any(a <= bucket < b for a, b in spans)
            assert holds(condition, params, bucket) == expected, (spans, read, condition, bucket)


def test_merged_joins_overlapping_and_touching_spans_of_one_resolution_only():
    spans = [
        ("1h", *hours(10, 12)),
        ("1d", *hours(0, 24)),
        ("1h", *hours(0, 2)),
        ("1h", *hours(2, 5)),  # touches the one before: joined
        ("1h", *hours(4, 6)),  # overlaps: joined
        ("1d", *hours(24, 48)),
        ("1h", *hours(7, 8)),  # a gap of an hour: kept apart
    ]
    assert _merged(spans) == [
        ("1d", *hours(0, 48)),
        ("1h", *hours(0, 6)),
        ("1h", *hours(7, 8)),
        ("1h", *hours(10, 12)),
    ]
    assert _merged([]) == []
    assert _merged([("1h", *hours(0, 10)), ("1h", *hours(2, 3))]) == [("1h", *hours(0, 10))]


def test_merged_covers_exactly_the_same_hours_per_resolution():
    rng = random.Random(3)
    for _ in range(200):
        spans = []
        for _ in range(rng.randint(0, 6)):
            a = rng.randint(0, 50)
            spans.append((rng.choice(["1h", "1d"]), *hours(a, a + rng.randint(1, 12))))
        merged = _merged(spans)

        def covered(items):
            return {(r, h) for r, a, b in items for h in range(int((a - T0) / HOUR), int((b - T0) / HOUR))}

        assert covered(merged) == covered(spans)
        for (r1, _, b1), (r2, a2, _) in itertools.pairwise(merged):
            assert r1 != r2 or b1 < a2, merged  # what is left neither overlaps nor touches
