from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand, add_categories, add_limit, list_item, terminal_width
from paperfeed.papers import tex
from paperfeed.papers.arxiv_ids import arxiv_id_argument
from paperfeed.search.query import InvalidFilter
from paperfeed.search.services import MAX_LIMIT, known_categories, similar


class Command(ReportCommand):
    help = "Papers nearest to one paper, or to several (their mean embedding)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "ids", nargs="+", metavar="ID", type=arxiv_id_argument, help="arXiv id(s) or URL(s)"
        )
        add_limit(parser, 10, MAX_LIMIT, "papers")
        add_categories(parser, "only papers")

    def report(self, **options: Any) -> dict[str, Any]:
        ids = [i.id for i in options["ids"]]
        # As search does: a code no paper has would find nothing and look like "nothing similar".
        try:
            categories = known_categories(options["category"])
        except InvalidFilter as e:  # a usage mistake, as search's
            raise CommandError(str(e), returncode=2) from None
        res = similar(ids, limit=options["limit"], category=categories)
        if res.message == "no such paper":
            named, them = " ".join(ids), "it" if len(ids) == 1 else "them"
            # The command to run, as `show` and `cite` give it.
            raise CommandError(f"not stored: {named} (paperfeed fetch {named} looks {them} up on arXiv)")
        return res.as_json()

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        if result["error"]:
            raise CommandError(result["error"])

    def render(self, result: dict[str, Any]) -> str:
        if result["error"]:  # said once, as the failure's reason
            return ""
        lines = [result["message"]] if result["message"] else []
        width = terminal_width()
        lines += [
            list_item(
                i, f"{h['id']}  {tex.plain(h['title'])}", f"similarity {h['score']:.3f}", width, beside=True
            )
            for i, h in enumerate(result["results"], 1)
        ]
        return "\n".join(lines)
