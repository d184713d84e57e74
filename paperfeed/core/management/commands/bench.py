from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.bench import BENCHMARKS
from paperfeed.core.commands import ReportCommand, bounded_int
from paperfeed.core.logs import dumps


class Command(ReportCommand):
    help = "Run a benchmark: " + ", ".join(BENCHMARKS)
    # Each benchmark chooses its own home and database (`--home`, PostgreSQL clusters of its own).
    requires_database = False
    # Its documents are also the benchmark files that `--check` compares and bench/README.md
    # quotes, under their names as written: renaming them is a change of those files of its own.
    camel_json = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="benchmark", required=True)
        for name, module in BENCHMARKS.items():
            p = sub.add_parser(
                name, help=(importlib.import_module(module).__doc__ or "").strip().split("\n")[0]
            )
            p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
            importlib.import_module(module).add_arguments(p)
            for action in p._actions:
                # Counts, sizes and seconds: a negative one ran (or failed) minutes into the run; the
                # shared type refuses it first, in the words every command uses.
                if action.type is int:
                    action.type = bounded_int(0)

    def report(self, **options: Any) -> dict[str, Any]:
        name = options["benchmark"]
        if name not in BENCHMARKS:
            raise CommandError(f"no benchmark {name!r}")
        # The input files (a snapshot, a baseline to compare with): a missing one was a traceback
        # once the benchmark had set up its homes and databases.
        for option in ("file", "check"):
            path = options.get(option)
            if isinstance(path, Path) and not path.is_file():
                raise CommandError(f"--{option}: no such file: {path}")
        result: dict[str, Any] = importlib.import_module(BENCHMARKS[name]).run(options)
        return result

    def render(self, result: dict[str, Any]) -> str:
        return dumps(result, indent=2)
