"""The shape every reporting command shares: `--json` prints one JSON document on stdout, progress
goes to stderr, failure exits non-zero with a one-line reason."""

from __future__ import annotations

import errno
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class ReportCommand(BaseCommand):
    """Subclasses implement `report(**options)`, returning a JSON-able dict, and may override
    `render(result)` for the human-readable form."""

    # Django's system checks are a developer's aid (`paperfeed check`, `init` and `serve` run them);
    # here they would import the whole site (URLs, API, views) before every command: ~1 s of each
    # import, harvest or recommend, and of every test that runs the command line.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        return parser

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = self.report(**options)
        except Exception as e:
            if not is_disk_full(e):
                raise
            # Every command commits in whole batches or pages with its checkpoint, so what came
            # before is safe; a traceback would hide the one thing the operator must do.
            raise CommandError(
                f"stopped: the disk is full ({_first_line(e)}); what was committed before is kept and "
                "the next run resumes from it: free space and run the command again"
            ) from None
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


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC, SQLite's SQLITE_FULL or PostgreSQL's disk_full (53100), however wrapped."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return True
        if getattr(e, "sqlstate", None) == "53100" or "database or disk is full" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


def is_read_only(exc: BaseException) -> bool:
    """The SQLite file cannot be written: SQLITE_READONLY ("attempt to write a readonly
    database"), or, in WAL mode, not even opened when its folder cannot be written either ("unable
    to open database file": the -shm and -wal files cannot be created), however wrapped."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if "readonly database" in str(e) or "unable to open database file" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


def read_only_reason(exc: BaseException) -> str:
    return (
        f"stopped: the database cannot be written ({_first_line(exc)}); nothing was written to it: "
        "its file, or its folder (in WAL mode even reading writes beside the file), belongs to "
        "another user or is on a read-only disk; run paperfeed as their owner or give this user "
        "write access, then run the command again"
    )


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


__all__ = ["CommandError", "ReportCommand", "is_disk_full", "is_read_only", "read_only_reason"]
