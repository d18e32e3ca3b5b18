"""forecast_from_history: a month forecast for a team or an endpoint from its own daily cost."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from collectors.attribution import forecast_from_history
from collectors.aws.costexplorer import next_month_start

TODAY = date(2026, 11, 20)
MONTH_END = date(2026, 12, 1)  # exclusive


def history(first: date, values: list) -> list[tuple[date, Decimal]]:
    return [(first + timedelta(days=i), Decimal(str(v))) for i, v in enumerate(values)]


def test_a_team_forecast_is_month_to_date_plus_the_median_day_for_the_rest():
    # Two endpoints of one team, 28 days each (Oct 23 - Nov 19): 6 + 4 = 10 a day.
    search = history(date(2026, 10, 23), [6] * 28)
    ranker = history(date(2026, 10, 23), [4] * 28)
    result = forecast_from_history(search + ranker, today=TODAY, month_end=MONTH_END)
    assert result.ok and result.reason == ""
    assert result.daily_rate == Decimal("10")
    assert result.month_to_date == 19 * Decimal("10")  # Nov 1-19
    assert [d for d, _ in result.daily] == [date(2026, 11, 20) + timedelta(days=i) for i in range(11)]
    assert result.month_total == Decimal("190") + 11 * Decimal("10") == Decimal("300")
    assert result.history_days == 28


def test_a_one_off_spike_is_counted_in_the_month_but_not_in_the_forecast():
    values = [10] * 28
    values[26] = 500  # Nov 18
    result = forecast_from_history(history(date(2026, 10, 23), values), today=TODAY, month_end=MONTH_END)
    assert result.daily_rate == Decimal("10")  # the median ignores it (a mean would say 27.5)
    assert result.month_to_date == 18 * 10 + 500
    assert result.month_total == Decimal("680") + 11 * 10 == Decimal("790")


def test_seven_days_are_enough_and_the_median_is_taken_by_hand():
    result = forecast_from_history(
        history(date(2026, 11, 13), [5, 7, 6, 100, 6, 5, 7]), today=TODAY, month_end=MONTH_END
    )
    # sorted: 5 5 6 [6] 7 7 100 -> 6; month so far 136; 11 days left x 6 = 66
    assert (result.history_days, result.daily_rate) == (7, Decimal("6"))
    assert result.month_total == Decimal("202")


def test_an_even_window_takes_the_mean_of_the_middle_two():
    result = forecast_from_history(
        history(date(2026, 11, 12), [1, 2, 3, 4, 5, 6, 7, 8]), today=TODAY, month_end=MONTH_END
    )
    assert result.daily_rate == Decimal("4.5")


def test_too_little_history_gives_no_forecast_and_says_why():
    short = forecast_from_history(history(date(2026, 11, 14), [3] * 6), today=TODAY, month_end=MONTH_END)
    assert not short.ok and short.month_total is None and short.daily == []
    assert short.reason == "only 6 day(s) of cost history; a forecast needs at least 7"
    assert short.month_to_date == Decimal("18")
    empty = forecast_from_history([], today=TODAY, month_end=MONTH_END)
    assert (empty.ok, empty.reason) == (False, "no cost history")


def test_days_without_cost_count_as_zero_once_history_has_started():
    # An endpoint that cost 8 a day from Oct 23, then went quiet (no rows) for the last 16 days.
    result = forecast_from_history(history(date(2026, 10, 23), [8] * 12), today=TODAY, month_end=MONTH_END)
    assert result.history_days == 28 and result.daily_rate == Decimal("0")
    # Oct 23 - Nov 3 are the 12 days with cost: Nov 1-3 count in the month, nothing more is forecast.
    assert result.month_total == result.month_to_date == 3 * Decimal("8")


def test_days_after_the_last_complete_day_are_forecast_not_counted_as_zero():
    values = history(date(2026, 10, 23), [10] * 27)  # up to Nov 18: Cost Explorer has not reported Nov 19
    result = forecast_from_history(
        values, today=TODAY, month_end=MONTH_END, last_complete_day=date(2026, 11, 18)
    )
    assert result.daily_rate == Decimal("10") and result.daily[0][0] == date(2026, 11, 19)
    assert result.month_total == 18 * 10 + 12 * 10


def test_on_the_first_of_the_month_everything_is_forecast():
    values = history(date(2026, 11, 1), [3] * 30)
    result = forecast_from_history(
        values, today=date(2026, 12, 1), month_end=next_month_start(date(2026, 12, 1))
    )
    assert result.month_to_date == 0 and len(result.daily) == 31
    assert result.month_total == 31 * 3


def test_costs_of_today_or_later_are_ignored():
    values = [*history(date(2026, 10, 23), [10] * 28), (TODAY, Decimal("1000"))]
    assert forecast_from_history(values, today=TODAY, month_end=MONTH_END).month_total == Decimal("300")
