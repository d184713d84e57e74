from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import ReportCommand, terminal_width
from paperfeed.core.text import paragraphs
from paperfeed.papers import tex
from paperfeed.papers.arxiv_ids import ArxivId, arxiv_id_argument
from paperfeed.papers.models import Paper


class Command(ReportCommand):
    help = "Show one stored paper (--json: all its fields)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "id", metavar="ID", type=arxiv_id_argument, help="arXiv id or URL; a version (v2) is noted"
        )

    def report(self, **options: Any) -> dict[str, Any]:
        ident: ArxivId = options["id"]
        paper = Paper.objects.filter(arxiv_id=ident.id).select_related("primary_category").first()
        if paper is None:
            raise CommandError(f"{ident.id} is not stored (paperfeed fetch {ident.id} looks it up on arXiv)")
        note = paper.version_note(ident.version, "This shows") if ident.version is not None else None
        return paper.as_json() | self.extra_fields(paper) | ({"note": note} if note else {})

    def extra_fields(self, paper: Paper) -> dict[str, Any]:
        """Fields other apps add (votes, once the feed exists)."""
        from paperfeed.papers.services import paper_extras

        return paper_extras(paper)

    def render(self, result: dict[str, Any]) -> str:
        authors = ", ".join(a["name"] for a in result["authors"])
        links = "".join(f"\n  {lk['kind']}: {lk['url']}" for lk in result["links"])
        version = f"v{result['version']}" if result["version"] else " (version not recorded)"
        head = f"{result['id']}{version}  [{', '.join(result['categories'])}]"
        when = f"announced {result['announced'] or '?'}"
        note = f"\n\nNote: {result['note']}" if "note" in result else ""
        # arXiv's own fields a reader cites or judges a paper by ("accepted at ACL 2025", "12 pages").
        about = "".join(
            f"\n{label}: {result[key]}"
            for key, label in (("comments", "Comments"), ("journal_ref", "Journal-ref"), ("doi", "DOI"))
            if result.get(key)
        )
        # A terminal runs no KaTeX: title and abstract in plain characters, as a mail has them (--json
        # keeps arXiv's TeX); arXiv's hard wraps joined, its paragraphs kept, wrapped to the terminal.
        title = tex.plain(result["title"])
        abstract = "\n\n".join(_wrapped(tex.plain(p)) for p in paragraphs(result["abstract"]))
        return f"{head}  {when}\n{_wrapped(title)}\n{authors}{about}\n\n{abstract}{links}{note}"


def _wrapped(text: str) -> str:
    """`text` wrapped to the terminal's width; one line when piped, for a script to read."""
    import textwrap

    width = terminal_width()
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) if width else text
