"""Fixtures of the digest tests: papers of a period, subscribers, a sender fast enough for tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from paperfeed.digests.models import Subscriber
from paperfeed.papers.records import AuthorName, PaperRecord
from paperfeed.papers.services import Ingestor

PERIOD = dt.date(2026, 11, 27)  # a Friday
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def make_papers(
    n: int,
    day: dt.date = PERIOD,
    *,
    prefix: str = "2611",
    cats: tuple[str, ...] = ("cs.CL",),
    title: str = "Paper {i}",
    abstract: str = "Code at https://github.com/x/p{i}",
) -> list[str]:
    ids = [f"{prefix}.{i:05d}" for i in range(1, n + 1)]
    with Ingestor("test") as ing:
        for i, arxiv_id in enumerate(ids, 1):
            ing.add(PaperRecord(
                arxiv_id=arxiv_id, title=title.format(i=i), abstract=abstract.format(i=i),
                authors=[AuthorName("Doe", "Jane"), AuthorName(f"Author{i}", "Sam")],
                categories=list(cats), announced=day,
            ))  # fmt: skip
    return ids


def real_papers(n: int) -> list[str]:
    """The first `n` records of the shared real snapshot (announced 2025-03-18 onwards, ~200 a
    weekday: 3,000 reach 2025-04-03), stored as an import would; their ids."""
    import gzip
    import itertools

    from paperfeed.papers.sources.snapshot import parse_line
    from tests.conftest import SNAPSHOT

    with gzip.open(SNAPSHOT, "rb") as f:
        records = [parse_line(line) for line in itertools.islice(f, n)]
    with Ingestor("test") as ing:
        ing.add_all(records)
    return [r.arxiv_id for r in records]


def make_subscribers(
    n: int, *, status: str = Subscriber.Status.CONFIRMED, prefix: str = "reader", **kw: Any
) -> list[Subscriber]:
    kw.setdefault("categories", ["cs.CL"])  # content from follows, whatever the trending source is
    return [
        Subscriber.objects.create(email=f"{prefix}{i}@example.org", status=status, **kw)
        for i in range(1, n + 1)
    ]


@pytest.fixture
def fast_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    """No rate limit and short backoff (tests that measure those set their own)."""
    monkeypatch.setenv("PAPERFEED_DIGEST_RATE", "0")
    monkeypatch.setenv("PAPERFEED_DIGEST_HOURLY", "0")
    monkeypatch.setenv("PAPERFEED_DIGEST_RETRY_DELAY", "0.01")


@pytest.fixture
def immediate_tasks(settings: Any) -> Iterator[None]:
    """Tasks run when enqueued (after commit), so a request's mail is sent before the test looks."""
    settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": []}
    }
    return


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    """WhiteNoise warns (an error under -W error) when STATIC_ROOT does not exist yet."""
    from django.conf import settings

    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def keyword_index(settings: Any, tmp_path: Any) -> Iterator[Any]:
    """A real keyword index under a fresh home: call the yielded function after adding papers."""
    from paperfeed.search import services
    from paperfeed.search.indexing import Indexer

    settings.HOME = tmp_path
    services.use_engine(None)
    yield lambda: Indexer().run(semantic=False)
    services.use_engine(None)
