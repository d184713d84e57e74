from typing import Any

from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "paperfeed.papers"
    label = "papers"
    verbose_name = "papers"

    def ready(self) -> None:
        from paperfeed.papers.signals import papers_ingested

        papers_ingested.connect(_refresh_statistics, dispatch_uid="papers.statistics_after_ingest")


def _refresh_statistics(**kwargs: Any) -> bool:
    # Here, not at start-up: every process would load the services (and what they import) to
    # connect a receiver only an ingest calls.
    from paperfeed.papers.services import refresh_statistics

    return refresh_statistics(**kwargs)
