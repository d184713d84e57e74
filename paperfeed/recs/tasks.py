"""Background refresh of the saved "for you" window: enqueued (after the transaction commits) whenever
an import, harvest or fetch stored papers, as the search index's job is, so web processes that start
afterwards map a current window and catch up on few changes instead of building their own."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.tasks import task


@task
def refresh_window() -> dict[str, Any]:
    # Imported here: every process loads this module at start-up, few refresh (numpy, scipy).
    from paperfeed.recs import index

    return index.refresh_saved()


def on_papers_ingested(sender: object, **kwargs: Any) -> None:
    transaction.on_commit(refresh_window.enqueue)
