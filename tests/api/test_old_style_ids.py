"""Old-style arXiv ids (cs/0101001, math.GT/0309136) hold a slash: every /api/papers/{id} route takes
them as the API gives them back, URL-encoded or not, beside the routes that share the prefix."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from paperfeed.accounts import services as accounts
from paperfeed.feed import services
from paperfeed.feed.models import Comment, Vote
from paperfeed.papers.models import Paper
from paperfeed.recs.models import Feedback
from tests.sitedata import load_papers, make_user

OLD = ("cs/0101001", "math/0309136")


def store_old_style_papers() -> list[Paper]:
    """The snapshot's first record stored under old-style ids (the snapshot holds none)."""
    for ident in OLD:
        load_papers(1, arxiv_id=ident)
    return [Paper.objects.get(arxiv_id=ident) for ident in OLD]


@pytest.fixture
def old_papers() -> list[Paper]:
    return store_old_style_papers()


@pytest.mark.django_db
def test_a_paper_and_its_comments_by_old_style_id(old_papers) -> None:  # type: ignore[no-untyped-def]
    paper = old_papers[0]
    services.add_comment(make_user("critic"), paper, "first")
    c = Client()
    for spelled in ("cs/0101001", "cs%2F0101001", "cs%2f0101001", "cs/0101001v1", "arXiv:cs/0101001"):
        r = c.get(f"/api/papers/{spelled}")
        assert r.status_code == 200, spelled
        assert r.json()["id"] == "cs/0101001" and r.json()["title"] == paper.title, spelled
        assert r.json()["numComments"] == 1, spelled
        comments = c.get(f"/api/papers/{spelled}/comments")
        assert comments.status_code == 200, spelled
        assert [(x["paper"], x["body"]) for x in comments.json()] == [("cs/0101001", "first")], spelled
    # A subject class names the archive's paper (arXiv's own abs pages do the same).
    r = c.get("/api/papers/math.GT/0309136")
    assert r.status_code == 200 and r.json()["id"] == "math/0309136"
    assert c.get("/api/papers/math.GT%2F0309136/comments").json() == []


@pytest.mark.django_db
def test_unknown_and_malformed_old_style_ids_are_json_404s(old_papers) -> None:  # type: ignore[no-untyped-def]
    c = Client()
    for path in (
        "/api/papers/cs/0101002",  # well-formed, not stored
        "/api/papers/cs/0101002/comments",
        "/api/papers/cs/0101001/no-such-route",
        "/api/papers/cs/abc",
        "/api/papers/cs/0101001/comments/extra",
    ):
        r = c.get(path)
        assert r.status_code == 404 and r["Content-Type"].startswith("application/json"), path
        assert r.json()["error"], path


@pytest.mark.django_db
def test_routes_beside_the_id_still_resolve(old_papers) -> None:  # type: ignore[no-untyped-def]
    """`search` and `submit` sit where an id would; an id-shaped path never reaches them, nor they it."""
    c = Client()
    word = old_papers[0].title.split()[0]
    hits = c.get(f"/api/papers/search?q={word}")
    assert hits.status_code == 200 and isinstance(hits.json(), list)
    assert "cs/0101001" in {h["paper"]["id"] for h in hits.json()}
    token = accounts.create_api_token(make_user("poster")).secret
    r = c.post(
        "/api/papers/submit",
        {"id": "cs/0101001"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert r.status_code == 201 and r.json()["paper"]["id"] == "cs/0101001"
    assert c.get("/api/papers/submit").status_code == 405  # the route, not a paper called "submit"


@pytest.mark.django_db
def test_writes_by_old_style_id(old_papers) -> None:  # type: ignore[no-untyped-def]
    paper = old_papers[1]
    user = make_user("voter")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(user).secret}"}
    c = Client()
    r = c.post("/api/papers/math/0309136/upvote", **auth)
    assert r.status_code == 200 and r.json() == {"id": "math/0309136", "upvotes": 1, "voted": True}
    assert Vote.objects.filter(paper=paper, user=user).exists()
    r = c.delete("/api/papers/math%2F0309136/upvote", **auth)
    assert r.status_code == 200 and r.json()["upvotes"] == 0
    assert not Vote.objects.filter(paper=paper).exists()
    r = c.post(
        "/api/papers/math%2F0309136/comments",
        {"body": "old but good"},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 201 and r.json()["paper"] == "math/0309136"
    assert Comment.objects.get(paper=paper).body == "old but good"
    assert c.post("/api/papers/math/0309136/upvote").status_code == 401  # still needs a token


@pytest.mark.django_db
def test_every_id_the_api_gives_addresses_its_paper(old_papers) -> None:  # type: ignore[no-untyped-def]
    """Ids read from the lists, the user page, a vote and a comment, put back into a path as given."""
    paper = old_papers[0]
    fan = make_user("fan")
    services.submit(paper.arxiv_id, fan, timezone.localdate())
    services.upvote(fan, paper)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(fan).secret}"}
    c = Client()
    given = {
        c.get(f"/api/daily_papers?date={timezone.localdate()}").json()[0]["paper"]["id"],
        c.get(f"/api/daily_papers?date={timezone.localdate()}").json()[0]["paper"]["discussionId"],
        c.get("/api/users/fan").json()["upvoted"][0],
        c.post(f"/api/papers/{paper.arxiv_id}/upvote", **auth).json()["id"],
        c.post(
            f"/api/papers/{paper.arxiv_id}/comments", {"body": "x"}, content_type="application/json", **auth
        ).json()["paper"],
    }
    assert given == {"cs/0101001"}
    [ident] = given
    assert c.get(f"/api/papers/{ident}").json()["id"] == ident
    assert c.get(f"/api/papers/{ident}/comments").json()[0]["paper"] == ident


@pytest.mark.django_db(transaction=True)
def test_old_style_ids_over_http(live_server) -> None:  # type: ignore[no-untyped-def]
    """Through a real server, with the slash as sent on the wire: plain, or encoded as %2F by a
    client that quotes the whole id (Hugging Face's client puts it in the path as is)."""
    from huggingface_hub import HfApi

    store_old_style_papers()
    for path in ("/api/papers/cs/0101001", "/api/papers/cs%2F0101001", "/api/papers/cs%2F0101001/comments"):
        r = httpx.get(live_server.url + path)
        assert r.status_code == 200, path
        assert r.request.url.raw_path.decode() == path  # httpx sent it as written
    info = HfApi(endpoint=live_server.url, token=False).paper_info("cs/0101001")
    assert info.id == "cs/0101001"


@pytest.mark.django_db
def test_not_interested_takes_an_old_style_id(old_papers) -> None:  # type: ignore[no-untyped-def]
    """The recommendations router shares the API's id converter: a slash id, encoded or versioned."""
    reader = make_user("reader")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(reader).secret}"}
    c = Client()
    for spelled, undo in (("cs/0101001", "false"), ("cs%2F0101001v1", "true"), ("math.GT/0309136", "false")):
        r = c.post(f"/api/recommendations/{spelled}/not_interested?undo={undo}", **auth)
        assert r.status_code == 200, spelled
        assert r.json()["notInterested"] is r.json()["not_interested"] is (undo == "false"), spelled
    assert c.post("/api/recommendations/cs/0101002/not_interested", **auth).status_code == 404
    assert c.post("/api/recommendations/not-an-id/not_interested", **auth).status_code == 404
    marked = Feedback.objects.of(reader.id).not_interested().values_list("paper__arxiv_id", flat=True)
    assert set(marked) == {"math/0309136"}
