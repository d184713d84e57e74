"""Keeping up with arXiv over OAI-PMH: a resumable, incremental ListRecords harvest.

Each page's records and the checkpoint that covers them are committed in one transaction
(Ingestor.flush(checkpoint=…)), so a kill at any moment leaves the store and the checkpoint in step
and the next run picks up after the last whole page. A `fence` runs in that transaction before it
commits (the command's lease renewal): a harvest that lost its lease writes no page after the loss.
The checkpoint is kept per (endpoint, set) in HarvestState:

    {"next_from": "2026-07-01",                  # where the next incremental run starts
     "run": {"from", "until", "token", "resume_from", "response_date", "pages"}}  # a run in progress

A finished run sets `next_from` to the day of the server's first responseDate (or `until`), so the
next run overlaps the last one by a day, as arXiv's day-granular datestamps require, and sends no
`until`. A badResumptionToken (tokens expire daily) restarts the window from the last committed
datestamp: that day's pages are fetched again and upserted, nothing is skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from paperfeed.conf import env
from paperfeed.core.failpoints import failpoint
from paperfeed.papers.models import Paper, PaperChange
from paperfeed.papers.services import Ingestor, state_get, state_put
from paperfeed.papers.sources.http import ArxivClient, ArxivError
from paperfeed.papers.sources.oai import OAIError, Page, parse_page

log = logging.getLogger(__name__)

TOKEN_REPEATS = 2  # the same resumption token coming back more often than this is a loop
MAX_RESTARTS = 5  # badResumptionToken restarts per run


class HarvestError(Exception):
    pass


@dataclass
class Window:
    start: dt.date | None
    until: dt.date | None


ALL_SETS = "all"  # what `--set` calls the whole archive (no set sent); no arXiv set has that name


def state_name(endpoint: str | None, set_spec: str | None) -> str:
    """The feed's name (checkpoint, lease): the endpoint, arXiv's by default, and the set."""
    return f"oai:{endpoint or env('PAPERFEED_OAI_ENDPOINT')}:{set_spec or '*'}"


def checkpointed_sets(endpoint: str | None) -> list[str | None]:
    """The sets harvested from this endpoint before (None: the whole archive), sorted by name."""
    from paperfeed.papers.models import HarvestState

    prefix = state_name(endpoint, None)[: -len("*")]
    names = HarvestState.objects.filter(name__startswith=prefix).values_list("name", flat=True)
    sets = {n[len(prefix) :] for n in names if n.startswith(prefix)}  # LIKE ignores case on SQLite
    return [None if s == "*" else s for s in sorted(sets)]


class Harvester:
    def __init__(
        self,
        endpoint: str | None = None,
        set_spec: str | None = None,
        client: ArxivClient | None = None,
        on_page: Callable[[Counter[str]], None] | None = None,
        fence: Callable[[], None] | None = None,
    ) -> None:
        self.endpoint = endpoint or env("PAPERFEED_OAI_ENDPOINT")
        self.set_spec = set_spec or None
        self.client = client or ArxivClient()
        self.name = state_name(self.endpoint, self.set_spec)
        self.counts: Counter[str] = Counter()
        self.on_page = on_page
        # Called inside each page's transaction, just before it commits: raising rolls the page and
        # its checkpoint back (the command's lease renewal, so a run that lost it writes nothing more).
        self.fence = fence
        self.ingestor = Ingestor("oai", batch_size=1 << 30)  # flushed once per page, never in between
        self.first_request: dict[str, str] | None = None

    # --- the run ---------------------------------------------------------------------------------

    def run(self, start: dt.date | None = None, until: dt.date | None = None) -> dict[str, Any]:
        state = state_get(self.name)
        run: dict[str, Any] | None = state.get("run")
        explicit = start is not None
        if start is None:
            if run:
                start = dt.date.fromisoformat(run["from"])
                until = dt.date.fromisoformat(run["until"]) if run.get("until") else until
            elif state.get("next_from"):
                start = dt.date.fromisoformat(state["next_from"])
            else:
                # No history: the last day only. Backfills come from a snapshot (`paperfeed import`).
                start = timezone.now().date() - dt.timedelta(days=1)
        if until is not None and until < start:
            raise HarvestError(f"--until {until} is before the day this harvest continues from ({start})")
        same_run = run is not None and run["from"] == start.isoformat() and run.get("until") == _iso(until)
        if explicit and not same_run:
            run = None
        token: str | None = run.get("token") if run else None
        resume_from = dt.date.fromisoformat(run["resume_from"]) if run and run.get("resume_from") else None
        response_date: str | None = run.get("response_date") if run else None
        self.counts["pages"] = 0
        window = {"from": start.isoformat(), "until": _iso(until)}

        seen_tokens: Counter[str] = Counter()
        restarts = 0
        while True:
            if token:
                params = {"verb": "ListRecords", "resumptionToken": token}
            else:
                params = {
                    "verb": "ListRecords",
                    "metadataPrefix": "arXiv",
                    "from": (resume_from or start).isoformat(),
                }
                if until:
                    params["until"] = until.isoformat()
                if self.set_spec:
                    params["set"] = self.set_spec
            if self.first_request is None:
                self.first_request = dict(params)
            try:
                page = self._fetch(params)
            except OAIError as e:
                if e.code == "noRecordsMatch":
                    page = Page(response_date=e.response_date)
                elif e.code == "badResumptionToken" and token and restarts < MAX_RESTARTS:
                    restarts += 1
                    self.counts["restarts"] += 1
                    log.warning("resumption token refused (%s); restarting from %s", e, resume_from or start)
                    token = None
                    continue
                else:
                    raise HarvestError(str(e)) from None

            if response_date is None and page.response_date is not None:
                response_date = page.response_date.isoformat()
            next_token = page.token or None
            if next_token:
                seen_tokens[next_token] += 1
                if seen_tokens[next_token] > TOKEN_REPEATS:
                    raise HarvestError(f"the server keeps sending the same resumption token {next_token!r}")
            stamps = [i.datestamp for i in page.items]
            if stamps:
                # A datestamp in the future never moves the resume point past the server's day, or
                # past ours when a page lacks its (required) responseDate.
                newest = min(
                    max(stamps),
                    page.response_date.date() if page.response_date is not None else timezone.now().date(),
                )
                resume_from = max(resume_from, newest) if resume_from else newest
            self._store(page)
            if next_token:
                new_state = {
                    **({"next_from": state["next_from"]} if state.get("next_from") else {}),
                    "run": {
                        **window,
                        "token": next_token,
                        "resume_from": _iso(resume_from),
                        "response_date": response_date,
                    },
                }
            else:
                day = (
                    dt.datetime.fromisoformat(response_date).date()
                    if response_date
                    else timezone.now().date()
                )
                if until:
                    day = min(day, until)
                if state.get("next_from") and state["next_from"] > day.isoformat():
                    # Re-harvesting an old window does not move the incremental position back.
                    day = dt.date.fromisoformat(state["next_from"])
                new_state = {"next_from": day.isoformat()}
            batch = self.ingestor.flush(checkpoint=lambda s=new_state: self._checkpoint(s))  # type: ignore[misc]
            self.counts["pages"] += 1
            self.counts.update(batch)
            failpoint("harvest.after_page")
            if self.on_page:
                self.on_page(self.counts)
            if not next_token:
                break
            token = next_token
        return self.summary()

    def summary(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "set": self.set_spec,
            "pages": self.counts["pages"],
            "read": self.counts["read"],
            "created": self.counts["created"],
            "updated": self.counts["updated"],
            "unchanged": self.counts["unchanged"],
            "deleted": self.counts["deleted"],
            "skipped": self.counts["skipped"],
            "restarts": self.counts["restarts"],
            "requests": self.client.stats.requests,
            "retries": self.client.stats.retries,
            "first_request": self.first_request,
        }

    # --- one page --------------------------------------------------------------------------------

    def _checkpoint(self, state: dict[str, Any]) -> None:
        """Inside the page's transaction, after its records: the fence, then the checkpoint."""
        if self.fence:
            self.fence()
        state_put(self.name, state)

    def _fetch(self, params: dict[str, str]) -> Page:
        """The page for `params` (asked for again if it comes back malformed: a proxy's error page,
        a connection cut mid-body); raises HarvestError when it never parses."""
        try:
            return self.client.get_parsed(self.endpoint, parse_page, params)
        except ArxivError as e:
            raise HarvestError(str(e)) from None

    def _store(self, page: Page) -> None:
        for item in page.items:
            self.counts["read"] += 1
            if item.deleted:
                self.ingestor.delete(item.arxiv_id)
            elif item.record is not None:
                self.ingestor.add(item.record)
            else:
                self.counts["skipped"] += 1
                log.warning("skipping %s: %s", item.identifier, item.error)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# --- announcements ----------------------------------------------------------------------------------


