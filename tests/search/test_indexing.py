"""The indexer's report of one run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def _restored(state_path: Path) -> None:
    """The state as a home moved from another database (or this one before a restore) keeps it:
    the same change id, another change behind it."""
    state = json.loads(state_path.read_text())
    state["change"]["at"] = "2001-01-01T00:00:00+00:00"
    state_path.write_text(json.dumps(state))


def test_indexes_read_from_another_database_are_built_again(indexed: dict[str, Any], home: Path) -> None:
    _restored(indexing.keyword_dir() / "state.json")
    _restored(indexing.vector_dir() / "state.json")
    report = Indexer().run()
    assert report["keyword"]["rebuilt"] and report["keyword"]["indexed"] == 8
    assert report["keyword"]["documents"] == 8
    # The embeddings are the database's own (their watermark is kept in it): only the vectors again.
    assert report["embeddings"]["embedded"] == 0
    assert report["vectors"]["added"] == 8 and report["vectors"]["vectors"] == 8
    again = Indexer().run()
    assert not again["keyword"]["rebuilt"] and again["keyword"]["indexed"] == 0
    assert again["vectors"]["added"] == 0


def test_a_state_kept_before_the_change_mark_is_taken_at_its_word(
    indexed: dict[str, Any], home: Path
) -> None:
    path = indexing.keyword_dir() / "state.json"
    path.write_text(json.dumps({"watermark": json.loads(path.read_text())["watermark"]}))
    report = Indexer().run(semantic=False)["keyword"]
    assert not report["rebuilt"] and report["indexed"] == 0  # an upgrade does not rebuild every index
    assert json.loads(path.read_text())["change"]["paper"]  # and it is kept from now on
