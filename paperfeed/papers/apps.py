from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "paperfeed.papers"
    label = "papers"
    verbose_name = "papers"

    def ready(self) -> None:
        from paperfeed.papers.services import refresh_statistics
        from paperfeed.papers.signals import papers_ingested

        papers_ingested.connect(refresh_statistics, dispatch_uid="papers.statistics_after_ingest")
