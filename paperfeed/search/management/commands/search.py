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
from paperfeed.search.services import MAX_LIMIT, MODES, SORTS, SearchResults, search


def _headline(summary: str, mode: str, took_ms: float, message: str) -> str:
    return f"{summary or 'no results'} ({mode}, {took_ms:.0f} ms)" + (f" — {message}" if message else "")


def render_results(res: SearchResults) -> str:
    lines = [_headline(res.summary, res.mode, res.took_ms, res.error or res.message)]
    width = terminal_width()
    for i, h in enumerate(res.hits, res.offset + 1):
        lines.append(list_item(i, f"{h.arxiv_id}  {h.title}", f"{h.score:.4f}; {h.why}", width, beside=True))
    return "\n".join(lines)


class Command(ReportCommand):
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
        res = self._run(options["query"], options)
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
        lines = [_headline(result["summary"], result["mode"], result["took_ms"], result["message"])]
        width = terminal_width()
        for i, h in enumerate(result["results"], result["offset"] + 1):
            lines.append(list_item(i, f"{h['id']}  {h['title']}", h["why"], width, beside=True))
        return "\n".join(lines)
