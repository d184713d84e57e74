from __future__ import annotations

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from paperfeed.papers.signals import papers_ingested

pytestmark = pytest.mark.django_db(transaction=True)  # the job is enqueued on commit


def test_stored_papers_enqueue_the_window_refresh_after_the_commit():
    with transaction.atomic():
        papers_ingested.send(sender=None, counts={"created": 1})
        assert not DBTaskResult.objects.filter(task_path="paperfeed.recs.tasks.refresh_window").exists()
    assert DBTaskResult.objects.filter(task_path="paperfeed.recs.tasks.refresh_window").count() == 1
