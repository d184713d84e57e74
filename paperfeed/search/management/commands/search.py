from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.core.commands import (
    ReportCommand,
    add_categories,
    add_limit,
    bounded_int,
    iso_date,
    list_item,
    terminal_width,
)
from paperfeed.papers import tex
from paperfeed.search.services import MAX_LIMIT, MODES, SORTS, SearchResults, search


def _headline(res: SearchResults) -> str:
    summary = res.summary
    if res.capped:
        # The service's note ("the first 1000 are listed") is the site's pages' list; here --limit
        # lists a page of it, and the line said 1000 above 20 results.
        shown = f"{res.offset + 1}-{res.offset + len(res.hits)} shown; " if res.hits else ""
        summary = f"{res.count} ({shown}--offset N lists more, up to the first {res.listed})"
    message = res.error or res.message
    if res.suggestion and not res.error:
        message = "; ".join(m for m in (message, f"did you mean: {res.suggestion}") if m)
    return f"{summary or 'no results'} ({res.mode}, {res.took_ms:.0f} ms)" + (
        f" — {message}" if message else ""
    )


def render_results(res: SearchResults, scores: bool = True) -> str:
    lines = [_headline(res)]
    width = terminal_width()
    for i, h in enumerate(res.hits, res.offset + 1):
        why = f"{h.score:.4f}; {h.why}" if scores else h.why
        # A terminal runs no KaTeX: the title in plain characters (--json keeps `title` raw).
        lines.append(list_item(i, f"{h.arxiv_id}  {tex.plain(h.title)}", why, width, beside=True))
    return "\n".join(lines)


class Command(ReportCommand):
    _searched: SearchResults  # the search `report` ran, which `render` lists
    help = "Search papers (hybrid BM25 + embeddings). --batch FILE: one query per line, one JSON per line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "query", nargs="?", default=None, help='words, "phrases", -excluded, ti: au: abs: cat: fields'
        )
        parser.add_argument(
            "--batch", type=Path, metavar="FILE", help="file of queries, one per line ('-': stdin)"
        )
        add_limit(parser, 20, MAX_LIMIT, "results")
        parser.add_argument(
            "--offset",
            type=bounded_int(0),
            default=0,
            metavar="N",
            help="skip the first N results (default 0)",
        )
        parser.add_argument(
            "--mode", choices=MODES, default="hybrid", help="hybrid (default): keyword and semantic, fused"
        )
        add_categories(parser, "only papers")
        parser.add_argument("--since", type=iso_date, metavar="DATE", help="announced on or after YYYY-MM-DD")
        parser.add_argument(
            "--until", type=iso_date, metavar="DATE", help="announced on or before YYYY-MM-DD"
        )
        parser.add_argument("--author", help="an author's key or name")
        parser.add_argument(
            "--sort",
            default="relevance",
            choices=list(SORTS),  # the apps have registered theirs (feed: votes) by now
            help="relevance (default) | date | "
            + " | ".join(s for s in SORTS if s not in ("relevance", "date")),
        )

    def _run(self, q: str, options: dict[str, Any]) -> SearchResults:
        return search(
            q,
            mode=options["mode"],
            limit=options["limit"],
            offset=options["offset"],
            category=options["category"],
            since=options["since"],
            until=options["until"],
            author=options["author"],
            sort=options["sort"],
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] is None:
            super().handle(*args, **options)
            return
        if options["query"] is not None:  # one of them would be ignored without a word
            raise CommandError("give a QUERY or --batch FILE, not both", returncode=2)
        path: Path = options["batch"]
        if str(path) != "-" and not path.is_file():
            raise CommandError(f"no such file: {path}")
        lines = sys.stdin if str(path) == "-" else path.open(encoding="utf-8", errors="replace")
        failed = asked = 0
        with lines:
            for line in lines:
                asked += 1
                res = self._run(line.rstrip("\n"), options)
                doc = res.as_json()
                failed += bool(doc["error"])
                if options["json"]:
                    sys.stdout.write(self.json_line(doc))
                else:
                    sys.stdout.write(render_results(res) + "\n\n")
                sys.stdout.flush()
        if not asked:  # an empty file (or nothing piped in): not one query was answered
            raise CommandError(f"no query in {'stdin' if str(path) == '-' else path}: it is empty")
        if failed:  # every line was answered (its "error" says why); the status tells a script
            raise CommandError(f"{failed} of the queries could not be searched (see their errors)")

    def report(self, **options: Any) -> dict[str, Any]:
        if options["query"] is None:
            raise CommandError("give a QUERY or --batch FILE", returncode=2)
        res = self._searched = self._run(options["query"], options)
        if res.error:  # an unknown category, a date range that ends before it starts: a usage mistake
            raise CommandError(res.error, returncode=2)
        if not res.searchable:  # "" or only stop words, and no filter: nothing was asked, as with no QUERY
            raise CommandError(f"QUERY {options['query']!r}: {res.message}", returncode=2)
        return res.as_json()

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        if result["error"]:
            raise CommandError(result["error"])

    def render(self, result: dict[str, Any]) -> str:
        if result["error"]:  # said once, as the failure's reason
            return ""
        return render_results(self._searched, scores=False)
