from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from paperfeed.core.commands import ReportCommand
from paperfeed.search.indexing import Indexer


class Command(ReportCommand):
    help = (
        "Bring the keyword index, stored embeddings and vector index up to date (new and changed papers); "
        "a keyword index of another layout (after an upgrade) is built again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keyword-only", action="store_true", help="only the keyword index (seconds, not minutes)"
        )

    def report(self, **options: Any) -> dict[str, Any]:
        return Indexer().run(semantic=not options["keyword_only"])

    def render(self, result: dict[str, Any]) -> str:
        lines = []
        if kw := result.get("keyword"):
            # Why a run read every paper again: a stale layout after an upgrade, or another database.
            rebuilt = f"rebuilt ({kw['reason']}): " if kw.get("reason") else ""
            lines.append(
                f"keyword: {rebuilt}{kw['indexed']} indexed, {kw['removed']} removed, "
                f"{kw['documents']} in the index ({kw['seconds']} s)"
            )
        if em := result.get("embeddings"):
            lines.append(
                f"embeddings: {em['embedded']} computed, {em['unchanged']} unchanged ({em['seconds']} s)"
            )
        if ve := result.get("vectors"):
            lines.append(
                f"vectors: {ve['added']} added, {ve['removed']} removed, "
                f"{ve['vectors']} in the index ({ve['seconds']} s)"
            )
        lines.append(f"done in {result['seconds']} s")
        return "\n".join(lines)
