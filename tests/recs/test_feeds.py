"""The private "for you" feed: what a feed reader gets at the address /for-you shows, and the 404s
of an address reset, mistyped or of a deactivated account."""

from __future__ import annotations

import re

import pytest
from defusedxml import ElementTree as ET
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from paperfeed.core.text import about
from paperfeed.recs.models import Feedback, FeedToken
from tests.recs.conftest import site_model

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at"),  # whitenoise, before collectstatic
]

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def reader(catalogue):  # type: ignore[no-untyped-def]
    """A reader who saved a robots paper whose title has markup in it."""
    user = get_user_model().objects.create_user("reader", "reader@example.org", "a long enough password")
    liked = catalogue["robots"][0]
    liked.title = "<b>Reinforcement</b> learning for robot grasping & clutter"
    liked.save()
    c = site_model("feed.Collection").objects.create(user=user, name="Reading", slug="reading")
    site_model("feed.CollectionItem").objects.create(collection=c, paper=liked)
    return user


def feed_address(user) -> str:  # type: ignore[no-untyped-def]
    """The address as the reader finds it: the /for-you page's autodiscovery link."""
    client = Client()
    client.force_login(user)
    r = client.get("/for-you")
    assert "private" in r["Cache-Control"]  # the page shows the address, which is the reader's secret
    page = r.content.decode()
    found = re.search(
        r'<link rel="alternate" type="application/rss\+xml" title="For you \(RSS\)" href="([^"]+)"', page
    )
    assert found, "no feed autodiscovery on /for-you"
    assert re.search(r'type="application/atom\+xml" title="For you \(Atom\)" href="[^"]+\.atom"', page)
    return found[1]


def test_rss_lists_the_recommendations_with_their_reasons_escaped(reader, catalogue) -> None:  # type: ignore[no-untyped-def]
    url = feed_address(reader)
    token = FeedToken.objects.get(user=reader).token
    assert url == f"/for-you/{token}/feed.rss" and len(token) == 32
    expected = Client()
    expected.force_login(reader)
    recs = expected.get("/for-you?format=json").json()["results"]
    assert recs, "the reader has recommendations"

    r = Client().get(url)  # a feed reader: no session, no cookie
    assert r.status_code == 200 and r["Content-Type"].startswith("application/rss+xml")
    assert r["Cache-Control"] == "private"
    channel = ET.fromstring(r.content).find("channel")
    assert channel.findtext("title") == "paperfeed: for you"
    items = channel.findall("item")
    # The page's list, in its order (the feed is longer than nothing the page shows: 50 vs 30).
    assert [i.findtext("link") for i in items] == [
        settings.BASE_URL + f"/papers/{e['paper']['id']}" for e in recs[: len(items)]
    ]
    first = items[0].findtext("description")
    # The reason names the liked paper: its markup is text in the item's HTML, never markup.
    assert "Like “&lt;b&gt;Reinforcement&lt;/b&gt; learning for robot grasping &amp; clutter”" in first
    assert "<b>Reinforcement" not in first
    assert recs[0]["reason"].startswith("Like “<b>Reinforcement")
    # Reading the feed marks nothing seen: the next poll lists the same papers.
    assert not Feedback.objects.filter(user=reader).exists()
    assert Client().get(url).content == r.content


