from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand
from paperfeed.papers import tex
from paperfeed.papers.arxiv_ids import arxiv_id_argument
from paperfeed.papers.lookup import fetch
from paperfeed.papers.sources.atom import ApiError
from paperfeed.papers.sources.http import ArxivError
from paperfeed.papers.sources.xml import MalformedXML


class Command(ReportCommand):
    help = "Look papers up by arXiv id through the arXiv API and store them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "ids", nargs="+", metavar="ID", type=arxiv_id_argument, help="arXiv id(s) or URL(s)"
        )

    def report(self, **options: Any) -> dict[str, Any]:
        ids = [i.id for i in options["ids"]]
        try:
            papers, unknown, counts = fetch(ids)
        except (ArxivError, ApiError, MalformedXML) as e:
            raise CommandError(f"arXiv look-up failed: {e}") from None
        return {
            "fetched": sorted(papers),
            "unknown": unknown,
            "created": counts["created"],
            "updated": counts["updated"],
            "unchanged": counts["unchanged"],
            "papers": [papers[i].as_json() for i in ids if i in papers],
        }

    def render(self, result: dict[str, Any]) -> str:
        lines = [f"{p['id']}: {tex.plain(p['title'])}" for p in result["papers"]]
        if result["unknown"]:
            lines.append(f"unknown on arXiv: {', '.join(result['unknown'])}")
        return "\n".join(lines)

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        if result["unknown"]:
            raise CommandError(f"arXiv has no paper {', '.join(result['unknown'])}")
