from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    """Jobs run when enqueued (after commit), so a request's reset mail is sent before the test looks."""
    settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": []}
    }


@pytest.fixture
def queued_tasks(settings: Any) -> Iterator[list[Any]]:
    """Jobs are kept in memory, not run: the list of what was enqueued (Django's dummy backend)."""
    from django.tasks import default_task_backend

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": []}}
    default_task_backend.clear()  # type: ignore[attr-defined]
    yield default_task_backend.results  # type: ignore[attr-defined]
    default_task_backend.clear()  # type: ignore[attr-defined]
