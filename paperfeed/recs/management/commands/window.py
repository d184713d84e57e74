from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandParser

from paperfeed.core.commands import ReportCommand
from paperfeed.core.text import counted


class Command(ReportCommand):
    help = (
        'Build the saved "for you" candidate window under the home, or extend it with the papers changed'
        " since it was saved (what the worker does after imports; a web worker starts it on a home"
        " without one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # The builder lock, already taken by the web worker that started this process.
        parser.add_argument("--lock-fd", type=int, default=None, help=argparse.SUPPRESS)
        parser.add_argument(
            "--check-all",
            action="store_true",
            help="checksum every file of the saved window, also those whose size and mtime are as saved,"
            " before calling it current (what a web worker that found it corrupt asks)",
        )

    def report(self, **options: Any) -> dict[str, Any]:
        from paperfeed.recs import index  # numpy and scipy: not for `paperfeed help`

        return index.refresh_saved(options["lock_fd"], check_all=options["check_all"])

    def render(self, result: dict[str, Any]) -> str:
        if not result["papers"]:
            return 'no papers: no "for you" window to save'
        if not result["saved"]:
            return f'the saved "for you" window is current: {counted(result["papers"], "paper")}'
        return (
            f'saved the "for you" window: {counted(result["papers"], "paper")}, '
            f"up to change {result['watermark']}"
        )
