"""The indexer's report of one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperfeed.search import indexing
from paperfeed.search.indexing import Indexer
from tests.search.conftest import ingest, records

pytestmark = pytest.mark.django_db


def test_the_report_counts_every_vector_sync_of_the_run(db: None, home: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Small chunks and a sync after each: the run's vectors are added over several syncs.
    monkeypatch.setattr(indexing, "EMBED_CHUNK", 3)
    monkeypatch.setattr(indexing, "VECTOR_SYNC_SECONDS", -1.0)
    ingest(records())
    report = Indexer().run()
    assert report["embeddings"]["embedded"] == 8
    assert report["vectors"]["added"] == 8 and report["vectors"]["vectors"] == 8
    assert Indexer().run()["vectors"]["added"] == 0  # a fresh run counts afresh


def test_an_index_job_that_finds_another_indexer_returns_and_comes_back(db: None, home: Path) -> None:
    """A worker must not wait out another node-local build (`paperfeed index`, minutes): it serves
    mail too. The changes that enqueued the job are indexed by the job it leaves queued."""
    from django_tasks_db.models import DBTaskResult

    from paperfeed.search.tasks import index_papers, pending_index_jobs

    ingest(records())
    with indexing.index_lock():  # the other indexer, started before these changes were read
        out = index_papers.call()
        assert out["skipped"] == "another indexer is running here"
        assert index_papers.call()["skipped"]  # a second one finds the first one's retry queued
        assert pending_index_jobs() == 1
    retry = DBTaskResult.objects.get(task_path=index_papers.module_path)
    assert retry.status == "READY" and retry.run_after > retry.enqueued_at
    report = retry.task.call()
    assert report["keyword"]["indexed"] == 8 and report["keyword"]["documents"] == 8


def test_the_index_lock_refuses_at_once_when_asked_not_to_wait(home: Path) -> None:
    with indexing.index_lock(), pytest.raises(indexing.IndexBusy), indexing.index_lock(wait=False):
        pass
