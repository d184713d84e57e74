"""feed.feeds as a feed reader polls them: conditional GET (ETag and If-None-Match on every feed;
If-Modified-Since only where Last-Modified is true), HEAD, and the channel saying how it is sorted."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from defusedxml import ElementTree as ET
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date

from paperfeed.feed import services
from tests.sitedata import load_papers, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def papers():  # type: ignore[no-untyped-def]
    papers = load_papers(6)
    for p in papers[:4]:
        services.submit(p.arxiv_id, None, timezone.localdate())
    services.upvote(make_user("fan"), papers[0])
    return papers


def feed_urls(papers) -> list[str]:  # type: ignore[no-untyped-def]
    cat = papers[0].primary_category_id
    return [
        f"/{base}/feed.{kind}"
        for base in ("papers", "trending", f"categories/{cat}")
        for kind in ("rss", "atom")
    ]


def test_every_feed_answers_304_to_its_etag(papers) -> None:  # type: ignore[no-untyped-def]
    for url in feed_urls(papers):  # trending's too: no entry names the second it was scored at
        first = Client().get(url)
        assert first.status_code == 200 and first["ETag"], url
        again = Client().get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again.content == b"", url
        assert Client().get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200, url
        head = Client().head(url)
        assert head.status_code == 200 and head["ETag"] == first["ETag"], url


def test_a_vote_changes_the_daily_feed_so_no_date_may_claim_it_unchanged(  # type: ignore[no-untyped-def]
    papers, django_capture_on_commit_callbacks
) -> None:
    """The daily and trending feeds show upvotes (and trending's order follows them), which change
    without any item's date changing: their newest date is no Last-Modified, and If-Modified-Since
    alone never gets a 304 there."""
    later = http_date((timezone.now() + dt.timedelta(days=1)).timestamp())
    for url in ("/papers/feed.rss", "/papers/feed.atom", "/trending/feed.rss", "/trending/feed.atom"):
        r = Client().get(url, HTTP_IF_MODIFIED_SINCE=later)
        assert r.status_code == 200 and "Last-Modified" not in r, url
    tag = Client().get("/papers/feed.rss")["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        services.upvote(make_user("late"), papers[1])
    after = Client().get("/papers/feed.rss", HTTP_IF_NONE_MATCH=tag)
    assert after.status_code == 200 and after["ETag"] != tag


def test_a_trending_feed_polled_again_between_votes_is_the_same(papers) -> None:  # type: ignore[no-untyped-def]
    """Its entries carry no trending reason: that names the second it was scored at, so every
    poll got new bytes and a new ETag."""
    for url in ("/trending/feed.rss", "/trending/feed.atom"):
        first = Client().get(url)
        assert "counted upvote" not in first.content.decode() and "▲ 1" in first.content.decode()
        assert Client().get(url).content == first.content, url


def test_a_category_feed_answers_if_modified_since_from_its_papers_dates(papers) -> None:  # type: ignore[no-untyped-def]
    url = f"/categories/{papers[0].primary_category_id}/feed.atom"
    first = Client().get(url)
    stamp = first["Last-Modified"]
    assert Client().get(url, HTTP_IF_MODIFIED_SINCE=stamp).status_code == 304
    earlier = http_date(1_000_000_000)  # 2001: every paper here is newer
    assert Client().get(url, HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200


def test_the_daily_feed_says_how_it_is_sorted(papers) -> None:  # type: ignore[no-untyped-def]
    root = ET.fromstring(Client().get("/papers/feed.rss").content)
    assert root.findtext("channel/description") == "Papers the community submitted, newest first."
    # Newest first it is: paper 0 has the only vote and was submitted first, so it comes last.
    links = [i.findtext("link") or "" for i in root.findall("channel/item")]
    assert links[-1].endswith(papers[0].arxiv_id) and len(links) == 4


def test_a_feed_link_lands_on_a_page_that_explains_the_feed(papers) -> None:  # type: ignore[no-untyped-def]
    # A reader clicking "RSS" got raw XML. The site's links lead to a page with the addresses to copy
    # and what the feed lists; the addresses themselves stay XML for feed readers.
    from django.conf import settings

    from paperfeed.feed.models import SavedSearch

    cat = papers[0].primary_category_id
    saved = SavedSearch.objects.create(user=make_user("reader"), query='<script>alert("x")</script>')
    day = timezone.localdate()
    for page, feed in [
        (f"/papers/feed?date={day}", f"/papers/feed.{{}}?date={day}"),
        ("/trending/feed", "/trending/feed.{}"),
        (f"/categories/{cat}/feed", f"/categories/{cat}/feed.{{}}"),
        (f"/search/saved/{saved.token}/feed", f"/search/saved/{saved.token}/feed.{{}}"),
    ]:
        r = Client().get(page)
        html = r.content.decode()
        assert r.status_code == 200 and r["Content-Type"].startswith("text/html"), page
        for kind in ("rss", "atom"):
            url = settings.BASE_URL + feed.format(kind)
            assert f'value="{url}"' in html, (page, url)  # the absolute address, to copy
            assert f'data-copy="{kind}-url"' in html
        assert "<script>alert" not in html
    daily = Client().get(f"/papers/feed?date={day}").content.decode()
    # Its preview is the feed's own list: the day's submissions, linked to their pages.
    for p in papers[:4]:
        assert f'href="/papers/{p.arxiv_id}"' in daily
    assert f'href="/papers/{papers[5].arxiv_id}"' not in daily
    assert Client().get("/search/saved/wrong-token/feed").status_code == 404
    assert Client().get("/papers/feed?date=garbage").status_code == 400
    # No content negotiation: a browser's Accept header still gets the XML a feed reader gets.
    xml = Client().get("/papers/feed.rss", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert xml["Content-Type"].startswith("application/rss+xml")


def test_every_link_the_site_shows_to_a_feed_leads_to_its_page(papers) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.feed.models import SavedSearch

    reader = make_user("reader")
    SavedSearch.objects.create(user=reader, query="diffusion")
    c = Client()
    c.force_login(reader)
    cat = papers[0].primary_category_id
    for url in ["/", "/papers?date=2025-03-01", "/trending", f"/categories/{cat}", "/settings", "/search"]:
        html = c.get(url).content.decode()
        links = re.findall(r'<a [^>]*href="([^"]*)"', html)
        assert [h for h in links if re.search(r"feed\.(rss|atom)", h)] == [], url
        assert any(re.search(r"/feed(\?|$)", h) for h in links), url
    # The head's autodiscovery links, which feed readers and browser extensions follow, stay XML.
    head = c.get("/papers").content.decode()
    assert (
        '<link rel="alternate" type="application/rss+xml" title="Daily papers (RSS)" href="/papers/feed.rss">'
        in head
    )


def test_an_items_author_is_the_names_it_lists_each_whole(papers) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.papers.models import Paper

    names = [f"Author Number{i} Longsurname{'x' * 20}" for i in range(14)]
    Paper.objects.filter(pk=papers[1].pk).update(
        authors=[{"name": n, "key": f"a{i}"} for i, n in enumerate(names)],
        authors_text=", ".join(names[:-1]) + " and " + names[-1],
    )
    Paper.objects.filter(pk=papers[2].pk).update(
        authors=[{"name": "Ada Lovelace", "key": "ada"}, {"name": "Alan Turing", "key": "alan"}],
        authors_text="Ada Lovelace and Alan Turing",
    )
    atom = "{http://www.w3.org/2005/Atom}"
    dc = "{http://purl.org/dc/elements/1.1/}creator"
    for kind in ("rss", "atom"):
        root = ET.fromstring(Client().get(f"/papers/feed.{kind}").content)
        by_link = (
            {i.findtext("link"): i.findtext(dc) for i in root.iter("item")}
            if kind == "rss"
            else {
                e.find(f"{atom}link").get("href"): e.findtext(f"{atom}author/{atom}name")
                for e in root.iter(f"{atom}entry")
            }
        )
        many = next(v for k, v in by_link.items() if k.endswith(papers[1].arxiv_id))
        two = next(v for k, v in by_link.items() if k.endswith(papers[2].arxiv_id))
        # It was arXiv's line cut at 300 characters, mid-name, and "A and B" beside the text's "A, B".
        assert many == ", ".join(names[:10]) + " et al.", kind
        assert two == "Ada Lovelace, Alan Turing", kind


ATOM = "{http://www.w3.org/2005/Atom}"


def _descriptions(kind: str) -> dict[str, str]:
    root = ET.fromstring(Client().get(f"/papers/feed.{kind}").content)
    if kind == "rss":
        return {i.findtext("link") or "": i.findtext("description") or "" for i in root.iter("item")}
    return {
        e.find(f"{ATOM}link").get("href"): e.findtext(f"{ATOM}summary") or ""  # type: ignore[union-attr]
        for e in root.iter(f"{ATOM}entry")
    }


def test_an_items_abstract_spells_its_tex_in_plain_characters_escaped(papers) -> None:  # type: ignore[no-untyped-def]
    """Feed readers run no KaTeX: the abstract's TeX showed as `$\\alpha$` where the title spelled it out.
    arXiv's hard wraps are joined, its paragraphs kept, and its text stays text."""
    from paperfeed.papers.models import Paper

    abstract = (
        "With $\\alpha<\\beta$ and Schr\\\"odinger's R&D,\nwe <script>alert(1)</script> win.\n"
        "\n  A second paragraph."
    )
    Paper.objects.filter(pk=papers[1].pk).update(abstract=abstract)
    for kind in ("rss", "atom"):
        html = next(v for k, v in _descriptions(kind).items() if k.endswith(papers[1].arxiv_id))
        assert (
            "<p>With \u03b1&lt;\u03b2 and Schrödinger&#x27;s R&amp;D, "
            "we &lt;script&gt;alert(1)&lt;/script&gt; win.</p>" in html
        ), kind
        assert "<p>A second paragraph.</p>" in html and "$" not in html and "<script>" not in html, kind


def test_an_items_title_has_the_typography_in_plain_characters(papers) -> None:  # type: ignore[no-untyped-def]
    """Feed readers show a title as text: TeX's dashes and quotes as the page sets them, the formula
    spelled out, and the markup as characters (the XML escapes them, a reader shows them)."""
    from paperfeed.papers.models import Paper

    Paper.objects.filter(pk=papers[1].pk).update(
        title="Self--Supervised ``Zero-Shot'' <b>x</b> --- with $\\alpha$"
    )
    shown = "Self\u2013Supervised \u201cZero-Shot\u201d <b>x</b> \u2014 with \u03b1"
    rss = ET.fromstring(Client().get("/papers/feed.rss").content)
    assert shown in [i.findtext("title") for i in rss.iter("item")]
    atom = ET.fromstring(Client().get("/papers/feed.atom").content)
    assert shown in [e.findtext(f"{ATOM}title") for e in atom.iter(f"{ATOM}entry")]


def test_an_empty_feed_is_dated_the_start_of_the_day_so_a_poll_gets_the_same_bytes(papers) -> None:  # type: ignore[no-untyped-def]
    """With no entry to take a date from, the feed was dated the current second: every poll of an
    empty feed (trending on a Monday, a quiet category) got new bytes and a new ETag, never a 304."""
    today = timezone.now().astimezone(dt.UTC).date()
    empty_week = f"{today.year - 1}-W10"  # a week with no submissions
    atom = Client().get(f"/trending/feed.atom?week={empty_week}")
    root = ET.fromstring(atom.content)
    assert root.find(f"{ATOM}entry") is None
    assert root.findtext(f"{ATOM}updated") == f"{today.isoformat()}T00:00:00+00:00"
    rss = ET.fromstring(Client().get(f"/trending/feed.rss?week={empty_week}").content)
    assert rss.findtext("channel/lastBuildDate") == f"{today:%a, %d %b %Y} 00:00:00 +0000"
    again = Client().get(f"/trending/feed.atom?week={empty_week}", HTTP_IF_NONE_MATCH=atom["ETag"])
    assert again.status_code == 304


def test_if_modified_since_sees_a_change_that_moves_no_entry_date(papers) -> None:  # type: ignore[no-untyped-def]
    """A category feed's Last-Modified was its newest entry's date: a paper stored or corrected
    later with an older date (a second batch of the same day, arXiv fixing a title) left it as it
    was, and a reader polling with If-Modified-Since alone got a 304 for a list that had changed.
    It is now the newest of the entries' dates and of the times their rows were written."""
    from paperfeed.papers.models import Paper

    Paper.objects.update(modified_at=timezone.now() - dt.timedelta(hours=2))
    url = f"/categories/{papers[0].primary_category_id}/feed.atom"
    first = Client().get(url)
    stamp = first["Last-Modified"]
    assert Client().get(url, HTTP_IF_MODIFIED_SINCE=stamp).status_code == 304
    Paper.objects.filter(pk=papers[0].pk).update(title="A corrected title", modified_at=timezone.now())
    changed = Client().get(url, HTTP_IF_MODIFIED_SINCE=stamp)
    assert changed.status_code == 200 and "A corrected title" in changed.content.decode()
    updated = ET.fromstring(changed.content).findtext(f"{ATOM}updated") or ""
    assert dt.datetime.fromisoformat(updated) > dt.datetime.fromisoformat(
        ET.fromstring(first.content).findtext(f"{ATOM}updated") or ""
    )


def test_a_list_page_offers_its_own_feed_first(papers) -> None:  # type: ignore[no-untyped-def]
    """A feed reader given a page's address subscribes to the first feed the page links: the
    trending and category pages named the daily feed first."""
    cat = papers[0].primary_category_id
    for page, own in (("/trending", "/trending/feed"), (f"/categories/{cat}", f"/categories/{cat}/feed")):
        html = Client().get(page).content.decode()
        hrefs = re.findall(
            r'<link rel="alternate" type="application/(?:rss|atom)\+xml"[^>]* href="([^"]+)"', html
        )
        assert hrefs[:2] == [f"{own}.rss", f"{own}.atom"], page
        assert "/papers/feed.rss" in hrefs, page  # the site's own feed is still offered, after


def test_an_entry_without_author_names_has_no_empty_author(papers) -> None:  # type: ignore[no-untyped-def]
    """It had `<author><name></name></author>` (RSS: an empty `dc:creator`); the Atom feed now names
    paperfeed as its own author, which RFC 4287 requires when an entry has none."""
    from paperfeed.papers.models import Paper

    Paper.objects.filter(pk=papers[1].pk).update(authors=[], authors_text="")
    atom = ET.fromstring(Client().get("/papers/feed.atom").content)
    assert atom.findtext(f"{ATOM}author/{ATOM}name") == "paperfeed"
    for entry in atom.iter(f"{ATOM}entry"):
        names = [n.text for n in entry.iter(f"{ATOM}name")]
        if entry.findtext(f"{ATOM}id", "").endswith(papers[1].arxiv_id):
            assert names == [], names
        else:
            assert names and all(names), names
    rss = ET.fromstring(Client().get("/papers/feed.rss").content)
    creators = [c.text for c in rss.iter("{http://purl.org/dc/elements/1.1/}creator")]
    assert len(creators) == 3 and all(creators), creators


def test_a_feed_is_gzipped_for_a_reader_that_asks_and_still_answers_304(papers) -> None:  # type: ignore[no-untyped-def]
    import gzip

    for url in feed_urls(papers):
        plain = Client().get(url)
        assert "Content-Encoding" not in plain, url
        packed = Client().get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")
        assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"], url
        assert gzip.decompress(packed.content) == plain.content, url
        again = Client().get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"])
        assert again.status_code == 304, url
