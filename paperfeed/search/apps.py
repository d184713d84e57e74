from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "paperfeed.search"
    label = "search"

    def ready(self) -> None:
        from paperfeed.papers.signals import papers_ingested
        from paperfeed.search.tasks import on_papers_ingested

        papers_ingested.connect(on_papers_ingested, dispatch_uid="search.index_after_ingest")
