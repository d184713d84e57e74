"""The periods a feed is read by: a day (?date=YYYY-MM-DD), an ISO week (?week=YYYY-Www) or a
month (?month=YYYY-MM), with their neighbours for previous/next navigation."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    kind: str  # day | week | month
    first: dt.date
    last: dt.date

    @property
    def param(self) -> str:
        return {"day": "date", "week": "week", "month": "month"}[self.kind]

    @property
    def value(self) -> str:
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "week":
            y, w, _ = self.first.isocalendar()
            return f"{y}-W{w:02d}"
        return f"{self.first.year}-{self.first.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.first.strftime("%A, %-d %B %Y")
        if self.kind == "week":
            return f"Week {self.value[-2:]} of {self.value[:4]} ({self.first:%-d %b} to {self.last:%-d %b})"
        return self.first.strftime("%B %Y")

    def query(self) -> str:
        return f"{self.param}={self.value}"

    def shifted(self, n: int) -> Period:
        if self.kind == "day":
            return day(self.first + dt.timedelta(days=n))
        if self.kind == "week":
            return week_of(self.first + dt.timedelta(weeks=n))
        y, m = divmod(self.first.year * 12 + self.first.month - 1 + n, 12)
        return month(y, m + 1)

    def contains(self, d: dt.date) -> bool:
        return self.first <= d <= self.last

    def around(self, d: dt.date) -> Period:
        """The period of this kind that holds `d`."""
        if self.kind == "day":
            return day(d)
        return week_of(d) if self.kind == "week" else month(d.year, d.month)

    def neighbours(
        self, before: dt.date | None, after: dt.date | None
    ) -> tuple[Period | None, Period | None]:
        """The previous and next periods worth a link: those holding the nearest listed days before
        and after this one (`None` where there is none), so the arrows skip empty days and weeks."""
        return (self.around(before) if before else None, self.around(after) if after else None)

    # The day, week and month holding this period's last day (for the Day/Week/Month tabs).
    @property
    def day_view(self) -> Period:
        return day(min(self.last, dt.date.today()) if self.kind != "day" else self.first)

    @property
    def week_view(self) -> Period:
        return week_of(self.first if self.kind == "day" else self.last)

    @property
    def month_view(self) -> Period:
        d = self.first if self.kind == "day" else self.last
        return month(d.year, d.month)


def day(d: dt.date) -> Period:
    return Period("day", d, d)


def week_of(d: dt.date) -> Period:
    monday = d - dt.timedelta(days=d.weekday())
    return Period("week", monday, monday + dt.timedelta(days=6))


def month(y: int, m: int) -> Period:
    return Period("month", dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1]))


_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse(date: str | None = None, week: str | None = None, month_: str | None = None) -> Period | None:
    """The period named by one of the parameters (None if none given); BadPeriod with a reason."""
    try:
        if date:
            d = dt.date.fromisoformat(date.strip())
            if not 1900 < d.year < 2200:
                raise BadPeriod(f"date out of range: {date[:40]!r}")
            return day(d)
        if week:
            m = _WEEK.match(week.strip())
            if not m:
                raise BadPeriod(f"week must look like 2025-W09, not {week[:40]!r}")
            d = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            if not 1900 < d.year < 2200:
                raise BadPeriod(f"week out of range: {week[:40]!r}")
            return week_of(d)
        if month_:
            m = _MONTH.match(month_.strip())
            if not m or not 1 <= int(m[2]) <= 12 or not 1900 < int(m[1]) < 2200:
                raise BadPeriod(f"month must look like 2025-02, not {month_[:40]!r}")
            return month(int(m[1]), int(m[2]))
    except ValueError as e:
        if isinstance(e, BadPeriod):
            raise
        raise BadPeriod(f"not a valid date: {(date or week or '')[:40]!r}") from None
    return None
