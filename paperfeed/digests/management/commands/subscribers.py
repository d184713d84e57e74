from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand, add_categories, bounded_int
from paperfeed.digests import addresses, services
from paperfeed.digests.models import Frequency, Subscriber


class Command(ReportCommand):
    action = ""
    help = (
        "Digest subscribers: bulk `add` (a list moving over), `list`, `remove` (unsubscribe), `suppress`"
        " (block all mail)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser(
            "add", help="add addresses (pending with a confirmation mail, unless --confirmed)"
        )
        add.add_argument(
            "emails",
            nargs="*",
            metavar="EMAIL",
            help="addresses; '-' or none: read them from stdin, one a line",
        )
        add.add_argument(
            "--frequency",
            choices=[f.value for f in Frequency],
            default=Frequency.DAILY,
            help="how often they get a digest (default: daily)",
        )
        add.add_argument("--hour", type=bounded_int(0, 23), metavar="0-23", help="send hour, UTC")
        add.add_argument(
            "--confirmed", action="store_true", help="they already opted in elsewhere: no confirmation"
        )
        add_categories(add, "follow papers")
        add.add_argument("--send-empty", action="store_true", help="send a digest even when it has no papers")
        add.add_argument(
            "--search", action="append", default=[], metavar="QUERY", help="a saved-search alert (repeatable)"
        )
        lst = sub.add_parser("list", help="every subscriber and their state")
        lst.add_argument(
            "--status",
            choices=[s.value for s in Subscriber.Status],
            help="only those in this state (default: all)",
        )
        remove = sub.add_parser("remove", help="unsubscribe addresses")
        block = sub.add_parser("suppress", help="stop all mail to addresses (a manual block list)")
        block.add_argument(
            "--reason", default="suppressed by an operator", help="kept with the block (default: %(default)s)"
        )
        for p in (remove, block):
            p.add_argument("emails", nargs="+", metavar="EMAIL", help="addresses, any case")
        for p in (add, lst, remove, block):
            p.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def report(self, **options: Any) -> dict[str, Any]:
        if options["action"] == "add":
            emails = options["emails"]
            if not emails or emails == ["-"]:
                if sys.stdin.isatty():
                    # Otherwise a bare `subscribers add` at a terminal sat silent, as if it hung.
                    sys.stderr.write(
                        "reading addresses from the terminal, one a line; Ctrl-D ends the list\n"
                    )
                    sys.stderr.flush()
                emails = [line for line in sys.stdin.read().splitlines() if line.strip()]
                if not emails:
                    # As `search --batch -` and `library import USER -`: the arguments were right,
                    # the input was not (known only once read), and nothing was done: status 1.
                    raise CommandError("no address in stdin: it is empty; nobody was added")
            prefs: dict[str, Any] = {"send_hour": options["hour"]} if options["hour"] is not None else {}
            if options["category"]:
                prefs["categories"] = options["category"]
            if options["send_empty"]:
                prefs["send_empty"] = True
            if options["search"]:
                prefs["searches"] = [" ".join(q.split()) for q in options["search"] if q.strip()]
                if problem := services.searches_problem(prefs["searches"]):  # as the settings page
                    why = problem[0].lower() + problem[1:].removesuffix(".")
                    raise CommandError(f"--search: {why}; nobody was added", returncode=2)
            try:
                added = services.add_subscribers(
                    emails, frequency=options["frequency"], confirmed=options["confirmed"], **prefs
                )
            except services.UnknownCategories as e:
                raise CommandError(f"--category: {e}; nobody was added", returncode=2) from None
            return {
                "created": added.created,
                "existing": added.existing,
                "invalid": len(added.errors),
                "errors": added.errors,
            }
        if options["action"] in ("remove", "suppress"):
            self.action = options["action"]
            changed, unchanged, unknown = 0, [], []
            for raw in options["emails"]:
                try:
                    sub = Subscriber.objects.get(email=addresses.normalise(raw))
                except (addresses.InvalidAddress, Subscriber.DoesNotExist):
                    unknown.append(raw)
                    continue
                if options["action"] == "remove":
                    done = services.unsubscribe_changed(sub)
                else:
                    done = services.suppress(sub, options["reason"])
                if done:
                    changed += 1
                else:
                    unchanged.append(sub.email)
            return {"changed": changed, "unchanged": unchanged, "unknown": unknown}
        qs = Subscriber.objects.order_by("pk")
        if options["status"]:
            qs = qs.filter(status=options["status"])
        fields = (
            "email",
            "status",
            "frequency",
            "send_hour",
            "suppressed_at",
            "suppressed_reason",
            "created_at",
        )
        rows = [dict(zip(fields, row, strict=True)) for row in qs.values_list(*fields)]
        for row in rows:  # ISO 8601, as every date in the JSON of the other commands
            for k in ("created_at", "suppressed_at"):
                row[k] = row[k] and row[k].isoformat()
        return {"subscribers": rows}

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        # Like `import`, a list with some bad lines is done when the good ones are in (the report
        # names the rest); a run that did nothing at all failed, and a script must see that.
        if options["action"] == "add" and not result["created"] + result["existing"]:
            raise CommandError(f"no address was added: {result['invalid']} refused")
        # Already unsubscribed (or suppressed) is found, and in the state asked for: not a failure.
        if options["action"] in ("remove", "suppress") and not result["changed"] + len(result["unchanged"]):
            raise CommandError(f"no subscriber has the address(es) {', '.join(result['unknown'])}")

    def render(self, result: dict[str, Any]) -> str:
        if "subscribers" in result:
            return "\n".join(
                f"{s['email']}\t{s['status']}\t{s['frequency']}\t{s['send_hour']:02d}:00"
                + (f"\tsuppressed: {s['suppressed_reason']}" if s["suppressed_at"] else "")
                for s in result["subscribers"]
            )
        text = super().render(result)
        already = (
            "unchanged (already unsubscribed)"
            if self.action == "remove"
            else "unchanged (already suppressed)"
        )
        return "\n".join(
            [
                text,
                *result.get("errors", []),
                *(f"{already}: {u}" for u in result.get("unchanged", [])),
                *(f"unknown: {u}" for u in result.get("unknown", [])),
            ]
        )
