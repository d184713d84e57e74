"""RELIABILITY §2c bad inputs not covered in test_harvest.py: resumption tokens without
`completeListSize` or empty, datestamps in the future, and the text of records (abstracts with `<`,
`&amp;` and `$<$`, titles with newlines and double spaces, 1,000+ authors) from the OAI page to the
database, the paper page and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from paperfeed.papers.harvest import Harvester, HarvestError, state_name
from paperfeed.papers.models import Authorship, Paper
from paperfeed.papers.services import state_get
from paperfeed.papers.sources.http import ArxivClient
from paperfeed.papers.sources.oai import parse_page
from tests.fakes.arxiv import OAI_HEAD, FakeArxiv, OaiRecord, spread

ARXIV_NS = 'xmlns="http://arxiv.org/OAI/arXiv/"'


def page(records: str, token: str = "") -> bytes:
    return (
        OAI_HEAD + "<responseDate>2026-07-02T20:00:00Z</responseDate>"
        '<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>'
        f"<ListRecords>{records}{token}</ListRecords></OAI-PMH>"
    ).encode()


def record(arxiv_id: str, stamp: str, metadata: str) -> str:
    return (
        f"<record><header><identifier>oai:arXiv.org:{arxiv_id}</identifier><datestamp>{stamp}</datestamp>"
        f"<setSpec>cs</setSpec></header><metadata><arXiv {ARXIV_NS}><id>{arxiv_id}</id>"
        f"<created>2026-06-30</created>{metadata}<categories>cs.LG</categories></arXiv></metadata></record>"
    )


ONE = record(
    "2606.00001", "2026-07-01", "<authors><author><keyname>Doe</keyname></author></authors><title>T</title>"
)


# --- resumption tokens ------------------------------------------------------------------------------


def test_a_token_without_complete_list_size_is_followed() -> None:
    got = parse_page(page(ONE, "<resumptionToken>6960524|1001</resumptionToken>"))
    assert got.token == "6960524|1001" and got.complete_list_size is None and got.cursor is None
    # Attributes that are present but not numbers are ignored the same way, never an error.
    odd = parse_page(page(ONE, '<resumptionToken completeListSize="" cursor="x">t2</resumptionToken>'))
    assert odd.token == "t2" and odd.complete_list_size is None and odd.cursor is None


@pytest.mark.parametrize(
    "token",
    [
        "<resumptionToken/>",
        '<resumptionToken completeListSize="41" cursor="40"/>',
        "<resumptionToken>  \n </resumptionToken>",
        "",
    ],
)
def test_an_empty_or_absent_token_is_the_end_of_the_list(token: str) -> None:
    got = parse_page(page(ONE, token))
    assert not got.token and [i.arxiv_id for i in got.items] == ["2606.00001"]


@pytest.mark.django_db(transaction=True)
def test_tokens_without_list_size_then_an_empty_token_harvest_everything(
    docs: list[dict[str, Any]], client: ArxivClient
) -> None:
    # The fake never sends completeListSize and ends the list with <resumptionToken/>, as arXiv does.
    fake = FakeArxiv(spread(docs[:50], dt.date(2026, 6, 30), 2), page_size=20).start()
    try:
        out = Harvester(fake.oai, None, client).run(dt.date(2026, 6, 30))
        assert (out["pages"], out["created"]) == (3, 50)
        assert len(fake.oai_requests()) == 3  # the empty token asked for nothing more
    finally:
        fake.stop()


@pytest.mark.django_db(transaction=True)
def test_a_truncated_gzip_answer_is_asked_for_again(fake: FakeArxiv, client: ArxivClient) -> None:
    # One page compressed whole, the next cut mid-stream (twice): read, retried, nothing lost.
    fake.faults.extend(["gzip:whole", "gzip:cut", "gzip:cut"])
    out = Harvester(fake.oai, None, client).run(dt.date(2026, 6, 25))
    assert out["created"] == 240 and Paper.objects.count() == 240
    assert out["retries"] == 2 and len(fake.oai_requests()) == 12 + 2


# --- datestamps in the future -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_future_datestamps_are_stored_but_never_move_the_position_past_now(
    docs: list[dict[str, Any]], client: ArxivClient
) -> None:
    today = dt.date(2026, 7, 2)  # the fake's responseDate
    future = today + dt.timedelta(days=240)  # past the fake's day, whatever the real date
    records = spread(docs[:40], dt.date(2026, 6, 30), 2) + spread(docs[40:75], future, 1)
    fake = FakeArxiv(records, page_size=20).start()
    try:
        name = state_name(fake.oai, None)
        # Three pages (the third all future-dated), then arXiv fails: the run's resume point, where a
        # badResumptionToken restart would ask from, is capped at the server's day, not the future one.
        fake.faults.extend(["", "", "", *["503:3"] * 8])
        fake.faults = type(fake.faults)(f or None for f in fake.faults)  # type: ignore[misc]
        with pytest.raises(HarvestError):
            Harvester(fake.oai, None, client).run(dt.date(2026, 6, 30))
        run = state_get(name)["run"]
        assert run["resume_from"] <= today.isoformat() and run["token"]

        out = Harvester(fake.oai, None, client).run()
        assert out["created"] == 15 and Paper.objects.count() == 75  # the future ones are stored
        assert state_get(name) == {"next_from": today.isoformat()}

        # The next day's run asks from the last day harvested, not from the future day: nothing is skipped.
        fake.today = today + dt.timedelta(days=1)
        fake.records.update({r.arxiv_id: r for r in spread(docs[75:80], fake.today, 1)})
        before = len(fake.oai_requests())
        out = Harvester(fake.oai, None, client).run()
        assert fake.oai_requests()[before].query["from"] == today.isoformat()
        assert out["created"] == 5 and Paper.objects.count() == 80
        assert state_get(name) == {"next_from": fake.today.isoformat()}
    finally:
        fake.stop()


@pytest.mark.django_db(transaction=True)
def test_without_a_response_date_future_datestamps_are_capped_at_our_own_day(
    docs: list[dict[str, Any]], client: ArxivClient
) -> None:
    future = (timezone.now() + dt.timedelta(days=90)).date()
    records = spread(docs[:20], dt.date(2026, 6, 30), 1) + spread(docs[20:60], future, 1)
    fake = FakeArxiv(records, page_size=20).start()
    try:
        # Two pages without the (required) responseDate, the second all future-dated, then arXiv
        # fails on the third: the resume point stays at today, not 90 days ahead.
        fake.faults.extend(["nodate", "nodate", *["503:3"] * 8])
        with pytest.raises(HarvestError):
            Harvester(fake.oai, None, client).run(dt.date(2026, 6, 30))
        run = state_get(state_name(fake.oai, None))["run"]
        assert run["resume_from"] <= timezone.now().date().isoformat() and run["token"]
    finally:
        fake.stop()


# --- the text of records ----------------------------------------------------------------------------

ABSTRACT = "We show x < y for all R&amp;D budgets, and $<$ in TeX; A&B <b>not bold</b>."
TITLE = "A title\n  broken over   lines\tand  spaced"


@pytest.fixture
def text_fake(docs: list[dict[str, Any]]) -> Any:
    many = [[f"Author{i:04d}", "Ann"] for i in range(1200)]
    special = [
        docs[0] | {"id": "2606.00101", "title": TITLE, "abstract": ABSTRACT, "categories": "cs.LG"},
        docs[1] | {"id": "2606.00102", "authors_parsed": many, "categories": "cs.LG"},
    ]
    fake = FakeArxiv([OaiRecord(d, dt.date(2026, 7, 1)) for d in special], page_size=20).start()
    try:
        yield fake
    finally:
        fake.stop()


def test_entities_and_markup_in_the_xml_parse_to_the_text() -> None:
    meta = (
        "<authors><author><keyname>Doe</keyname></author></authors>"
        "<title>A title\n  broken over   lines</title>"
        "<abstract>x &lt; y, R&amp;amp;D, $&lt;$ and &#60;b&#62;</abstract>"
    )
    [item] = parse_page(page(record("2606.00001", "2026-07-01", meta))).items
    assert item.record is not None
    assert item.record.abstract == "x < y, R&amp;D, $<$ and <b>"
    assert item.record.title == "A title broken over lines"


@pytest.mark.django_db(transaction=True)
def test_abstracts_with_markup_characters_are_stored_and_shown_escaped(
    text_fake: FakeArxiv, client: ArxivClient
) -> None:
    Harvester(text_fake.oai, None, client).run(dt.date(2026, 7, 1))
    paper = Paper.objects.get(arxiv_id="2606.00101")
    assert paper.abstract == ABSTRACT  # exactly what the XML's entities stood for
    assert paper.title == "A title broken over lines and spaced"

    html = Client().get("/papers/2606.00101").content.decode()
    assert "x &lt; y" in html and "R&amp;amp;D" in html and "$&lt;$" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>not bold</b>" not in html
    assert "A title broken over lines and spaced" in html

    # The API gives the text itself, not HTML: JSON-decoded, it is the stored abstract.
    api = Client().get("/api/papers/2606.00101")
    assert api.status_code == 200
    assert api.json()["summary"] == ABSTRACT and api.json()["title"] == paper.title


@pytest.mark.django_db(transaction=True)
def test_a_record_with_1200_authors(text_fake: FakeArxiv, client: ArxivClient) -> None:
    Harvester(text_fake.oai, None, client).run(dt.date(2026, 7, 1))
    paper = Paper.objects.get(arxiv_id="2606.00102")
    assert len(paper.authors) == 1200
    assert Authorship.objects.filter(paper=paper).count() == 1200
    keys = Authorship.objects.filter(paper=paper).order_by("position").values_list("author__key", flat=True)
    assert len(set(keys)) == 1200 and "author0000" in keys[0] and "author1199" in keys[1199]

    # The paper page lists every author; listing pages show six and a count.
    r = Client().get("/papers/2606.00102")
    assert r.status_code == 200 and "Ann Author1199" in r.content.decode()
    listing = Client().get("/categories/cs.LG").content.decode()
    assert "Ann Author0005" in listing and "and 1194 more" in listing
    assert "Ann Author0006" not in listing
    api = Client().get("/api/papers/2606.00102").json()
    assert len(api["authors"]) == 1200
