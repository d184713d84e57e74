"""A paper edited in the admin (a moderator setting it withdrawn, a corrected title) reaches the
search indexes as an imported change does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
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
