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
