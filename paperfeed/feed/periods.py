"""The periods a feed is read by: a day (?date=YYYY-MM-DD), an ISO week (?week=YYYY-Www) or a
month (?month=YYYY-MM), with their neighbours for previous/next navigation.

One rule for every list read by period (pages, feeds, API): a period that starts after today, by
the site's clock (timezone.localdate()), is refused with a reason (FuturePeriod), as a malformed one
is; the current week or month, begun but not over, is read like any other. Two periods at once
(`?date=…&week=…`) are refused too, naming both: neither is silently preferred."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone

from paperfeed.core.middleware import BadParameter

FIRST_YEAR = 1901  # before any preprint server; the years between are merely empty


class BadPeriod(ValueError):
    """A period parameter that names no period; the message is written for the visitor."""


class FuturePeriod(BadPeriod):
    """A real period that has not begun yet: nothing can be listed there."""


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

    @property
    def over(self) -> bool:
        """Whether its last day has passed: an empty list then says "nobody did", not "not yet"."""
        return self.last < timezone.localdate()

    # The day, week and month holding this period's last day so far (for the Day/Week/Month tabs):
    # the current week's Sunday or month's last day may lie ahead, and a tab there would be a 400.
    @property
    def _tab_day(self) -> dt.date:
        return self.first if self.kind == "day" else min(self.last, timezone.localdate())

    @property
    def day_view(self) -> Period:
        return day(self._tab_day)

    @property
    def week_view(self) -> Period:
        return week_of(self._tab_day)

    @property
    def month_view(self) -> Period:
        d = self._tab_day
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


def _weeks_in(year: int) -> int:
    return dt.date(year, 12, 28).isocalendar()[1]  # 28 December is always in the year's last week


def _named(date: str | None, week: str | None, month_: str | None) -> Period | None:
    given = [name for name, value in (("date", date), ("week", week), ("month", month_)) if value]
    if len(given) > 1:
        both = " and ".join(given) if len(given) == 2 else "date, week and month"
        raise BadPeriod(f"name one period: {both} were given together (keep one of them)")
    if date:
        try:
            return day(dt.date.fromisoformat(date.strip()))
        except ValueError:
            raise BadPeriod(f"not a valid date: {date[:40]!r} (dates look like 2025-02-28)") from None
    if week:
        m = _WEEK.match(week.strip())
        if not m:
            raise BadPeriod(f"week must look like 2025-W09, not {week[:40]!r}")
        y, w = int(m[1]), int(m[2])
        if not 1 <= w <= _weeks_in(max(y, 1)):
            raise BadPeriod(f"{y} has no week {w}: its ISO weeks are 1 to {_weeks_in(max(y, 1))}")
        return week_of(dt.date.fromisocalendar(y, w, 1))
    if month_:
        m = _MONTH.match(month_.strip())
        if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) == 0:
            raise BadPeriod(f"month must look like 2025-02, not {month_[:40]!r}")
        return month(int(m[1]), int(m[2]))
    return None


def parse(
    date: str | None = None,
    week: str | None = None,
    month_: str | None = None,
    *,
    today: dt.date | None = None,
) -> Period | None:
    """The period named by one of the parameters (None if none given); BadPeriod with a reason,
    FuturePeriod for one that starts after `today` (the site's today by default)."""
    try:
        found = _named(date, week, month_)
    except (OverflowError, ValueError) as e:  # the first or last day of year 1 or 9999's last week
        if isinstance(e, BadPeriod):
            raise
        raise BadPeriod(f"out of range: {(date or week or month_ or '')[:40]!r}") from None
    if found is None:
        return None
    if found.first.year < FIRST_YEAR:
        raise BadPeriod(f"out of range: {found.value!r} is before {FIRST_YEAR}, long before any paper")
    today = today or timezone.localdate()
    if found.first > today:
        begun = "happened" if found.kind == "day" else "begun"
        raise FuturePeriod(f"{found.label} hasn't {begun} yet: today is {today:%-d %B %Y}.")
    return found


def day_argument(text: str) -> dt.date:
    """A command line's day of the feed (`submit --date`): YYYY-MM-DD, by the rule of the pages,
    so that nothing is put on a list nobody can open (tomorrow's, or one of the year 1900)."""
    return _day_argument(text, today=None)


def period_day_argument(text: str) -> dt.date:
    """A command line's day naming a period that may lie ahead (`digest send --period`, whose
    command says itself when that period can be sent), but not before FIRST_YEAR."""
    return _day_argument(text, today=dt.date.max)


def _day_argument(text: str, today: dt.date | None) -> dt.date:
    import argparse

    from paperfeed.core.commands import iso_date

    named = iso_date(text)
    try:
        found = parse(date=named.isoformat(), today=today)
    except BadPeriod as e:
        raise argparse.ArgumentTypeError(str(e).removesuffix(".")) from None
    assert found is not None  # a date was given
    return found.first


def asked(request: HttpRequest) -> Period | None:
    """The period a page's or feed's ?date=, ?week= or ?month= names; a 400 that says why for one
    that names none or one in the future (with a link to the address without it: the latest)."""
    try:
        return parse(request.GET.get("date"), request.GET.get("week"), request.GET.get("month"))
    except FuturePeriod as e:
        raise BadParameter(str(e), link=(request.path, "See the latest instead")) from None
    except BadPeriod as e:
        raise BadParameter(str(e)) from None
