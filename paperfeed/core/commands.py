"""The shape every reporting command shares: `--json` prints one JSON document on stdout, progress
goes to stderr, failure exits non-zero with a one-line reason."""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from paperfeed.core.logs import dumps


class OneLineParser(CommandParser):
    """argparse prints the whole usage before its error: on a terminal the one line that says what
    is wrong came last under a screenful, and in a script's log it was many lines for one mistake."""

    # Checks of arguments together (add_check), after argparse has read each one alone.
    checks: tuple[Callable[[argparse.Namespace], None], ...] = ()

    # The overloads only say which namespace comes back.
    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, rest = super().parse_known_args(args, namespace)
        for check in self.checks:
            try:
                check(parsed)
            except argparse.ArgumentTypeError as e:
                self.error(str(e))
        return parsed, rest

    def error(self, message: str) -> NoReturn:
        if not self.called_from_command_line:
            super().error(message)  # call_command: Django's CommandError
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` lists the options)\n")


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    # Django builds the parser (and add_arguments its subcommands' parsers) itself: retype them all.
    parser.__class__ = OneLineParser
    for action in parser._actions:
        if not action.option_strings and action.choices and action.metavar is None:
            # What usage shows ({send,bounces,…}), also in "the following arguments are required:",
            # which otherwise names the destination ("action"), a word neither usage nor help has.
            action.metavar = "{" + ",".join(map(str, action.choices)) + "}"
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _one_line_errors(sub)


def add_check(parser: argparse.ArgumentParser, check: Callable[[argparse.Namespace], None]) -> None:
    """A mistake only arguments taken together show (a --period yet to begin for --frequency):
    `check` raises ArgumentTypeError, reported as argparse's own mistakes are, before anything runs."""
    parser.checks = (*getattr(parser, "checks", ()), check)  # type: ignore[attr-defined]


class PaperfeedCommand(BaseCommand):
    """Every paperfeed command: a mistake on the command line is one line on stderr, exit status 2."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        _one_line_errors(parser)
        return parser


# Argument types shared by the commands, so that a limit, a count or a date is read, bounded and
# refused the same way everywhere (and before any work starts).


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"must be a whole number {span}, not {text!r}")
        return value

    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text!r}")
    return value


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def http_url(text: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises for a port out of range
    except ValueError:  # that, or a malformed IPv6 address
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL with a host: {text!r}")
    return text


def add_limit(parser: argparse.ArgumentParser, default: int, maximum: int | None, what: str) -> None:
    span = f"1-{maximum}" if maximum is not None else "1 or more"
    parser.add_argument(
        "--limit",
        type=bounded_int(1, maximum),
        default=default,
        metavar="N",
        help=f"at most N {what} ({span}; default {default})",
    )


class _Categories(argparse.Action):
    """Each use adds its codes, one or a comma list: `--category cs.CL --category cs.LG` and
    `--category cs.CL,cs.LG` are the same filter."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        codes = [*getattr(namespace, self.dest), *(c.strip() for c in str(values).split(","))]
        setattr(namespace, self.dest, [c for c in codes if c])


def add_categories(parser: argparse.ArgumentParser, what: str) -> None:
    """`--category` of every command that takes categories; `--categories` is the older spelling."""
    parser.add_argument(
        "--category",
        "--categories",
        dest="category",
        action=_Categories,
        default=[],
        metavar="CAT[,CAT…]",
        help=f"{what} of these categories, e.g. cs.CL (repeatable, or comma-separated)",
    )


def terminal_width() -> int | None:
    """The width to wrap listings at: COLUMNS when set, else the terminal's when stdout is one;
    None when piped (a script or grep reads one line per item)."""
    import os
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def list_item(
    number: int, text: str, detail: str = "", width: int | None = None, beside: bool = False
) -> str:
    """One numbered entry of a listing (search, similar, recommend): `text` after its number, then
    `detail` on its own line beneath; each wrapped to `width` under the text's start, so that a
    long title and its reason no longer run past the edge of a laptop's terminal. Unwrapped
    (width None: piped), `beside` keeps the entry on one line, the detail in brackets after it."""
    import textwrap

    head = f"{number:>3}. "
    indent = " " * len(head)
    if width is None:
        if beside:
            return head + text + (f"  [{detail}]" if detail else "")
        return head + text + (f"\n{indent}{detail}" if detail else "")
    width = max(width, len(head) + 20)  # a very narrow terminal still gets whole words
    lines = textwrap.wrap(text, width, initial_indent=head, subsequent_indent=indent, break_on_hyphens=False)
    if detail:
        lines += textwrap.wrap(
            detail, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
        )
    return "\n".join(lines)


class ReportCommand(PaperfeedCommand):
    """Subclasses implement `report(**options)`, returning a JSON-able dict, and may override
    `render(result)` for the human-readable form."""

    # Django's system checks are a developer's aid (`paperfeed check`, `init` and `serve` run them);
    # here they would import the whole site (URLs, API, views) before every command: ~1 s of each
    # import, harvest or recommend, and of every test that runs the command line.
    requires_system_checks: list[str] = []
    # Connect before `report` starts: `import` would otherwise read megabytes of its file, and
    # `harvest` wait on arXiv, before learning that the database cannot be reached.
    requires_database = True
    # `--json` keys are camelCase, as the API's, with their snake_case 0.1 names beside them until
    # 0.2 (core.http.camel_keys). Under these keys are maps keyed by data, not by field names.
    json_verbatim: tuple[str, ...] = ()
    camel_json = True

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        return parser

    def handle(self, *args: Any, **options: Any) -> None:
        if self.requires_database:
            from django.db import connection

            connection.ensure_connection()
        try:
            result = self.report(**options)
        except Exception as e:
            if not is_disk_full(e):
                raise
            # Every command commits in whole batches or pages with its checkpoint, so what came
            # before is safe; a traceback would hide the one thing the operator must do.
            raise CommandError(
                f"stopped: the disk is full ({first_line(e)}); what was committed before is kept and "
                "the next run resumes from it: free space and run the command again"
            ) from None
        if options["json"]:
            sys.stdout.write(self.json_line(result))
        else:
            text = self.render(result)
            if text:
                self.stdout.write(text)
        self.after_output(result, **options)

    def json_line(self, result: dict[str, Any]) -> str:
        """The `--json` document of `result`, one line. `render` and `after_output` read `result`
        itself, under its snake_case names."""
        from paperfeed.core.http import camel_keys

        doc = camel_keys(result, self.json_verbatim) if self.camel_json else result
        return dumps(doc, ensure_ascii=False) + "\n"

    def report(self, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def render(self, result: dict[str, Any]) -> str:
        return "\n".join(f"{k}: {v}" for k, v in result.items() if not isinstance(v, list | dict))

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        """Hook for an exit status that depends on the result (e.g. --strict)."""


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC, SQLite's SQLITE_FULL or PostgreSQL's disk_full (53100), however wrapped."""
    return _in_chain(
        exc,
        lambda e: (
            (isinstance(e, OSError) and e.errno == errno.ENOSPC)
            or getattr(e, "sqlstate", None) == "53100"
            or "database or disk is full" in str(e)
        ),
    )


def is_read_only(exc: BaseException) -> bool:
    """The SQLite file cannot be written: SQLITE_READONLY ("attempt to write a readonly
    database"), or, in WAL mode, not even opened when its folder cannot be written either ("unable
    to open database file": the -shm and -wal files cannot be created), however wrapped."""
    return _in_chain(exc, lambda e: "readonly database" in str(e) or "unable to open database file" in str(e))


def _in_chain(exc: BaseException, found: Callable[[BaseException], bool]) -> bool:
    """Whether `exc` or an exception it was raised from or during (Django wraps the driver's) is `found`."""
    return _first_in_chain(exc, found) is not None


def _first_in_chain(exc: BaseException, found: Callable[[BaseException], bool]) -> BaseException | None:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if found(e):
            return e
        e = e.__cause__ or e.__context__
    return None


def read_only_reason(exc: BaseException) -> str:
    from pathlib import Path

    from django.conf import settings

    db = _failed_database(exc) or settings.DATABASES["default"]
    folder = Path(db["NAME"]).expanduser().parent
    if db["ENGINE"] == "django.db.backends.sqlite3" and not folder.is_dir():
        # SQLite says "unable to open database file" for this too.
        return (
            f"stopped: {database_name(db)} cannot be opened: its folder {folder} does not exist; "
            "nothing was written: correct DATABASE_URL (or PAPERFEED_HOME), or create the folder, "
            "then run the command again"
        )
    return (
        f"stopped: the database cannot be written ({first_line(exc)}); nothing was written to it: "
        "its file, or its folder (in WAL mode even reading writes beside the file), belongs to "
        "another user or is on a read-only disk; run paperfeed as their owner or give this user "
        "write access, then run the command again"
    )


def is_locked(exc: BaseException) -> bool:
    """Another process held SQLite's write lock for longer than the busy timeout: SQLITE_BUSY
    ("database is locked") or SQLITE_LOCKED ("database table is locked"), however wrapped."""
    return _in_chain(exc, lambda e: "database is locked" in str(e) or "database table is locked" in str(e))


def locked_reason(exc: BaseException) -> str:
    from django.conf import settings

    db = _failed_database(exc) or settings.DATABASES["default"]
    waited = db.get("OPTIONS", {}).get("timeout")
    waited_for = f" for more than {waited:g} s" if isinstance(waited, int | float) else ""
    return (
        f"stopped: {database_name(db)} is locked: another process kept writing to it{waited_for} "
        f"({first_line(exc)}); what this command committed before is kept: stop the other writer (a "
        "`paperfeed worker` or `serve`, or another import, harvest, index, copydb or digest run) or "
        "wait until it is done, then run the command again (PAPERFEED_DB_BUSY_TIMEOUT sets the wait)"
    )


def _failed_database(exc: BaseException) -> dict[str, Any] | None:
    """The settings of the connection whose query raised `exc` (Django's error carries no alias;
    the frames that ran the query do): copydb has two databases, and either may be the locked one."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    found = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        conn = owner if isinstance(owner, BaseDatabaseWrapper) else getattr(owner, "db", None)
        if isinstance(conn, BaseDatabaseWrapper):
            found = conn.settings_dict  # the innermost frame wins: the one that ran the query
        tb = tb.tb_next
    return found


def denied_file(exc: BaseException) -> OSError | None:
    """The OSError, however wrapped, of a file paperfeed may not create or write: permissions, or
    a read-only disk (indexes, locks and keys live under PAPERFEED_HOME)."""
    found = _first_in_chain(
        exc,
        lambda e: (
            isinstance(e, OSError)
            and e.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
            and bool(e.filename)
        ),
    )
    return found if isinstance(found, OSError) else None


def denied_reason(e: OSError) -> str:
    from pathlib import Path

    from django.conf import settings

    path = Path(str(e.filename))
    where = " (under PAPERFEED_HOME, where the search indexes, locks and keys are kept)"
    if not path.is_relative_to(settings.HOME):
        where = ""
    fix = (
        "mount that disk writable or point PAPERFEED_HOME at a folder on a writable one"
        if e.errno == errno.EROFS
        else "run paperfeed as the user that owns it, or give this user write access"
    )
    return (
        f"stopped: cannot use {path}{where}: {e.strerror}; what was committed before is kept: {fix}, "
        "then run the command again"
    )


def is_not_a_database(exc: BaseException) -> bool:
    """The SQLite file is not a database (SQLITE_NOTADB: another file named by mistake) or a
    damaged one (SQLITE_CORRUPT), however wrapped."""
    return _in_chain(
        exc, lambda e: "file is not a database" in str(e) or "database disk image is malformed" in str(e)
    )


def not_a_database_reason(exc: BaseException) -> str:
    from django.conf import settings

    db = _failed_database(exc) or settings.DATABASES["default"]
    return (
        f"stopped: {db['NAME']} is not a usable SQLite database ({first_line(exc)}); nothing "
        "was written to it: check that DATABASE_URL (or PAPERFEED_HOME) names paperfeed's database; "
        "a damaged one is restored from a backup (docs/deploy.md, Backups)"
    )


def is_uninitialised(exc: BaseException) -> bool:
    """A table paperfeed needs is missing: a database never set up by `init`, or one behind the
    installed version (an upgrade whose `init` has not run). SQLite says "no such table",
    PostgreSQL raises UndefinedTable ("relation … does not exist"), however wrapped."""
    return _in_chain(exc, lambda e: "no such table" in str(e) or type(e).__name__ == "UndefinedTable")


def uninitialised_reason(exc: BaseException) -> str:
    import os

    if "DATABASE_URL" not in os.environ and "PAPERFEED_HOME" not in os.environ:
        # An operator's shell without the site's environment (systemd's EnvironmentFile): "run init"
        # would have set up a second, empty site under ./var beside the real one.
        return (
            f"stopped: {database_name()} lacks paperfeed's tables ({first_line(exc)}); neither "
            "DATABASE_URL nor PAPERFEED_HOME is set, so this is the default ./var of the current "
            "folder: run the command with the site's environment (docs/deploy.md, systemd), or "
            "`paperfeed init` to start a new site here"
        )
    return (
        f"stopped: {database_name()} lacks paperfeed's tables ({first_line(exc)}); it was never set "
        "up, or not since this version was installed: run `paperfeed init`, then the command again"
    )


def is_unreachable(exc: BaseException) -> bool:
    """The database could not be connected to (not a failed query on an open connection): a
    database OperationalError or InterfaceError raised while a new connection was being made."""
    from django.db import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "get_new_connection":
            return True
        tb = tb.tb_next
    return False


def database_name(db: dict[str, Any] | None = None) -> str:
    """Which database this process uses (or `db` describes), for messages: never the password."""
    from django.conf import settings

    db = db or settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return f"the SQLite database {db['NAME']}"
    user = f" as user {db['USER']}" if db.get("USER") else ""
    return (
        f"the PostgreSQL database {db['NAME']!r} at {db.get('HOST') or 'localhost'}:"
        f"{db.get('PORT') or 5432}{user}"
    )


def unreachable_reason(exc: BaseException) -> str:
    from django.conf import settings

    detail = first_line(exc)
    password = settings.DATABASES["default"].get("PASSWORD")
    if password:
        detail = detail.replace(password, "…")
    return (
        f"stopped: cannot connect to {database_name()} ({detail}); nothing was changed: check that "
        "the server is running and reachable from here, and the host, port, database name and "
        "user in DATABASE_URL, then run the command again"
    )


def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


__all__ = [
    "CommandError",
    "OneLineParser",
    "PaperfeedCommand",
    "ReportCommand",
    "add_categories",
    "add_check",
    "add_limit",
    "bounded_int",
    "database_name",
    "denied_file",
    "denied_reason",
    "first_line",
    "http_url",
    "is_disk_full",
    "is_locked",
    "is_not_a_database",
    "is_read_only",
    "is_unreachable",
    "iso_date",
    "list_item",
    "locked_reason",
    "not_a_database_reason",
    "positive_float",
    "read_only_reason",
    "terminal_width",
    "unreachable_reason",
]
