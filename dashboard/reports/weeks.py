"""ISO weeks as the review counts them: Monday 00:00 UTC to the next Monday 00:00 UTC. An ISO year has 52
or 53 weeks, and its week 1 is the one holding the first Thursday of January, so a week may start in the
previous calendar year (2026-W01 starts on Monday 29 December 2025)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dashboard.services.figures import TimeRange

PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self):
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError:
            last = IsoWeek.weeks_in(self.year) if 1 <= self.year <= 9999 else 52
            raise ValueError(f"{self.year} has no ISO week {self.week} (weeks 01 to {last})") from None

    @staticmethod
    def weeks_in(year: int) -> int:
        # 28 December is always in the last ISO week of its year.
        return date(year, 12, 28).isocalendar().week

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """From "2026-W47" (the form HTML's week input sends)."""
        match = PATTERN.match((text or "").strip().upper())
        if match is None:
            raise ValueError(f"{text!r} is not an ISO week: write it as YYYY-Www, e.g. 2026-W47")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def last_complete(cls, now: datetime) -> IsoWeek:
        """The latest week that has ended at `now` (the week before the one `now` is in, in UTC)."""
        return cls.of(now.astimezone(UTC).date()).previous()

    @property
    def start(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> date:
        """The next Monday: the week is [start, end)."""
        return self.start + timedelta(days=7)

    @property
    def last(self) -> date:
        """The Sunday."""
        return self.start + timedelta(days=6)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def time_range(self) -> TimeRange:
        """As the pages' custom range from Monday to Sunday inclusive, so the review and a page over
        the same days read the same summary rows."""
        return TimeRange("custom", _midnight(self.start), _midnight(self.end))

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.start - timedelta(days=7))

    def next(self) -> IsoWeek:
        return IsoWeek.of(self.end)

    def is_over(self, now: datetime) -> bool:
        return now >= _midnight(self.end)

    def __str__(self) -> str:
        return self.label


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
