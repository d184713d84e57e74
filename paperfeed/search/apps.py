from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "paperfeed.search"
    label = "search"

    def ready(self) -> None:
        from paperfeed.papers.signals import papers_ingested
        from paperfeed.search.tasks import on_papers_ingested

        papers_ingested.connect(on_papers_ingested, dispatch_uid="search.index_after_ingest")

    def warm_up(self) -> None:
        """Open the indexes and run the model once (its first run allocates its buffers)."""
        from paperfeed.search.services import engine

        e = engine()
        e.keyword  # noqa: B018 - the properties open what they return
        e.vectors  # noqa: B018
        e.embedder.encode(["warm up"])