ESTIMATE_SLACK_DAYS = 4  # a submission after the 14:00 ET cut-off, then a weekend or holiday


def record_announcements(entries: list[Any], fence: Callable[[], None] | None = None) -> Counter[str]:
    """Store each announced paper's first-announcement date; papers not stored yet are created from
    the feed's own metadata (OAI or the API fills in the rest later). One transaction, which `fence`
    ends as a page's does (a lease lost meanwhile rolls it back)."""
    from paperfeed.papers.sources.atom import Entry

    counts: Counter[str] = Counter()
    items: list[Entry] = list(entries)
    ids = [e.record.arxiv_id for e in items]
    with transaction.atomic():
        stored = dict(Paper.objects.filter(arxiv_id__in=ids).values_list("arxiv_id", "announced"))
        ingestor = Ingestor("rss", batch_size=1 << 30)
        now = timezone.now()
        for e in items:
            aid = e.record.arxiv_id
            counts["read"] += 1
            if aid not in stored:
                ingestor.add(e.record)
                continue
            first = e.first_announced
            if first is None:
                counts["unchanged"] += 1
                continue
            old = stored[aid]
            # The feed is exact: an earlier day always wins, and a later one within a few days corrects
            # an OAI estimate (which assumes the earliest cut-off); a v1 cross-listed weeks later does not.
            if old is None or first < old or (old < first and (first - old).days <= ESTIMATE_SLACK_DAYS):
                pk = Paper.objects.filter(arxiv_id=aid).values_list("pk", flat=True).first()
                if pk is not None:
                    Paper.objects.filter(pk=pk).update(announced=first, modified_at=now)
                    PaperChange.objects.create(paper_id=pk)
                    counts["dated"] += 1
            else:
                counts["unchanged"] += 1
        batch = ingestor.flush()
        if fence:
            fence()
    counts["created"] += batch["created"]
    return counts
