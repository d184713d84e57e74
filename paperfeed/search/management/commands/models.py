from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from paperfeed.search.embedding import build_model, model_file


class Command(BaseCommand):
    help = "Build (or show) the derived embedding model file: `paperfeed models build|path`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["build", "path"])

    def handle(self, *args: Any, **options: Any) -> None:
        path = build_model() if options["action"] == "build" else model_file()
        self.stdout.write(str(path))
