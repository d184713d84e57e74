"""A paper edited in the admin (a moderator setting it withdrawn, a corrected title) reaches the
search indexes as an imported change does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from paperfeed.papers.models import Paper, PaperChange
from paperfeed.search.indexing import Indexer
from paperfeed.search.services import search
from paperfeed.search.tasks import index_papers
from tests.search.conftest import home, ingest, records  # noqa: F401  (home: a fixture)

pytestmark = pytest.mark.django_db


def _ids(query: str) -> list[str]:
    return [h.arxiv_id for h in search(query, mode="keyword").hits]


def _edit_in_the_admin(client: Client, paper: Paper, **changes: str) -> None:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "x" * 20)
    client.force_login(admin)
    url = f"/admin/papers/paper/{paper.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    data |= {"authors": '[{"name": "A"}]', "versions": '[{"version": 1}]'}  # the admin refuses []
    data |= {"links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0", **changes}
    r = client.post(url, data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r


def test_a_paper_withdrawn_in_the_admin_leaves_search(
    client: Client,
    home: Path,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    ingest(records())
    Indexer().run()
    paper = Paper.objects.get(arxiv_id=_ids("speculative decoding")[0])
    changes = PaperChange.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        _edit_in_the_admin(client, paper, status=Paper.Status.WITHDRAWN)
    assert PaperChange.objects.filter(paper=paper).count() == 2 and PaperChange.objects.count() == changes + 1
    # The worker's index job is queued, as after an import; run here what it runs.
    assert DBTaskResult.objects.filter(task_path=index_papers.module_path, status="READY").exists()
    report = Indexer().run()
    assert report["keyword"]["removed"] == 1
    assert paper.arxiv_id not in _ids("speculative decoding")


def test_the_admin_does_not_delete_a_paper(client: Client) -> None:
    # A deleted paper took its votes, comments and change rows with it (cascade), and stayed in the
    # search indexes; its status (withdrawn, deleted) is how it leaves the site.
    paper = Paper.objects.create(arxiv_id="2601.00001", title="Kept")
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "x" * 20)
    client.force_login(admin)
    assert client.post(f"/admin/papers/paper/{paper.pk}/delete/", {"post": "yes"}).status_code == 403
    changelist = client.post(
        "/admin/papers/paper/", {"action": "delete_selected", "_selected_action": [paper.pk], "post": "yes"}
    )
    assert changelist.status_code in {200, 302}
    assert Paper.objects.filter(pk=paper.pk).exists()
    assert "delete_selected" not in client.get("/admin/papers/paper/").content.decode()


def _found(client: Client, query: str) -> tuple[list[str], list[str]]:
    """The arXiv ids the admin's paper search lists, and the SQL it ran."""
    with CaptureQueriesContext(connection) as q:
        r = client.get("/admin/papers/paper/", {"q": query})
    assert r.status_code == 200
    return sorted(p.arxiv_id for p in r.context["cl"].result_list), [x["sql"] for x in q.captured_queries]


def test_the_paper_search_finds_by_arxiv_id_and_by_title_word_through_the_keyword_index(
    client: Client,
    home: Path,  # noqa: F811
) -> None:
    ingest(records())
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.org", "x" * 20))
    paper = Paper.objects.filter(title__icontains="speculative decoding").first()
    assert paper is not None
    # Before the index is built Django's own search answers (a scan of the titles).
    found, sql = _found(client, "speculative")
    assert paper.arxiv_id in found and any("LIKE" in s.upper() for s in sql)
    Indexer().run()
    # The plain list reads no column of every paper: no DISTINCT for the filters or the dates, and
    # its count stops at the cap (core.admin.CappedPaginator).
    with CaptureQueriesContext(connection) as q:
        assert client.get("/admin/papers/paper/", {"source": "oai"}).status_code == 200
    papers = [x["sql"].upper() for x in q.captured_queries if "PAPERS_PAPER" in x["sql"].upper()]
    assert papers and not any("DISTINCT" in s or ("COUNT(" in s and "LIMIT" not in s) for s in papers)
    for query in (paper.arxiv_id, f"arXiv:{paper.arxiv_id}v1"):
        found, sql = _found(client, query)
        assert found == [paper.arxiv_id], query
    found, sql = _found(client, "speculative")
    assert found == sorted(_ids("speculative")) and paper.arxiv_id in found
    assert not _likes_over_every_paper(sql)  # no scan of every title
    found, sql = _found(client, "nothing-matches-this-zq")
    assert found == [] and not _likes_over_every_paper(sql)  # no fallback to a scan once indexed
    _found(client, '"unclosed (')  # search syntax typed by hand: a page (_found checks the 200)

    # A withdrawn paper has left the keyword index: its title word still finds it, by a scan of the
    # hidden papers alone (Paper.objects.hidden), as does an author's name.
    Paper.objects.filter(pk=paper.pk).update(status=Paper.Status.WITHDRAWN)
    PaperChange.objects.create(paper_id=paper.pk)
    Indexer().run()
    assert paper.arxiv_id not in _ids("speculative")
    for query in ("Speculative", paper.authors_text.split(",")[0].strip()):
        found, sql = _found(client, query)
        assert paper.arxiv_id in found and not _likes_over_every_paper(sql), query
    assert _found(client, "speculative")[0] == sorted([*_ids("speculative"), paper.arxiv_id])
    # Its words are read one by one, as every list's search box reads them: each in the title or
    # the authors, in any order, or a quoted phrase as written.
    words = paper.title.split()
    surname = paper.authors_text.split(",")[0].split()[-1]
    for query in (f"{words[-1]} {words[0]}", f"{surname} {words[1]}", f'"{words[0]} {words[1]}"'):
        found, sql = _found(client, query)
        assert paper.arxiv_id in found and not _likes_over_every_paper(sql), query
    for query in (f"{words[0]} zqxjvw", f'"{words[1]} {words[0]}"'):
        assert paper.arxiv_id not in _found(client, query)[0], query


def _likes_over_every_paper(sql: list[str]) -> list[str]:
    """The LIKEs on the papers' text not confined to the hidden ones (the `paper_hidden` index)."""
    return [s for s in sql if "LIKE" in s.upper() and "papers_paper" in s and '"status"' not in s]
