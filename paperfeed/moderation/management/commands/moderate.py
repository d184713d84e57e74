from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.accounts.models import User
from paperfeed.core.commands import ReportCommand, add_limit, bounded_int
from paperfeed.core.text import counted
from paperfeed.feed.models import Comment, Submission
from paperfeed.feed.services import FeedError
from paperfeed.moderation import services
from paperfeed.papers.arxiv_ids import arxiv_id_argument

COMMENT_ID = bounded_int(1, 10**18 - 1)  # what /report/comment/<n> takes: up to 18 digits


class Command(ReportCommand):
    help = (
        "Moderation: `reports` (the open reports, by item), `log`, `remove`/`restore` a paper's submission"
        " to the feed, `hide`/`unhide` a comment, `dismiss` the reports about either, `suspend`/`unsuspend`"
        " an account, `purge` a spammer (suspend and take down everything they posted, in one step) and"
        " `unpurge` (undo one purge). Every action is recorded in the moderation log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reports = sub.add_parser("reports", help="open reports, the most recently reported item first")
        add_limit(reports, 200, 10_000, "reported items, each with all its open reports")
        log = sub.add_parser("log", help="the moderation log, newest first")
        add_limit(log, 50, 10_000, "log entries")
        acting = []
        for name, what in (("remove", "take a paper off the feed"), ("restore", "put a removed paper back")):
            p = sub.add_parser(name, help=what)
            p.add_argument(
                "id", metavar="ID", type=arxiv_id_argument, help="arXiv id or URL of a submitted paper"
            )
            acting.append(p)
        for name, what in (("hide", "hide a comment"), ("unhide", "show a hidden comment again")):
            p = sub.add_parser(name, help=what)
            p.add_argument("comment", metavar="COMMENT", type=COMMENT_ID, help="the comment's number")
            acting.append(p)
        p = sub.add_parser("dismiss", help="close the open reports about a paper or a comment, nothing else")
        which = p.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "id", metavar="ID", nargs="?", type=arxiv_id_argument, help="arXiv id or URL of a submitted paper"
        )
        which.add_argument("--comment", metavar="N", type=COMMENT_ID, help="the comment's number instead")
        acting.append(p)
        for name, what in (("suspend", "suspend an account"), ("unsuspend", "lift a suspension")):
            p = sub.add_parser(name, help=what)
            p.add_argument("user", metavar="USER", help="username or email, any case")
            acting.append(p)
        purge = sub.add_parser(
            "purge",
            help="suspend an account, remove its submissions, hide its comments and close the reports"
            " about them, as one logged action",
        )
        purge.add_argument("user", metavar="USER", help="username or email, any case")
        purge.add_argument("--reason", required=True, help="why, for the log (required)")
        p = sub.add_parser(
            "unpurge",
            help="undo one purge: what it suspended, removed, hid and closed comes back",
        )
        p.add_argument(
            "purge",
            metavar="ACTION_ID",
            type=bounded_int(1, None),
            help="the purge's id, the number its `moderate log` line starts with",
        )
        acting.append(p)
        for p in acting:
            p.add_argument("--reason", default="", help="why, for the log")
        for p in (*acting, purge):
            p.add_argument(
                "--by",
                metavar="USER",
                help="the staff account acting, for the log (default: 'an operator (command line)')",
            )
        for p in (reports, log, *acting, purge):
            p.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def report(self, **options: Any) -> dict[str, Any]:
        action = options["action"]
        if action == "reports":
            items = services.queue(limit=options["limit"])
            totals = services.queue_totals()  # the whole queue, not only the --limit shown
            return {
                "open": totals["openReports"],
                "openItems": totals["openItems"],
                "items": services.queue_json(items),
            }
        if action == "log":
            return {
                "log": [
                    {
                        "id": a.pk,
                        "at": a.created_at.isoformat(),
                        "by": a.by,
                        "action": a.kind,
                        "target": a.target,
                        "reason": a.reason,
                        "reportsClosed": a.reports,
                        "sentence": a.sentence(),
                    }
                    for a in services.log(limit=options["limit"])
                ]
            }
        by = _user(options["by"]) if options["by"] else None
        try:
            if action == "dismiss":
                item = _comment(options["comment"]) if options["comment"] else _submission(str(options["id"]))
                n = services.dismiss(by, item, options["reason"])
                return {"action": action, "target": services.describe(item), "dismissed": n}
            if action == "purge":
                return services.purge_json(services.purge(by, _user(options["user"]), options["reason"]))
            if action == "unpurge":
                done = services.purge_action(options["purge"])
                if done is None:
                    raise CommandError(f"no purge with id {options['purge']} (see `moderate log`)")
                return services.purge_json(services.unpurge(by, done, options["reason"]))
            if action in ("hide", "unhide"):
                comment = _comment(options["comment"])
                services.hide_comment(by, comment, action == "hide", options["reason"])
                return {"action": action, "comment": comment.pk, "hidden": comment.hidden}
            if action in ("remove", "restore"):
                sub = _submission(str(options["id"]))
                act = services.remove_submission if action == "remove" else services.restore_submission
                act(by, sub, options["reason"])
                return {"action": action, "id": sub.paper.arxiv_id, "removed": sub.removed_at is not None}
            user = _user(options["user"])
            if action == "suspend":
                services.suspend(by, user, options["reason"])
            else:
                services.unsuspend(by, user, options["reason"])
            return {"action": action, "user": user.username, "suspended": user.is_suspended}
        except FeedError as e:
            raise CommandError(str(e)) from None

    def render(self, result: dict[str, Any]) -> str:
        if "items" in result:
            lines = [f"{counted(result['open'], 'open report')} about {counted(result['openItems'], 'item')}"]
            if len(result["items"]) < result["openItems"]:
                lines[0] += f"; the {len(result['items'])} most recently reported (--limit)"
            for it in result["items"]:
                lines.append(f"- {it['target']} (by {it['author'] or 'nobody'}):")
                lines += [
                    f"    {r['reason']} from {r['reporter']}: {r['text']}".rstrip(": ") for r in it["reports"]
                ]
            return "\n".join(lines)
        if "log" in result:
            if not result["log"]:
                return "no moderation actions yet"
            # The id first, as `unpurge ACTION_ID` takes it; right-aligned, so the times line up.
            width = max(len(str(e["id"])) for e in result["log"])
            return "\n".join(f"{e['id']:>{width}} {e['at']} {e['sentence']}" for e in result["log"])
        if "purge" in result:
            return f"action {result['purge']}: {result['sentence']}"
        if "dismissed" in result:
            n = result["dismissed"]
            return f"dismissed {n} report{'s' if n != 1 else ''} about the {result['target']}"
        if "comment" in result:
            return f"comment {result['comment']} is {'hidden' if result['hidden'] else 'shown'}"
        if "id" in result:
            return f"{result['id']} is {'removed from' if result['removed'] else 'back on'} the feed"
        return f"{result['user']} is {'suspended' if result['suspended'] else 'no longer suspended'}"


def _submission(arxiv_id: str) -> Submission:
    sub = services.submission_of(arxiv_id)
    if sub is None:
        raise CommandError(f"{arxiv_id} is not on the feed")
    return sub


def _comment(pk: int) -> Comment:
    comment = Comment.objects.select_related("paper", "author").filter(pk=pk).first()
    if comment is None:
        raise CommandError(f"no comment {pk}")
    return comment


def _user(name: str) -> User:
    user = User.objects.named(name).first()
    if user is None:
        raise CommandError(f"no user {name!r}")
    return user
