from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand, add_limit, list_item, terminal_width
from paperfeed.papers import tex
from paperfeed.recs import services


class Command(ReportCommand):
    help = "A user's recommendations ('for you'), each with its reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="username or e-mail address")
        add_limit(parser, 20, services.MAX_LIMIT, "papers")

    def report(self, **options: Any) -> dict[str, Any]:
        who = options["user"]
        user = get_user_model().objects.named(who).first()
        if user is None:
            raise CommandError(f"no user {who!r}")
        sig = services.signals_of(user.pk)
        recs = services.recommend(user, limit=options["limit"], signals=sig)
        acted = not sig.empty()
        # Why a list is empty, for the words only (the JSON stays {user, results}): one who follows
        # or liked things was told they had done neither.
        self.why_none = (
            "nothing new matches their votes, saves and follows" if acted else "no votes, saves or follows"
        )
        return {"user": user.get_username(), "results": [r.as_json() for r in recs]}

    def render(self, result: dict[str, Any]) -> str:
        if not result["results"]:
            return f"nothing to recommend to {result['user']} yet ({self.why_none})"
        width = terminal_width()
        return "\n".join(
            # No KaTeX in a terminal: plain characters, as a mail has them (a reason quotes a title so).
            list_item(i, f"{r['id']}  {tex.plain(r['title'])}", r["reason"], width)
            for i, r in enumerate(result["results"], 1)
        )
