"""The `paperfeed` console script: Django's manage.py under a friendlier name."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["paperfeed", *(sys.argv[1:] if argv is None else argv)])
    except Exception as e:
        # Here rather than in each command: the system checks, before any command runs, already
        # fail on a database that cannot be opened.
        from paperfeed.core.commands import is_read_only, read_only_reason

        if not is_read_only(e):
            raise
        sys.stderr.write(f"paperfeed: {read_only_reason(e)}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