def test_atom_is_the_same_list(reader) -> None:  # type: ignore[no-untyped-def]
    rss = feed_address(reader)
    r = Client().get(rss.replace(".rss", ".atom"))
    assert r.status_code == 200 and r["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    entries = feed.findall(f"{ATOM}entry")
    items = ET.fromstring(Client().get(rss).content).find("channel").findall("item")
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == [i.findtext("link") for i in items]
    assert "Like “&lt;b&gt;Reinforcement" in entries[0].findtext(f"{ATOM}summary")
    self_link = [x.get("href") for x in feed.findall(f"{ATOM}link") if x.get("rel") == "self"]
    assert self_link == [settings.BASE_URL + rss.replace(".rss", ".atom")]


def test_the_feed_page_lists_both_addresses(reader) -> None:  # type: ignore[no-untyped-def]
    rss = feed_address(reader)
    r = Client().get(rss.removesuffix(".rss"))
    html = r.content.decode()
    assert r.status_code == 200 and r["X-Robots-Tag"] == "noindex"
    assert f'value="{settings.BASE_URL}{rss}"' in html
    assert f'value="{settings.BASE_URL}{rss.replace(".rss", ".atom")}"' in html
    assert "<b>Reinforcement" not in html


def test_reset_gives_a_new_address_and_the_old_one_404s(reader) -> None:  # type: ignore[no-untyped-def]
    old = feed_address(reader)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reader)
    assert browser.get("/for-you/feed/reset").status_code == 405  # a link cannot reset it
    assert browser.post("/for-you/feed/reset").status_code == 403  # nor another site's form
    assert Client().get(old).status_code == 200
    page = browser.get("/for-you").content.decode()
    csrf = re.search(
        r'action="/for-you/feed/reset"[^>]*><input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"',
        page,
    )
    assert csrf
    r = browser.post("/for-you/feed/reset", {"csrfmiddlewaretoken": csrf[1]})
    assert r.status_code == 302 and r["Location"] == "/for-you#feed"
    new = feed_address(reader)
    assert new != old
    for gone in (old, old.replace(".rss", ".atom"), old.removesuffix(".rss")):
        assert Client().get(gone).status_code == 404, gone
    assert Client().get(new).status_code == 200
    assert "new address" in browser.get("/for-you").content.decode()


def test_unknown_token_and_deactivated_account_404(reader) -> None:  # type: ignore[no-untyped-def]
    url = feed_address(reader)
    assert Client().get("/for-you/" + "x" * 32 + "/feed.rss").status_code == 404
    assert Client().get("/for-you/" + "x" * 32 + "/feed").status_code == 404
    reader.is_active = False
    reader.save()
    for gone in (url, url.replace(".rss", ".atom"), url.removesuffix(".rss")):
        assert Client().get(gone).status_code == 404, gone
    reader.is_active = True
    reader.save()
    assert Client().get(url).status_code == 200  # the same address again: the token was kept


def test_each_reader_has_their_own_feed(reader, catalogue) -> None:  # type: ignore[no-untyped-def]
    other = get_user_model().objects.create_user("other", "other@example.org", "a long enough password")
    c = site_model("feed.Collection").objects.create(user=other, name="Reading", slug="reading")
    site_model("feed.CollectionItem").objects.create(collection=c, paper=catalogue["speech"][0])
    mine, theirs = feed_address(reader), feed_address(other)
    assert mine != theirs
    speech = {settings.BASE_URL + f"/papers/{p.arxiv_id}" for p in catalogue["speech"][1:]}
    feed = Client().get(theirs).content
    assert ET.fromstring(feed).find("channel/item/link").text in speech
    assert "you saved" in feed.decode() and "Like “&amp;lt;b&amp;gt;Reinforcement" not in feed.decode()


def test_while_recommendations_are_prepared_the_feed_says_when_to_come_back(
    reader, home, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.core import warmup
    from paperfeed.recs import store

    token = FeedToken.objects.of(reader).token
    monkeypatch.setattr(warmup, "serving", True)  # a web worker: it never builds the window itself
    with store.builder_lock():  # another process is building it
        # Not an empty list, which a reader would take for "nothing new", nor another list.
        for url in (f"/for-you/{token}/feed.rss", f"/for-you/{token}/feed.atom"):
            r = Client().get(url)
            assert r.status_code == 503 and int(r["Retry-After"]) >= 1, url
            assert "being prepared" in r.json()["error"]
        # The feed's page is read in a browser: the site's 503 page, which says the wait in words
        # (it was the feed reader's JSON), and the same wait in Retry-After.
        r = Client().get(f"/for-you/{token}/feed")
        assert r.status_code == 503 and r["Content-Type"].startswith("text/html")
        wait = int(r["Retry-After"])
        assert 1 <= wait <= 300 and r["Cache-Control"] == "no-store" and r["X-Robots-Tag"] == "noindex"
        main = r.content.decode().split("<main", 1)[1]
        assert (
            "<h1>Temporarily unavailable</h1>" in main and "Your recommendations are being prepared" in main
        )
        assert f"Please try again in {about(wait)}." in main
        # An address that is no feed is still a 404, not a 503 that would say it is one.
        assert Client().get("/for-you/" + "x" * 32 + "/feed").status_code == 404
        reader.is_active = False
        reader.save()
        assert Client().get(f"/for-you/{token}/feed").status_code == 404
