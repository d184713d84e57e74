from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from paperfeed.conf import env
from paperfeed.core import leases
from paperfeed.core.commands import ReportCommand, http_url, iso_date
from paperfeed.core.progress import Progress
from paperfeed.core.text import counted
from paperfeed.papers.harvest import (
    ALL_SETS,
    Harvester,
    HarvestError,
    checkpointed_sets,
    record_announcements,
    state_name,
)
from paperfeed.papers.lookup import read_announcements
from paperfeed.papers.signals import papers_ingested
from paperfeed.papers.sources.atom import ApiError
from paperfeed.papers.sources.http import ArxivClient, ArxivError
from paperfeed.papers.sources.xml import MalformedXML

log = logging.getLogger(__name__)

EX_TEMPFAIL = 75  # sysexits: "try again later", what a second harvest gets while one runs
# Renewed in every page's transaction (its fence), and by a heartbeat through each wait and request
# (a Retry-After may ask for an hour); a holder on another machine that died, or is stuck past a
# step's bound, frees it this late.
LEASE_TTL = 900.0


class Command(ReportCommand):
    help = (
        "Harvest arXiv metadata over OAI-PMH (metadataPrefix arXiv), continuing where the last run "
        "stopped; --announcements also records announcement dates from arXiv's daily feed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from",
            dest="start",
            type=iso_date,
            metavar="DATE",
            help="first datestamp (YYYY-MM-DD); default: where the last run stopped",
        )
        parser.add_argument(
            "--until",
            type=iso_date,
            metavar="DATE",
            help="last datestamp (YYYY-MM-DD); default: none, as arXiv advises",
        )
        parser.add_argument(
            "--set",
            dest="set_spec",
            metavar="SET",
            help=f"OAI set, e.g. cs or physics:hep-th, or {ALL_SETS} for the whole archive; default: the "
            "set harvested before (the only one with a checkpoint), else the whole archive",
        )
        parser.add_argument(
            "--endpoint",
            metavar="URL",
            type=http_url,
            help=f"OAI-PMH base URL (default {env('PAPERFEED_OAI_ENDPOINT')})",
        )
        parser.add_argument(
            "--incremental", action="store_true", help="continue from the stored checkpoint (the default)"
        )
        parser.add_argument(
            "--announcements",
            nargs="+",
            metavar="CAT",
            help="also read the announcement feed of these categories (e.g. cs.CL cs.LG)",
        )
        parser.add_argument(
            "--no-oai", action="store_true", help="with --announcements: skip the OAI harvest"
        )

    def report(self, **options: Any) -> dict[str, Any]:
        # Refused before anything is sent or recorded: a window that ends before it starts would be
        # asked of arXiv and stored as a successful run. Usage mistakes, as argparse's own: status 2.
        start, until = options["start"], options["until"]
        if start and until and until < start:
            raise CommandError(f"--until {until} is before --from {start}: nothing to harvest", returncode=2)
        if start and start > timezone.now().date():
            # arXiv answers "no records" and the run looked done; a typo'd year, most likely.
            raise CommandError(
                f"--from {start} is after today ({timezone.now().date()}): nothing is there to harvest",
                returncode=2,
            )
        if options["incremental"] and start:
            raise CommandError("--incremental continues from the checkpoint: leave out --from", returncode=2)
        if options["no_oai"] and not options["announcements"]:
            raise CommandError(
                "--no-oai skips the OAI harvest: name the --announcements CAT… to read instead", returncode=2
            )
        if not options["no_oai"]:
            options["set_spec"] = self._feed_set(options["endpoint"], options["set_spec"])
        # One harvest of a feed (endpoint and set) at a time, across machines sharing the database: two
        # would write the same pages twice. Different sets may run together; they share the limiter.
        lease = f"harvest:{state_name(options['endpoint'], options['set_spec'])}"
        held = leases.try_acquire(lease, LEASE_TTL)
        if held is None:
            raise CommandError(
                f"another harvest is already running{_held_by(lease)}; try again later",
                returncode=EX_TEMPFAIL,
            )
        beat = leases.Heartbeat(held)
        try:
            beat.start()
            return self._harvest(held, beat, **options)
        except leases.LeaseLost:
            raise CommandError(
                "this harvest's lease expired and another run took over; stopped at the last whole page"
            ) from None
        finally:
            beat.stop()  # before the release: no renewal of a lease this run let go
            held.release()

    def _harvest(self, held: leases.Held, beat: leases.Heartbeat, **options: Any) -> dict[str, Any]:
        start, until = options["start"], options["until"]
        # The heartbeat keeps the lease through each wait and request, for as long as it may last.
        client = ArxivClient(keep=beat.working)
        result: dict[str, Any] = {}
        # The log line reads "harvest: 6 page(s) read=…", as the summary counts pages.
        with Progress("harvest", unit="page(s)") as bar:

            def fence() -> None:
                # Inside the page's transaction, before it commits: a lease taken over meanwhile
                # (LeaseLost) rolls the page and its checkpoint back, so a harvest suspended past
                # its lease while another ran writes nothing after it.
                try:
                    held.renew()
                except leases.LeaseExpired:
                    # The process was suspended (a laptop asleep), or stuck past a step's bound, and
                    # no other harvest took the lease meanwhile (one that had would hold it, or have
                    # released it: LeaseLost), so nothing was written under it since our last page:
                    # take it again, heartbeat included, and store the page.
                    beat.resume()
                    log.warning("the harvest's lease lapsed between two pages, and nobody took it: resumed")

            def on_page(c: Counter[str]) -> None:
                bar.update(1, **_short(c))

            if not options["no_oai"]:
                harvester = Harvester(
                    options["endpoint"],
                    options["set_spec"],
                    client,
                    on_page=on_page,
                    fence=fence,
                )
                try:
                    result = harvester.run(start, until)
                except HarvestError as e:
                    raise CommandError(
                        f"harvest failed: {e}; the checkpoint stays at the last complete page "
                        f"({harvester.counts['pages']} page(s) stored this run)"
                    ) from None
            if options["announcements"]:
                try:
                    entries = read_announcements(options["announcements"], client)
                except (ArxivError, ApiError, MalformedXML, ValueError) as e:
                    raise CommandError(f"announcement feed failed: {e}") from None
                counts = record_announcements(entries, fence)
                result["announcements"] = {
                    "categories": options["announcements"],
                    "entries": counts["read"],
                    "created": counts["created"],
                    "dated": counts["dated"],
                    "unchanged": counts["unchanged"],
                }
        result["requests"] = client.stats.requests
        result["retries"] = client.stats.retries
        if result.get("created") or result.get("updated") or result.get("deleted"):
            papers_ingested.send(
                sender=self.__class__, counts={k: result.get(k, 0) for k in ("created", "updated")}
            )
        return result

    def _feed_set(self, endpoint: str | None, set_spec: str | None) -> str | None:
        """The set to harvest. Named: that one (`all` is the whole archive). Not named: the one set
        this endpoint has a checkpoint for, so that a bare `paperfeed harvest` (the daily timer)
        continues what `--set cs` started instead of starting over on all of arXiv."""
        if set_spec is not None:
            return None if set_spec in (ALL_SETS, "*") else set_spec
        known = checkpointed_sets(endpoint)
        if not known:
            return None
        if len(known) > 1:
            names = ", ".join(ALL_SETS if s is None else s for s in known)
            raise CommandError(
                f"checkpoints exist for several sets ({names}): say which to continue with --set "
                f"(`--set {ALL_SETS}` is the whole archive)"
            )
        if known[0] is not None:
            log.info("continuing the harvest of set %s (the only set with a checkpoint)", known[0])
        return known[0]

    def render(self, result: dict[str, Any]) -> str:
        lines = []
        if "pages" in result:
            lines.append(
                f"{counted(result['pages'], 'page')}, {counted(result['read'], 'record')}: "
                f"created {result['created']}, "
                f"updated {result['updated']}, unchanged {result['unchanged']}, deleted {result['deleted']} "
                f"({counted(result['requests'], 'request')}, {result['retries']} retried)"
            )
        if "announcements" in result:
            a = result["announcements"]
            lines.append(
                f"announcements: {counted(a['entries'], 'entry', 'entries')}, {a['dated']} dated, "
                f"{counted(a['created'], 'new paper')}"
            )
        return "\n".join(lines)


def _short(c: Counter[str]) -> dict[str, int]:
    return {k: c[k] for k in ("read", "created", "updated", "deleted")}


def _held_by(lease: str) -> str:
    """Which process holds the lease, for the operator who wonders whether it is stuck or a timer's."""
    from paperfeed.core.models import Lease

    holder = Lease.objects.filter(name=lease).values_list("holder", flat=True).first() or ""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    return f" (process {pid} on {host})" if host and pid else ""
