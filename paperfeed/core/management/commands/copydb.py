"""`paperfeed copydb --to URL`: copy this site's database (DATABASE_URL, or the SQLite file under
PAPERFEED_HOME) into another, e.g. from SQLite to PostgreSQL. See paperfeed.core.dbcopy."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError, connections

from paperfeed.conf import SettingError
from paperfeed.core.commands import (
    ReportCommand,
    bounded_int,
    database_name,
    first_line,
    is_not_a_database,
)
from paperfeed.core.dbcopy import BATCH, CopyError, SameDatabase, connect_target, copy_database
from paperfeed.core.progress import Progress
from paperfeed.core.text import counted


def database_url(text: str) -> str:
    from paperfeed.settings import database_from_url

    try:
        database_from_url(text, setting="--to")
    except SettingError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--to: ")) from None
    return text


class Command(ReportCommand):
    help = (
        "Copy every table of this site's database into another database (e.g. SQLite to PostgreSQL), "
        "keeping ids; migrates the target first, refuses one that holds data, commits all or nothing."
    )
    json_verbatim = ("tables", "notCopied")  # keyed by table name

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to",
            required=True,
            type=database_url,
            metavar="URL",
            help="the target: postgres://… or sqlite:///…",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="empty the target's tables first when it already holds data (deletes them)",
        )
        parser.add_argument(
            "--batch-size",
            type=bounded_int(1, 100_000),
            default=BATCH,
            metavar="N",
            help=f"rows read and written at a time (1-100000; default {BATCH})",
        )

    def report(self, **options: Any) -> dict[str, Any]:
        alias = connect_target(options["to"])
        target = connections[alias]
        try:
            target.ensure_connection()
        except DatabaseError as e:
            if is_not_a_database(e):
                # Not a server to check: a file named by mistake (a backup archive, a log).
                raise CommandError(
                    f"stopped: the target {target.settings_dict['NAME']} is a file but not a SQLite "
                    f"database ({first_line(e)}); nothing was changed: name a file that does not exist "
                    "yet (copydb creates it) or a SQLite database"
                ) from None
            detail = first_line(e)
            if password := target.settings_dict.get("PASSWORD"):
                detail = detail.replace(password, "…")
            raise CommandError(
                f"stopped: cannot connect to the target, {database_name(target.settings_dict)} ({detail}); "
                "nothing was changed: check that the server runs, the database exists and the user may "
                "create tables in it"
            ) from None
        try:
            report = copy_database(
                alias,
                replace=options["replace"],
                batch=options["batch_size"],
                progress=lambda rows, tables: Progress(f"copydb ({tables} tables)", total=rows, unit="rows"),
            )
        except SameDatabase as e:
            raise CommandError(str(e), returncode=2) from None
        except CopyError as e:
            raise CommandError(f"stopped: {e}") from None
        finally:
            target.close()
        return report.as_json()

    def render(self, result: dict[str, Any]) -> str:
        width = max(len(t) for t in result["tables"])
        lines = [f"{'table':<{width}}  {'source':>10}  {'copied':>10}"]
        for table, n in result["tables"].items():
            lines.append(f"{table:<{width}}  {n['source']:>10,}  {n['copied']:>10,}")
        lines.append(
            f"copied {counted(result['rows'], 'row')} of {counted(len(result['tables']), 'table')} from "
            f"{result['source']} to {result['target']} in {result['seconds']} s; "
            f"{counted(result['sequences'], 'id counter')} set"
        )
        if result["not_copied"]:
            lines.append(
                "not copied: " + "; ".join(f"{t} ({why})" for t, why in result["not_copied"].items())
            )
        lines.append(
            "next: point DATABASE_URL at the target, then run `paperfeed index` (docs/deploy.md, "
            "Moving from SQLite to PostgreSQL)"
        )
        return "\n".join(lines)
