from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from paperfeed.core.commands import ReportCommand, bounded_int
from paperfeed.core.text import counted
from paperfeed.feed import services
from paperfeed.feed.markup import MARKUP_VERSION


class Command(ReportCommand):
    help = (
        "Comments: `rerender` renders again those whose HTML other markup rules rendered (hidden ones "
        "and deleted accounts' too), in batches; resumable, and a second run finds nothing to do. "
        "`paperfeed init` runs it after its migrations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rerender = sub.add_parser(
            "rerender",
            help=f"render the stale comments again with the current rules (version {MARKUP_VERSION})",
        )
        rerender.add_argument(
            "--batch",
            metavar="N",
            type=bounded_int(1, 10_000),
            default=services.RERENDER_BATCH,
            help=f"comments written per transaction (1-10000; default {services.RERENDER_BATCH})",
        )
        rerender.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def report(self, **options: Any) -> dict[str, Any]:
        return {"markup_version": MARKUP_VERSION, **services.rerender_comments(options["batch"]).as_json()}

    def render(self, result: dict[str, Any]) -> str:
        if not result["stale"]:
            return f"every comment is rendered by the current rules (version {result['markup_version']})"
        text = (
            f"{counted(result['rerendered'], 'comment')} re-rendered with the rules of version "
            f"{result['markup_version']}, {result['changed']} of them changed"
        )
        if result["skipped"]:
            text += f"; {result['skipped']} edited meanwhile, left as the edit wrote them"
        return text
