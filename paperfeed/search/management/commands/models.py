from typing import Any

from django.core.management.base import CommandParser

from paperfeed.core.commands import PaperfeedCommand
from paperfeed.search.embedding import build_model, model_file


class Command(PaperfeedCommand):
    help = "Build (or show) the derived embedding model file: `paperfeed models build|path`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", choices=["build", "path"], help="build: make the file now; path: print where it is"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = build_model() if options["action"] == "build" else model_file()
        self.stdout.write(str(path))
