"""Background indexing: enqueued (after the transaction commits) whenever an import, harvest or fetch
stored papers, so keyword search covers them within a minute and semantic search within minutes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.tasks import task


@task
def index_papers() -> dict[str, Any]:
    # Imported here: every process loads this module at start-up (the signal below), few index.
    from paperfeed.search.indexing import Indexer

    # The keyword index is committed before the slow embedding pass starts.
    return Indexer().run()


def on_papers_ingested(sender: object, **kwargs: Any) -> None:
    transaction.on_commit(index_papers.enqueue)
