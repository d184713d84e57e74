from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand, add_check, add_limit
from paperfeed.core.text import counted
from paperfeed.digests import bounces, services
from paperfeed.digests.models import Delivery, Digest, Frequency
from paperfeed.feed.periods import period_day_argument


def _period_begun(action: str) -> Callable[[argparse.Namespace], None]:
    """A --period yet to begin (or a weekend day for daily digests) is a mistake in the arguments,
    refused before anything is composed (or, for `resume`, looked for: no such digest can exist yet);
    whether it has begun depends on --frequency (a later day of this week names this week's digest,
    which has)."""

    def check(args: argparse.Namespace) -> None:
        if args.period is None:
            return
        try:
            services.plan(args.frequency, args.period, services.current_time())
        except services.BadPeriod as e:
            why = str(e).removesuffix("; nothing was sent or recorded")
            if action == "resume":
                why += "; there is nothing to resume"
            raise argparse.ArgumentTypeError(f"--period: {why}") from None

    return check


class Command(ReportCommand):
    help = "Email digests: send what is due (or a named period), read bounces, show status, resume."
    json_verbatim = ("complaintRates",)  # keyed by digest ("weekly digest of 2026-11-30")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser(
            "send", help="send the digests due now, or those of --period; safe to run twice"
        )
        send.add_argument(
            "--frequency", choices=[f.value for f in Frequency], help="only this kind (default: both)"
        )
        send.add_argument(
            "--period",
            type=period_day_argument,
            metavar="DATE",
            help="YYYY-MM-DD: the digest of that day (daily) or week (weekly); a weekend day names only its"
            " week's; not a period yet to begin",
        )
        add_check(send, _period_begun("send"))
        send.add_argument("--dry-run", action="store_true", help="compose and count; send and record nothing")
        send.add_argument(
            "--all-recipients",
            action="store_true",
            help=f"with --dry-run: list every recipient (default: the first {services.DRY_RUN_SHOWN} of each"
            " digest, and how many more)",
        )
        bounce = sub.add_parser("bounces", help="read DSN/ARF reports and mailto unsubscribes")
        bounce.add_argument("paths", nargs="+", help="mbox files, maildirs, .eml files or folders of them")
        status = sub.add_parser("status", help="recent digests and their counts")
        add_limit(status, 10, None, "digests, newest first")
        resume = sub.add_parser("resume", help="lift a pause or a complaint hold")
        resume.add_argument(
            "--frequency", choices=[f.value for f in Frequency], help="only this kind (default: both)"
        )
        resume.add_argument(
            "--period",
            type=period_day_argument,
            metavar="DATE",
            help="YYYY-MM-DD: only that period's (default: all); not a period yet to begin",
        )
        add_check(resume, _period_begun("resume"))
        for p in (send, bounce, status, resume):
            p.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def report(self, **options: Any) -> dict[str, Any]:
        action = options["action"]
        if action == "send":
            period = options["period"]
            if options["all_recipients"] and not options["dry_run"]:
                raise CommandError(
                    "--all-recipients lists a dry run's recipients: add --dry-run", returncode=2
                )
            shown = None if options["all_recipients"] else services.DRY_RUN_SHOWN
            return services.send(
                options["frequency"], period, dry_run=options["dry_run"], shown=shown
            ).as_json()
        if action == "bounces":
            try:
                return bounces.as_json(bounces.intake([Path(p) for p in options["paths"]]))
            except FileNotFoundError as e:
                raise CommandError(str(e)) from None
        if action == "resume":
            if options["period"] is None:
                return {"resumed": services.resume(options["frequency"])}
            # The digests the date names as `send --period` reads it: a Wednesday names that day's
            # daily digest and its week's weekly one (stored under the Monday).
            named = services.plan(options["frequency"], options["period"], services.current_time())
            return {"resumed": sum(services.resume(f, p) for f, p, _ in named.todo)}
        rows = []
        for d in Digest.objects.order_by("-period", "frequency")[: options["limit"]]:
            counts = {s: Delivery.objects.filter(digest=d, status=s).count() for s in Delivery.Status.values}
            rows.append(
                {
                    "frequency": d.frequency,
                    "period": d.period.isoformat(),
                    "status": d.status,
                    "held_for_complaints": d.held_for_complaints,
                    "reason": d.pause_reason,
                    **counts,
                }
            )
        return {"digests": rows}

    def render(self, result: dict[str, Any]) -> str:
        if "digests" in result and "dry_run" not in result:
            return (
                "\n".join(
                    f"{d['frequency']} {d['period']}: {d['status']} sent={d['sent']} failed={d['failed']} "
                    f"retry={d['retry']} empty={d['empty']} {d['reason']}"
                    for d in result["digests"]
                )
                or "no digests yet"
            )
        if "not_reports" in result:  # bounces
            lines = [super().render(result)]
            lines += [f"skipped {u}" for u in result["unreadable"]]
            if (more := result["skipped"] - len(result["unreadable"])) > 0:
                lines.append(f"… and {more} more skipped")
            return "\n".join(lines)
        if "this_run" not in result:
            return super().render(result)
        # The period's totals alone read as if this run had sent them: say first what it did.
        run = result["this_run"]
        lines = [
            f"dry run: would send {result['would_send']}"
            if result["dry_run"]
            else f"this run: sent={run['sent']} failed={run['failed']} empty={run['empty']} "
            f"skipped={run['skipped']} resent={result['resent']}; complete={result['complete']}"
        ]
        lines += [f"{k}: {result[k]}" for k in ("busy", "held") if result[k]]
        lines += [f"note: {n}" for n in result.get("notes", [])]
        for d in result.get("digests", []):
            if result.get("dry_run"):
                lines.append(
                    f"  {d['frequency']} {d['period']}: dry run, would send {d['would_send']} "
                    f"(empty, not sent: {d['empty']})"
                )
                lines.extend(
                    f"    {r['email']}: {counted(r['papers'], 'paper')}{' (again)' if r.get('again') else ''}"
                    for r in d["recipients"]
                )
                if d["recipients_omitted"]:
                    lines.append(f"    … and {d['recipients_omitted']} more (--all-recipients lists them)")
                continue
            run = d["this_run"]
            lines.append(
                f"  {d['frequency']} {d['period']}: {d['status']}; this run sent={run['sent']} "
                f"failed={run['failed']} empty={run['empty']} skipped={run['skipped']}; period totals "
                f"eligible={d['eligible']} sent={d['sent']} failed={d['failed']} empty={d['empty']} "
                f"complete={d['complete']}"
            )
            lines.extend(f"  ALERT {a}" for a in d.get("alerts", []))
        lines.extend(f"ALERT {a}" for a in result.get("alerts", []))
        return "\n".join(lines)

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        if options["action"] == "bounces" and result["skipped"] and not result["read"]:
            # A mailbox with some unreadable entries is read (the report names them); a run that
            # found no mail at all was given the wrong file, and a script must see that.
            first = result["unreadable"][0]
            if result["skipped"] == 1:
                raise CommandError(f"not a mail message paperfeed can read: {first}; nothing was recorded")
            raise CommandError(
                f"none of the {result['skipped']} files or mailbox entries is a mail message paperfeed "
                f"can read ({first}; …); nothing was recorded"
            )
        if options["action"] == "send" and result.get("unreachable"):
            raise CommandError(result["unreachable"])
        if options["action"] == "send" and result.get("lost"):
            raise CommandError(result["lost"])
        if options["action"] == "send" and result.get("paused"):
            raise CommandError(
                "a digest run paused: " + "; ".join(a for alerts in result["paused"] for a in alerts)
            )
