"""What an operator's walkthrough found, in-process against the fake arXiv: the bare (timer) harvest
continues the set harvested before, harvest and fetch agree on `published`, nonsense arguments are
refused before anything is sent, unreadable API answers are retried aloud, and the progress line
counts pages."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from paperfeed.papers.harvest import Harvester
from paperfeed.papers.lookup import fetch, lookup_records
from paperfeed.papers.models import Paper
from paperfeed.papers.sources.http import ArxivClient
from tests.fakes.arxiv import FakeArxiv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pointed(fake: FakeArxiv, scaled: float, monkeypatch: pytest.MonkeyPatch) -> FakeArxiv:
    """The process's settings point at the fake arXiv, as the CLI's environment would."""
    for k, v in fake.env().items():
        monkeypatch.setenv(k, v)
    return fake


# --- 2. a date-only <created> never replaces the API's time of the same day ---------------------------


def test_harvest_and_fetch_stop_overwriting_each_others_published(
    pointed: FakeArxiv, client: ArxivClient
) -> None:
    day = dt.date(2026, 6, 25)
    aid = sorted(i for i, r in pointed.records.items() if r.datestamp == day)[0]
    _, _, counts = fetch([aid], client)
    assert counts["created"] == 1
    precise = Paper.objects.get(arxiv_id=aid).published
    assert precise is not None and (precise.hour, precise.minute) == (12, 0)

    # The harvest adds what the API does not say (an announcement estimate), but keeps the time.
    out = Harvester(pointed.oai, None, client).run(day, day)
    assert out["read"] == 40 and out["created"] == 39 and out["updated"] == 1
    assert Paper.objects.get(arxiv_id=aid).published == precise

    _, _, counts = fetch([aid], client)
    assert (counts["updated"], counts["unchanged"]) == (0, 1)
    out = Harvester(pointed.oai, None, client).run(day, day)
    assert (out["updated"], out["unchanged"]) == (0, 40)
    assert Paper.objects.get(arxiv_id=aid).published == precise

    # Harvested first (midnight, from the date alone): the API's time is news once, then stays.
    other = sorted(i for i, r in pointed.records.items() if r.datestamp == day)[1]
    assert Paper.objects.get(arxiv_id=other).published.hour == 0  # type: ignore[union-attr]
    assert fetch([other], client)[2]["updated"] == 1
    assert Harvester(pointed.oai, None, client).run(day, day)["updated"] == 0
    assert Paper.objects.get(arxiv_id=other).published.hour == 12  # type: ignore[union-attr]


# --- 4. an unreadable API answer is retried aloud --------------------------------------------------------


def test_fetch_logs_each_retry_of_an_unreadable_answer(
    pointed: FakeArxiv, client: ArxivClient, caplog: pytest.LogCaptureFixture
) -> None:
    aid = sorted(pointed.records)[0]
    pointed.faults.extend(["html", "truncated"])
    with caplog.at_level(logging.WARNING, logger="paperfeed.papers.lookup"):
        found, _ = lookup_records([aid], client)
    assert [r.arxiv_id for r in found] == [aid]
    retries = [r.getMessage() for r in caplog.records if "unreadable arXiv API answer" in r.getMessage()]
    assert len(retries) == 2, caplog.text
    assert retries[0].endswith("retrying in 3 s") and retries[1].endswith("retrying in 6 s")
    assert "HTML" in retries[0] or "html" in retries[0], retries[0]
