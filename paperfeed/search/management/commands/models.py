from typing import Any

from django.core.management.base import CommandParser

from paperfeed.core.commands import ReportCommand
from paperfeed.search.embedding import build_model, model_file


class Command(ReportCommand):
    help = "Build (or show) the derived embedding model file: `paperfeed models build|path`."
    requires_database = False  # a file under the cache folder, made from a package's weights

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", choices=["build", "path"], help="build: make the file now; path: print where it is"
        )

    def report(self, **options: Any) -> dict[str, Any]:
        path = build_model() if options["action"] == "build" else model_file()
        return {"path": str(path), "exists": path.exists()}

    def render(self, result: dict[str, Any]) -> str:
        return str(result["path"])
