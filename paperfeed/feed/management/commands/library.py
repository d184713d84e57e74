from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from paperfeed.accounts.models import User
from paperfeed.core.commands import ReportCommand
from paperfeed.core.text import counted
from paperfeed.feed import library
from paperfeed.feed.models import Collection
from paperfeed.papers.references import MAX_BYTES, LibraryError


class Command(ReportCommand):
    help = (
        "A user's library: `import USER FILE` saves the papers a .bib or .ris file (or a list of arXiv "
        "ids, URLs and DOIs) names into one of their collections, all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser(
            "import", help="import a .bib or .ris file, or a text file of ids, into a collection"
        )
        imp.add_argument("user", metavar="USER", help="username or email, any case")
        imp.add_argument("file", metavar="FILE", help="the file (- reads standard input)")
        imp.add_argument(
            "--collection",
            metavar="SLUG",
            default="",
            help=f"the user's collection of that address, made (so named) if there is none "
            f"(default: {library.DEFAULT_COLLECTION!r})",
        )
        imp.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    def report(self, **options: Any) -> dict[str, Any]:
        user = User.objects.named(options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        data, name = self._read(options["file"])
        slug = options["collection"]
        coll = Collection.objects.filter(user=user, slug=slug).first() if slug else None
        try:
            done = library.import_library(user, data, name=name, collection=coll, new_name=slug)
        except LibraryError as e:
            where = "stdin" if options["file"] == "-" else options["file"]
            raise CommandError(f"{where}: {e}; nothing was imported") from None
        return done.as_json()

    def _read(self, path: str) -> tuple[bytes, str]:
        import sys

        try:
            if path == "-":
                return sys.stdin.buffer.read(MAX_BYTES + 1), ""
            with open(path, "rb") as f:
                return f.read(MAX_BYTES + 1), Path(path).name
        except OSError as e:
            raise CommandError(f"cannot read {path}: {e.strerror}") from None

    def render(self, result: dict[str, Any]) -> str:
        lines = [
            f"{counted(result['read'], 'entry', 'entries')} read: {result['matched']} found "
            f"({result['added']} newly saved to "
            f"{result['collection']['name']!r}), {result['unmatched']} not found"
        ]
        lines += [f"  not found: {e['entry']}: {e['reason']}" for e in result["entries"] if e["id"] is None]
        return "\n".join(lines)
