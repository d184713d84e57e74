"""The `paperfeed` console script: Django's manage.py under a friendlier name."""

from __future__ import annotations

import os
import sys
from typing import Any

INTERRUPTED = "interrupted: what was committed is kept; run the command again to continue"


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    args = sys.argv[1:] if argv is None else argv
    if os.environ.get("NO_COLOR") and "--force-color" not in args:
        # https://no-color.org: Django colours a terminal's output whatever NO_COLOR says, but
        # takes its palette from DJANGO_COLORS (children, as serve's workers, inherit it too).
        os.environ["DJANGO_COLORS"] = "nocolor"
    try:
        _run(args)
    except KeyboardInterrupt:
        # Every command commits in whole batches with its checkpoint, so Ctrl-C loses nothing that
        # a traceback would help with; 130 is the shell's own status for a SIGINT.
        sys.stderr.write(f"paperfeed: {INTERRUPTED}\n")
        sys.exit(130)


def _run(args: list[str]) -> None:
    from difflib import get_close_matches

    from django.conf import settings
    from django.core.management import BaseCommand, CommandError, ManagementUtility, get_commands
    from django.core.management.base import SystemCheckError

    class Failed(Exception):
        """A command's CommandError carried past Django's own handler, which would print it as
        "CommandError: …", to be reported below as every other failure is."""

        def __init__(self, error: CommandError, reason: str | None = None) -> None:
            super().__init__(str(error) if reason is None else reason)
            self.returncode = error.returncode

    def checks_failed(error: SystemCheckError) -> Failed:
        """The issues stay listed as Django lists them; its closing count ("System check identified
        2 issues (0 silenced).") becomes the reason line every failure ends with."""
        listing, _, last = str(error).rstrip().rpartition("\n")
        if last.startswith("System check identified"):
            sys.stderr.write(listing.rstrip() + "\n")
            return Failed(error, "s" + last[1:].rstrip(".") + ", listed above")
        sys.stderr.write(str(error).rstrip() + "\n")
        return Failed(error, "the system checks failed (their issues are listed above)")

    class Utility(ManagementUtility):
        def fetch_command(self, subcommand: str) -> BaseCommand:
            commands = get_commands()
            if subcommand not in commands:
                # Django's two lines and status 1; a mistyped command is a usage mistake like the
                # others: one line, status 2.
                settings.INSTALLED_APPS  # noqa: B018  (raises what keeps commands from loading)
                close = get_close_matches(subcommand, commands, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                sys.stderr.write(
                    f"paperfeed: unknown command {subcommand!r} ({hint}`paperfeed help` lists them)\n"
                )
                sys.exit(2)
            command = super().fetch_command(subcommand)
            execute = command.execute

            def execute_reporting(*a: Any, **options: Any) -> Any:
                try:
                    return execute(*a, **options)
                except CommandError as e:
                    if options.get("traceback"):  # Django's way, as the option asks
                        raise
                    if isinstance(e, SystemCheckError):
                        raise checks_failed(e) from e
                    raise Failed(e) from e

            command.execute = execute_reporting  # type: ignore[method-assign]
            return command

    try:
        Utility(["paperfeed", *args]).execute()
    except Failed as e:
        sys.stderr.write(f"paperfeed: {e}\n")
        sys.exit(e.returncode)
    except Exception as e:
        # Here rather than in each command: the system checks, before any command runs, already
        # fail on a database that cannot be opened, and every command fails alike on one that
        # cannot be reached. `--traceback` still shows where, as Django's own option promises.
        from paperfeed.conf import SettingError
        from paperfeed.core.commands import (
            denied_file,
            denied_reason,
            is_locked,
            is_not_a_database,
            is_read_only,
            is_uninitialised,
            is_unreachable,
            locked_reason,
            not_a_database_reason,
            read_only_reason,
            uninitialised_reason,
            unreachable_reason,
        )

        if "--traceback" in args:
            raise
        if isinstance(e, SettingError):
            reason = str(e)
        elif is_read_only(e):
            reason = read_only_reason(e)
        elif is_unreachable(e):
            reason = unreachable_reason(e)
        elif is_uninitialised(e):
            reason = uninitialised_reason(e)
        elif is_not_a_database(e):
            reason = not_a_database_reason(e)
        elif is_locked(e):
            reason = locked_reason(e)
        elif denied := denied_file(e):
            reason = denied_reason(denied)
        else:
            raise
        sys.stderr.write(f"paperfeed: {reason}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
