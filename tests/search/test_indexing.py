"""The indexer's report of one run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from paperfeed.core.models import Lease
from paperfeed.search import indexing, services
from paperfeed.search.indexing import Indexer
from paperfeed.search.keyword import SCHEMA_VERSION
from tests.search.conftest import as_version_1, ingest, records

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
    # Of this layout (a state without a version is an older layout's: rebuilt for that, not this).
    path.write_text(
        json.dumps({"watermark": json.loads(path.read_text())["watermark"], "schema": SCHEMA_VERSION})
    )
    report = Indexer().run(semantic=False)["keyword"]
    assert not report["rebuilt"] and report["indexed"] == 0  # an upgrade does not rebuild every index
    assert json.loads(path.read_text())["change"]["paper"]  # and it is kept from now on


def _rebuild_jobs() -> list[Any]:
    from django_tasks_db.models import DBTaskResult

    from paperfeed.search.tasks import rebuild_keyword_index

    return list(DBTaskResult.objects.filter(task_path=rebuild_keyword_index.module_path))


@pytest.fixture
def stale(db: None, home: Path) -> Path:
    """A home whose keyword index an older release wrote (layout version 1), up to date otherwise."""
    ingest(records())
    Indexer().run(semantic=False)
    as_version_1(indexing.keyword_dir())
    return indexing.keyword_dir()


def test_the_layout_version_is_recorded_or_told_by_the_fields(stale: Path) -> None:
    assert indexing.keyword_version() == 1
    assert indexing.keyword_staleness() == f"schema v1, code expects v{SCHEMA_VERSION}"
    assert indexing.keyword_version(indexing.keyword_next_dir()) is None  # no index there
    report = Indexer().run(semantic=False)["keyword"]
    assert json.loads((stale / "state.json").read_text())["schema"] == SCHEMA_VERSION
    assert report["rebuilt"]
    # An index of the current fields that recorded no version was written before versions were, by
    # v2's code: stale since v3 reads British spellings as American ones, though its fields are these.
    state = json.loads((stale / "state.json").read_text())
    del state["schema"]
    (stale / "state.json").write_text(json.dumps(state))
    assert indexing.keyword_version() == 2
    assert indexing.keyword_staleness() == f"schema v2, code expects v{SCHEMA_VERSION}"
    assert Indexer().run(semantic=False)["keyword"]["rebuilt"]
    assert indexing.keyword_version() == SCHEMA_VERSION and indexing.keyword_staleness() is None


def test_a_stale_index_is_built_again_beside_it_and_swapped_in(stale: Path) -> None:
    before = (stale / "meta.json").read_text()
    report = Indexer().run(semantic=False)["keyword"]
    assert report["rebuilt"] and report["reason"] == f"schema v1, code expects v{SCHEMA_VERSION}"
    assert report["indexed"] == 8 and report["documents"] == 8
    assert indexing.keyword_staleness() is None and (stale / "meta.json").read_text() != before
    assert sorted(p.name for p in indexing.search_dir().iterdir() if p.name.startswith("keyword")) == [
        "keyword"
    ]
    found = services.search("speculative decoding", mode="keyword")
    assert [h.arxiv_id for h in found.hits][:1] == ["2503.00001"] and found.indexed
    again = Indexer().run(semantic=False)["keyword"]
    assert not again["rebuilt"] and again["reason"] is None and again["indexed"] == 0


def test_an_index_whose_fields_changed_without_a_new_version_is_stale_too(stale: Path) -> None:
    state = json.loads((stale / "state.json").read_text())
    (stale / "state.json").write_text(json.dumps({**state, "schema": SCHEMA_VERSION}))
    assert indexing.keyword_staleness() is None  # by the version alone: tantivy finds it out
    report = Indexer().run(semantic=False)["keyword"]
    assert report["rebuilt"] and "fields are not those of the code" in report["reason"]
    assert report["documents"] == 8 and indexing.keyword_staleness() is None


def test_searches_on_a_stale_index_answer_without_it_and_queue_one_rebuild(stale: Path) -> None:
    from paperfeed.search.tasks import keyword_health

    assert keyword_health() == f"keyword index: schema v1, code expects v{SCHEMA_VERSION}, no rebuild queued"
    for _ in range(3):  # each a new process's engine: they share nothing but the database
        services.use_engine(None)
        for query in ("speculative decoding", "diffusion", "graph neural networks"):
            found = services.search(query, mode="keyword")
            assert not found.indexed and not found.hits
            assert found.message.startswith(services.STALE) and "rebuild queued" in found.message
    [job] = _rebuild_jobs()
    assert job.status == "READY"
    assert keyword_health() == f"keyword index: schema v1, code expects v{SCHEMA_VERSION}, rebuild queued"

    report = job.task.call()  # what the worker runs
    assert report["keyword"]["rebuilt"] and report["keyword"]["documents"] == 8 and "embeddings" not in report
    assert keyword_health() is None
    found = services.search("speculative decoding", mode="keyword")  # the same engine opens the new one
    assert found.indexed and [h.arxiv_id for h in found.hits][:1] == ["2503.00001"]
    assert len(_rebuild_jobs()) == 1


def test_a_failed_rebuild_is_not_queued_again_at_once(stale: Path) -> None:
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from paperfeed.search.tasks import keyword_health, queue_keyword_rebuild

    assert queue_keyword_rebuild(indexing.keyword_staleness) == "rebuild queued"
    DBTaskResult.objects.update(
        status="FAILED", finished_at=timezone.now(), exception_class_path="builtins.OSError"
    )
    assert queue_keyword_rebuild(indexing.keyword_staleness).startswith("rebuild failed just now (OSError")
    assert "rebuild failed just now (OSError; `paperfeed jobs` shows why)" in (keyword_health() or "")
    assert len(_rebuild_jobs()) == 1
    DBTaskResult.objects.update(finished_at=timezone.now() - dt.timedelta(hours=1))
    assert queue_keyword_rebuild(indexing.keyword_staleness) == "rebuild queued"  # tried again later
    assert len(_rebuild_jobs()) == 2


def test_a_process_that_finds_another_deciding_queues_nothing(stale: Path) -> None:
    from paperfeed.core import leases
    from paperfeed.search.tasks import REBUILD_LEASE, queue_keyword_rebuild

    other = leases.Held(REBUILD_LEASE, 30.0)
    other.holder = "another-host:1:1"
    with transaction.atomic():
        Lease.objects.create(name=REBUILD_LEASE, holder=other.holder, expires_at=leases.DbNow() + 30.0)
    assert queue_keyword_rebuild(indexing.keyword_staleness) == "rebuild queued"
    assert _rebuild_jobs() == []
    other.release()
    assert queue_keyword_rebuild(indexing.keyword_staleness) == "rebuild queued"
    assert len(_rebuild_jobs()) == 1


def test_a_rebuild_job_that_finds_another_indexer_comes_back(stale: Path) -> None:
    from paperfeed.search.tasks import pending_index_jobs, rebuild_keyword_index

    with indexing.index_lock():
        assert rebuild_keyword_index.call()["skipped"] == "another indexer is running here"
    assert pending_index_jobs(rebuild_keyword_index) == 1
    [retry] = _rebuild_jobs()
    assert retry.task.call()["keyword"]["rebuilt"]
