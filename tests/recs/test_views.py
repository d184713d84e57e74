"""The "For you" page, its actions, the API and the CLI."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils.html import escape

from paperfeed.recs.models import Feedback, FeedToken
from tests.conftest import paperfeed
from tests.recs.conftest import site_model

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at"),  # whitenoise, before collectstatic
]


@pytest.fixture
def reader():
    user = get_user_model().objects.create_user("reader", "reader@example.org", "a long enough password")
    user.email_verified = True
    user.save()
    return user


def save(user, *papers):
    c = site_model("feed.Collection").objects.create(user=user, name="Reading", slug="reading")
    for p in papers:
        site_model("feed.CollectionItem").objects.create(collection=c, paper=p)


def test_page_needs_a_login(client, catalogue):
    site_model("accounts.ApiToken")  # the login page is the site's
    assert client.get("/for-you").status_code == 302


def test_page_shows_recommendations_with_reasons_escaped(client, catalogue, reader):
    p = catalogue["robots"][0]
    p.title = "<b>Reinforcement</b> learning for robot grasping in clutter"
    p.save()
    save(reader, p)
    client.force_login(reader)
    page = client.get("/for-you").content.decode()
    assert "Like “&lt;b&gt;Reinforcement&lt;/b&gt;" in page and "<b>Reinforcement" not in page
    assert catalogue["robots"][1].title in page
    assert "Not interested" in page
    data = client.get("/for-you?format=json").json()
    assert data["results"][0]["reason"].startswith("Like “<b>Reinforcement")


def test_a_reason_quoting_a_tex_title_is_cut_in_plain_characters_and_escaped(client, catalogue, reader):
    p = catalogue["robots"][0]
    p.title = (
        r"<i>Grasping</i> in clutter from $\mathcal{O}(\sqrt{n})$ demonstrations with reinforcement learning"
    )
    p.save()
    save(reader, p)
    client.force_login(reader)
    quoted = "“<i>Grasping</i> in clutter from O(√n) demonstrations with reinforceme…”"
    page = client.get("/for-you").content.decode()
    assert f"Like {escape(quoted)}, which you saved" in page and "Like “<i>" not in page
    assert "\\mathcal" not in page.split('class="reason"')[1].split("</p>")[0]
    data = client.get("/for-you?format=json").json()
    assert data["results"][0]["reason"] == f"Like {quoted}, which you saved"


def test_empty_page_says_how_to_fill_it(client, catalogue, reader):
    client.force_login(reader)
    cold = client.get("/for-you").content.decode()
    assert "Nothing to recommend yet" in cold
    # Each way of filling it is a link from here, not a chore to find in the menus.
    for href in ('href="/trending"', 'href="/categories"', 'href="/search"', 'href="/settings#follows"'):
        assert href in cold, href
    assert 'id="follows"' in client.get("/settings").content.decode()  # where the last one lands
    # A reader who follows something with nothing new in it is not told to start following.
    site_model("accounts.Follow").objects.create(user=reader, kind="category", value="cs.DB")
    page = client.get("/for-you").content.decode()
    assert "Nothing new matches what you upvote, save and follow" in page
    assert "Nothing to recommend yet" not in page
    assert 'href="/settings#follows"' in page


def test_not_interested_button_and_undo(client, catalogue, reader):
    save(reader, catalogue["speech"][0])
    client.force_login(reader)
    target = catalogue["speech"][1]
    r = client.post(f"/for-you/{target.arxiv_id}/not-interested", {"next": "https://evil.example/x"})
    assert r.status_code == 302 and r["Location"] == "/for-you"  # no open redirect
    assert Feedback.objects.filter(user=reader, paper=target, kind="not_interested").exists()
    page = client.get("/for-you").content.decode()
    # Said once, with an Undo, on the page the mark came back to; then only the count stays.
    assert (
        f'Marked “<span class="tex">{target.title}</span>” not interested' in page
        and 'name="undo" value="1"' in page
    )
    assert target.title not in client.get("/for-you").content.decode()
    assert "1 marked not interested" in client.get("/for-you").content.decode()
    listed = client.get("/for-you/not-interested").content.decode()
    assert target.title in listed and f'/for-you/{target.arxiv_id}/not-interested"' in listed
    r = client.post(f"/for-you/{target.arxiv_id}/not-interested", {"undo": "1"}, follow=True)
    assert not Feedback.objects.filter(user=reader, paper=target).exists()
    assert f"“{target.title}” is back among your recommendations." in r.content.decode()
    assert "have not marked any paper" in client.get("/for-you/not-interested").content.decode()
    assert client.get(f"/for-you/{target.arxiv_id}/not-interested").status_code == 405
    assert client.post("/for-you/2699.99999/not-interested").status_code == 404


def test_opening_a_recommendation_marks_it_seen(client, catalogue, reader):
    save(reader, catalogue["speech"][0])
    client.force_login(reader)
    target = catalogue["speech"][1]
    r = client.post(f"/for-you/{target.arxiv_id}/open")
    assert r.status_code == 302 and target.arxiv_id in r["Location"]
    assert Feedback.objects.filter(user=reader, paper=target, kind="seen").exists()
    assert target.title not in client.get("/for-you").content.decode()


def test_following_a_title_without_javascript_marks_it_seen_once_and_goes_to_the_paper(
    client, catalogue, reader
):
    save(reader, catalogue["speech"][0])
    target, other = catalogue["speech"][1], catalogue["speech"][2]
    opened = f"/for-you/{target.arxiv_id}/open"

    def seen(paper=target):
        return Feedback.objects.filter(user=reader, paper=paper, kind="seen").count()

    # Nobody logged in (a copied link): the paper, and nothing recorded for anyone.
    r = client.get(opened)
    assert r.status_code == 302 and r["Location"] == f"/papers/{target.arxiv_id}"
    assert not Feedback.objects.exists()
    client.force_login(reader)
    # Another site's link or image, and a prefetch, lead to the paper without marking it.
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Purpose": "prefetch"},
    ):
        r = client.get(opened, headers=headers)
        assert r.status_code == 302 and r["Location"] == f"/papers/{target.arxiv_id}", headers
    assert client.head(opened).status_code == 302
    assert seen() == 0
    # The reader's own click (with or without Fetch Metadata): recorded, once however often.
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {}, {"Sec-Fetch-Site": "none"}):
        r = client.get(opened, headers=headers)
        assert r.status_code == 302 and r["Location"] == f"/papers/{target.arxiv_id}"
        assert "no-store" in r["Cache-Control"]
    assert seen() == 1 and seen(other) == 0
    assert target.title not in client.get("/for-you").content.decode()
    # Only ever the paper's own page: the query names no destination.
    for query in ("?next=https://evil.example/x", "?to=arxiv", "?next=//evil.example"):
        r = client.get(f"/for-you/{other.arxiv_id}/open{query}")
        assert r["Location"] == f"/papers/{other.arxiv_id}", query
    assert client.get("/for-you/2699.99999/open").status_code == 404
    assert client.put(opened).status_code == 405


def test_titles_are_links_to_the_paper_and_following_one_marks_it_seen(catalogue, reader):
    from django.test import Client

    save(reader, catalogue["speech"][0])
    client = Client(enforce_csrf_checks=True)  # as the browser's beacon meets it
    client.force_login(reader)
    target = catalogue["speech"][1]
    page = client.get("/for-you").content.decode()
    # A real link (new tab, middle-click, copy) through the redirect that marks it seen; site.js
    # points it at data-href and posts to data-seen instead.
    opened = f"/for-you/{target.arxiv_id}/open"
    assert (
        f'<a href="{opened}" data-seen="{opened}" data-href="/papers/{target.arxiv_id}">{target.title}</a>'
        in page
    )
    assert f'action="/for-you/{target.arxiv_id}/open"' not in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    assert client.post(f"/for-you/{target.arxiv_id}/open", {"beacon": "1"}).status_code == 403
    assert not Feedback.objects.filter(user=reader, paper=target).exists()
    r = client.post(f"/for-you/{target.arxiv_id}/open", {"beacon": "1", "csrfmiddlewaretoken": token[1]})
    assert r.status_code == 204
    assert Feedback.objects.filter(user=reader, paper=target, kind="seen").exists()
    assert f"/papers/{target.arxiv_id}" not in client.get("/for-you").content.decode()


def test_api_with_a_token_or_a_session(client, catalogue, reader):
    from paperfeed.accounts import services as accounts

    site_model("feed.Vote")
    save(reader, *catalogue["graphs"][:2])
    token = accounts.create_api_token(reader).secret
    assert client.get("/api/recommendations").status_code == 401
    r = client.get("/api/recommendations?limit=3", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200
    got = r.json()
    assert len(got) == 3 and all(g["reason"].startswith("Like “") for g in got)
    assert {g["primary_category"] for g in got} == {"cs.LG"}
    client.force_login(reader)
    assert client.get("/api/recommendations?limit=3").json() == got
    gone = got[0]["id"]
    r = client.post(
        f"/api/recommendations/{gone}/not_interested", headers={"authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.json() == {"id": gone, "notInterested": True, "not_interested": True}
    assert gone not in [g["id"] for g in client.get("/api/recommendations?limit=50").json()]


@pytest.mark.migrated
@pytest.mark.timeout(240)  # six CLI runs (init migrates): 33 s alone on a slow VM, >60 s beside a worker
def test_recommend_command(cli_env, tmp_path):
    assert "no user" in paperfeed("recommend", "nobody", env=cli_env, check=False).stderr
    paperfeed(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model;"
        "get_user_model().objects.create_user('cli', 'cli@example.org', 'a long enough password')",
        env=cli_env,
    )
    out = json.loads(paperfeed("recommend", "cli", "--json", env=cli_env).stdout)
    assert out == {"user": "cli", "results": []}
    assert "nothing to recommend" in paperfeed("recommend", "cli@example.org", env=cli_env).stdout
    assert paperfeed("recommend", "cli", "--limit", "0", env=cli_env, check=False).returncode != 0


def test_actions_take_the_paper_id_in_any_form_the_api_takes(client, catalogue, reader):
    # /api/recommendations/<id>v2/not_interested worked; the page's own addresses answered 404.
    save(reader, catalogue["speech"][0])
    client.force_login(reader)
    target, other = catalogue["speech"][1], catalogue["speech"][2]
    r = client.post(f"/for-you/{target.arxiv_id}v2/not-interested")
    assert r.status_code == 302
    assert Feedback.objects.filter(user=reader, paper=target, kind="not_interested").exists()
    r = client.post(f"/for-you/arXiv:{other.arxiv_id}/open")
    assert r.status_code == 302 and r["Location"] == f"/papers/{other.arxiv_id}"
    assert Feedback.objects.filter(user=reader, paper=other, kind="seen").exists()


def test_the_page_offers_more_and_the_longer_list_starts_with_the_shorter(client, catalogue, reader):
    # The page listed 30 and offered nothing beyond them.
    save(reader, catalogue["speech"][0], catalogue["graphs"][0])
    client.force_login(reader)
    short = client.get("/for-you?limit=3").content.decode()
    assert 'href="/for-you?limit=33#rec-4">Show more</a>' in short
    longer = client.get("/for-you?limit=33").content.decode()
    first = re.findall(r'<li class="card" id="rec-\d+">.*?data-href="/papers/([^"]+)"', short, re.S)
    assert len(first) == 3
    assert re.findall(r'data-href="/papers/([^"]+)"', longer)[:3] == first
    assert "Show more" not in longer  # fewer than asked for: that is all there is


def test_recommend_command_says_why_a_list_is_empty(catalogue, reader, capsys):
    from django.core.management import call_command

    call_command("recommend", "reader")
    assert "nothing to recommend to reader yet (no votes, saves or follows)" in capsys.readouterr().out
    site_model("accounts.Follow").objects.create(user=reader, kind="category", value="cs.DB")
    call_command("recommend", "reader")
    out = capsys.readouterr().out
    assert "nothing to recommend to reader yet (nothing new matches their votes, saves and follows)" in out


def test_recommend_command_spells_tex_in_plain_characters(catalogue, reader, capsys, monkeypatch):
    # A terminal runs no KaTeX: titles, and the reason's quoted title, as a mail spells them.
    from django.core.management import call_command

    from paperfeed.papers.models import Paper

    liked, *rest = catalogue["speech"]
    Paper.objects.filter(pk=liked.pk).update(title=r"Speech--to--text at $\sigma^2$")
    Paper.objects.filter(pk__in=[p.pk for p in rest]).update(
        title=r"``Robust'' ASR with 1\textpertenthousand"
    )
    save(reader, liked)
    monkeypatch.delenv("COLUMNS", raising=False)
    call_command("recommend", "reader", "--limit", "3")
    out = capsys.readouterr().out
    assert "  “Robust” ASR with 1‱\n" in out and "Like “Speech–to–text at σ²”, which you saved" in out  # noqa: RUF001
    assert "$" not in out and "\\" not in out
    call_command("recommend", "reader", "--limit", "3", "--json")
    got = json.loads(capsys.readouterr().out)["results"]
    assert {r["title"] for r in got} == {r"``Robust'' ASR with 1\textpertenthousand"}
    # The reason is text wherever it goes, its quoted title in plain characters (KaTeX renders none).
    assert all(r["reason"].startswith("Like “Speech–to–text at σ²”") for r in got)  # noqa: RUF001


def test_a_paper_withdrawn_since_leaves_the_similar_papers_of_a_page(client, catalogue, reader):
    # A paper page keeps its similar papers' ids for an hour; one withdrawn meanwhile stayed listed.
    from paperfeed.papers.models import Paper, PaperChange
    from paperfeed.recs import index

    index.candidates()  # this process holds the window: a page view may use its text features
    client.force_login(reader)  # a fresh render, not the anonymous page cache
    page, *rest = catalogue["speech"]

    def similar_on_page():
        html = client.get(f"/papers/{page.arxiv_id}").content.decode()
        return re.findall(r'<li><a class="tex" href="/papers/([^"]+)"', html)

    listed = similar_on_page()
    assert listed and set(listed) <= {p.arxiv_id for p in rest}
    gone = Paper.objects.get(arxiv_id=listed[0])
    gone.status = Paper.Status.WITHDRAWN
    gone.save(update_fields=["status"])
    PaperChange.objects.create(paper=gone)
    assert similar_on_page() == listed[1:]


def test_api_and_json_twin_give_the_apis_paper_shape(client, catalogue, reader):
    """Every other list gives Hugging Face's entry around the paper as /api/papers/<id> has it; the
    recommendations had a shape of their own (`primary_category`, `announced`, authors as strings).
    Those keys stay beside the new ones for one release, marked deprecated in the OpenAPI document."""
    save(reader, *catalogue["graphs"][:2])
    client.force_login(reader)
    got = client.get("/api/recommendations?limit=4").json()
    assert len(got) == 4
    for g in got:
        detail = client.get(f"/api/papers/{g['id']}").json()
        assert g["paper"] == detail
        assert g["title"] == detail["title"] and g["summary"] == detail["summary"]
        assert g["publishedAt"] == detail["publishedAt"] and g["numComments"] == detail["numComments"]
        assert g["reason"].startswith("Like “") and isinstance(g["score"], float) and g["because"]
        # The old keys, until the next release.
        assert g["id"] == detail["id"] and g["authors"] == [a["name"] for a in detail["authors"]]
        assert g["primary_category"] == detail["primaryCategory"] == "cs.LG"
        assert g["announced"] == detail["announcedAt"]
    assert client.get("/for-you?format=json&limit=4").json() == {"results": got}  # the page's twin
    doc = client.get("/api/openapi.json").json()
    item = doc["paths"]["/api/recommendations"]["get"]["responses"]["200"]["content"]["application/json"]
    name = item["schema"]["items"]["$ref"].rsplit("/", 1)[1]
    fields = doc["components"]["schemas"][name]["properties"]
    assert {k for k, v in fields.items() if v.get("deprecated")} == {
        "id",
        "authors",
        "primary_category",
        "announced",
    }
    assert {"paper", "score", "reason", "because"} <= set(doc["components"]["schemas"][name]["required"])


def test_api_pages_follow_the_apis_one_paging_rule(client, catalogue, reader):
    # `p` was ignored: a client paging through got the first page again and again.
    save(reader, catalogue["speech"][0], catalogue["graphs"][0])
    client.force_login(reader)
    whole = [g["id"] for g in client.get("/api/recommendations?limit=100").json()]
    assert len(whole) > 6
    pages = [[g["id"] for g in client.get(f"/api/recommendations?limit=3&p={p}").json()] for p in range(9)]
    assert [i for page in pages for i in page] == whole and pages[-1] == []
    # A page's ranks are places in the whole list, not on the page.
    assert [g["rank"] for g in client.get("/api/recommendations?limit=3&p=1").json()] == [4, 5, 6]
    assert client.get("/api/recommendations?p=5").json() == []  # past the best 100
    r = client.get("/api/recommendations?p=-1")
    assert r.status_code == 400 and r.json()["error"].startswith("p (the page, from 0) must be")


def test_a_malformed_limit_is_a_400_not_the_first_30(client, catalogue, reader):
    # `?limit=abc` was read as 30 without a word: the API's rule now, on the page and its JSON twin.
    client.force_login(reader)
    for bad in ("abc", "0", "-5", "%2B5", "5.0", ""):
        r = client.get(f"/for-you?limit={bad}")
        assert r.status_code == 400 and "limit (how many papers to list) must be" in r.content.decode(), bad
        r = client.get(f"/for-you?format=json&limit={bad}")
        assert r.status_code == 400 and "from 1 to 100 in plain digits" in r.json()["error"], bad
    assert client.get("/for-you?limit=100000").status_code == 200  # more is read as 100


def test_while_the_window_is_built_the_page_lists_the_newest_of_liked_categories(
    client, catalogue, reader, home, monkeypatch
):
    from paperfeed.core import warmup
    from paperfeed.recs import index, store

    liked = catalogue["speech"][0]
    save(reader, liked)
    site_model("feed.Vote").objects.create(user=reader, paper=catalogue["speech"][1])
    Feedback.objects.create(user=reader, paper=catalogue["speech"][2], kind=Feedback.Kind.NOT_INTERESTED)
    monkeypatch.setattr(warmup, "serving", True)  # a web worker: it never builds the window itself
    client.force_login(reader)
    with store.builder_lock():  # another process is building it
        page = client.get("/for-you")
        data = client.get("/for-you?format=json")
    assert not index.loaded() and not list((home / "recs").glob(f"{store.PREFIX}*"))
    text = page.content.decode()
    assert page.status_code == 200 and "being prepared" in text and "Show more" not in text
    shown = re.findall(r"arXiv:(\d{4}\.\d{5})", text)
    # The speech papers (cs.CL) newest first, but none the reader liked, voted on or dismissed.
    assert shown == [p.arxiv_id for p in catalogue["speech"][3:]]
    assert text.count("New in cs.CL, where papers you liked are") == 3
    assert data.status_code == 503 and int(data["Retry-After"]) >= 1
    assert data.json()["retryAfter"] == int(data["Retry-After"]) and "being prepared" in data.json()["error"]


def test_while_the_window_is_built_the_page_reads_the_users_signals_once(
    client, catalogue, reader, home, monkeypatch
):
    """recommend() reads the signals, then finds no window; provisional() read them again (4 queries
    more), and the page a third time for its notice: now the view reads them once for all three."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from paperfeed.core import warmup
    from paperfeed.recs import store

    save(reader, catalogue["speech"][0])
    site_model("feed.Vote").objects.create(user=reader, paper=catalogue["speech"][1])
    Feedback.objects.create(user=reader, paper=catalogue["speech"][2], kind=Feedback.Kind.NOT_INTERESTED)
    site_model("accounts.Follow").objects.create(user=reader, kind="author", value="ada-robots0")
    monkeypatch.setattr(warmup, "serving", True)  # a web worker: it never builds the window itself
    FeedToken.objects.of(reader)  # made on the first visit: its insert is not this page's read
    client.force_login(reader)
    with store.builder_lock(), CaptureQueriesContext(connection) as queries:  # another process builds
        page = client.get("/for-you")
    text = page.content.decode()
    assert page.status_code == 200 and "being prepared" in text and "1 marked not interested" in text
    assert "Newest papers in your categories" in text
    sqls = [q["sql"] for q in queries.captured_queries]
    read = {
        table: sum(f'FROM "{table}"' in sql for sql in sqls)
        for table in ("feed_vote", "feed_collectionitem", "recs_feedback", "accounts_follow")
    }
    assert read == dict.fromkeys(read, 1), sqls
    # The session and its user, the 4 signals, the liked papers' categories, the pool, its papers,
    # the feed token.
    assert len(sqls) == 10, sqls
