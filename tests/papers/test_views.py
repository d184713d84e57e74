"""/healthz beyond the database: a keyword index awaiting its rebuild after an upgrade."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from paperfeed.search import indexing
from paperfeed.search.indexing import Indexer
from paperfeed.search.keyword import SCHEMA_VERSION
from tests.search.conftest import as_version_1, home, ingest, records  # noqa: F401  (home: a fixture)

pytestmark = pytest.mark.django_db


def test_healthz_says_the_keyword_index_is_stale_until_the_rebuild_the_site_queued(
    home: Path,  # noqa: F811
) -> None:
    from django_tasks_db.models import DBTaskResult

    ingest(records())
    Indexer().run(semantic=False)
    as_version_1(indexing.keyword_dir())
    stale = f"keyword index: schema v1, code expects v{SCHEMA_VERSION}"
    client = Client()

    def health() -> dict[str, str]:
        answer = client.get("/healthz")
        assert answer.status_code == 200  # search still answers: a load balancer keeps the process
        return dict(json.loads(answer.content))

    assert health() == {"status": "degraded", "database": "up", "search": f"{stale}, no rebuild queued"}
    # The site's search answers from the database meanwhile, and queues the rebuild.
    page = client.get("/search", {"q": "speculative decoding", "mode": "keyword"}).content.decode()
    assert "/papers/2503.00001" in page
    assert health()["search"] == f"{stale}, rebuild queued"
    DBTaskResult.objects.get().task.call()  # the worker's run of it
    assert health() == {"status": "ok", "database": "up"}
