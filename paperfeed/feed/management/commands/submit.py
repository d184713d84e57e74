from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.accounts.models import User
from paperfeed.core.commands import ReportCommand
from paperfeed.feed import services
from paperfeed.feed.periods import day_argument
from paperfeed.papers import tex
from paperfeed.papers.arxiv_ids import arxiv_id_argument


class Command(ReportCommand):
    help = (
        "Put a paper on the community feed (looked up on arXiv first if needed), as the submit button does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "id",
            metavar="ID",
            type=arxiv_id_argument,
            help="arXiv id or URL (2501.00001, arXiv:…, cs/0101001)",
        )
        parser.add_argument(
            "--by", metavar="USER", help="the submitting user: username or email, any case (default: nobody)"
        )
        parser.add_argument(
            "--date",
            metavar="DATE",
            type=day_argument,
            help="the day's list, YYYY-MM-DD, today or earlier (default: today, UTC)",
        )

    def report(self, **options: Any) -> dict[str, Any]:
        user = None
        if options["by"]:
            user = User.objects.named(options["by"]).first()
            if user is None:
                raise CommandError(f"no user {options['by']!r}")
        try:
            sub = services.submit(str(options["id"]), user, options["date"], limit=False)
        except services.FeedError as e:
            raise CommandError(str(e)) from None
        return {
            "id": sub.paper.arxiv_id,
            "title": sub.paper.title,
            "day": sub.day.isoformat(),
            "by": user.username if user else None,
        }

    def render(self, result: dict[str, Any]) -> str:
        return f"{result['id']} is on the list of {result['day']}: {tex.plain(result['title'])}"
