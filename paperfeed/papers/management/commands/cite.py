from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand
from paperfeed.papers import citations
from paperfeed.papers.arxiv_ids import arxiv_id_argument
from paperfeed.papers.models import Paper


class Command(ReportCommand):
    help = "Print how to cite stored papers: BibTeX (default), RIS or CSL-JSON, one document for all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="ID", type=arxiv_id_argument, help="arXiv ids or URLs")
        parser.add_argument(
            "--format", choices=list(citations.FORMATS), default="bibtex", help="the format (default: bibtex)"
        )

    def report(self, **options: Any) -> dict[str, Any]:
        ids = list(dict.fromkeys(ident.id for ident in options["ids"]))
        found = {
            p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=ids).select_related("primary_category")
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise CommandError(
                f"not stored: {', '.join(missing[:10])}{' …' if len(missing) > 10 else ''} "
                f"(paperfeed fetch {missing[0]} looks it up on arXiv)"
            )
        papers = [found[i] for i in ids]
        return {
            "format": options["format"],
            "ids": ids,
            "keys": citations.citation_keys(papers),
            "citation": citations.export(papers, options["format"]),
        }

    def render(self, result: dict[str, Any]) -> str:
        return str(result["citation"]).rstrip("\n")
