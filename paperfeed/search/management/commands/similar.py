from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand
from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.search.services import MAX_LIMIT, similar


class Command(ReportCommand):
    help = "Papers nearest to one paper, or to several (their mean embedding)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="ID", help="arXiv id(s)")
        parser.add_argument("--limit", type=int, default=10)
        parser.add_argument("--category")

    def report(self, **options: Any) -> dict[str, Any]:
        # As `paperfeed recommend`: a limit out of range is an error, not silently read as another.
        if not 1 <= options["limit"] <= MAX_LIMIT:
            raise CommandError(f"--limit must be between 1 and {MAX_LIMIT}")
        for text in options["ids"]:
            try:
                parse_arxiv_id(text)
            except InvalidArxivId as e:
                raise CommandError(str(e)) from None
        res = similar(options["ids"], limit=options["limit"], category=options["category"])
        if res.message == "no such paper":
            raise CommandError(f"not stored: {' '.join(options['ids'])}")
        return res.as_json()

    def render(self, result: dict[str, Any]) -> str:
        lines = [result["message"]] if result["message"] else []
        lines += [
            f"{i:3}. {h['id']}  {h['title']}  [{h['score']:.3f}]" for i, h in enumerate(result["results"], 1)
        ]
        return "\n".join(lines)
