from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.bench import BENCHMARKS
from paperfeed.core.commands import ReportCommand


class Command(ReportCommand):
    help = "Run a benchmark: " + ", ".join(BENCHMARKS)
    # Each benchmark chooses its own home and database (`--home`, PostgreSQL clusters of its own).
    requires_database = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="benchmark", required=True)
        for name, module in BENCHMARKS.items():
            p = sub.add_parser(
                name, help=(importlib.import_module(module).__doc__ or "").strip().split("\n")[0]
            )
            p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
            importlib.import_module(module).add_arguments(p)

    def report(self, **options: Any) -> dict[str, Any]:
        name = options["benchmark"]
        if name not in BENCHMARKS:
            raise CommandError(f"no benchmark {name!r}")
        result: dict[str, Any] = importlib.import_module(BENCHMARKS[name]).run(options)
        return result

    def render(self, result: dict[str, Any]) -> str:
        import json

        return json.dumps(result, indent=2, default=str)
