"""The shape every reporting command shares: `--json` prints one JSON document on stdout, progress
goes to stderr, failure exits non-zero with a one-line reason."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class ReportCommand(BaseCommand):
    """Subclasses implement `report(**options)`, returning a JSON-able dict, and may override
    `render(result)` for the human-readable form."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        return parser

    def handle(self, *args: Any, **options: Any) -> None:
        result = self.report(**options)
        if options["json"]:
            sys.stdout.write(json.dumps(result, default=str, ensure_ascii=False) + "\n")
        else:
            text = self.render(result)
            if text:
                self.stdout.write(text)
        self.after_output(result, **options)

    def report(self, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def render(self, result: dict[str, Any]) -> str:
        return "\n".join(f"{k}: {v}" for k, v in result.items() if not isinstance(v, list | dict))

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        """Hook for an exit status that depends on the result (e.g. --strict)."""


__all__ = ["CommandError", "ReportCommand"]
