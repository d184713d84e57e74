"""What an operator's walkthrough found, in-process against the fake arXiv: the bare (timer) harvest
continues the set harvested before, harvest and fetch agree on `published`, nonsense arguments are
refused before anything is sent, unreadable API answers are retried aloud, and the progress line
counts pages."""

from __future__ import annotations

import datetime as dt

import pytest

from paperfeed.papers.harvest import Harvester
from paperfeed.papers.lookup import fetch
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
