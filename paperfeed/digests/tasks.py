"""Background jobs of the digests: transactional notices, and the scheduled send (hourly, by the worker)."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from paperfeed.core.tasks import MAIL_QUEUE
from paperfeed.digests import services


@task(queue_name=MAIL_QUEUE)
def send_notice(kind: str, subscriber_id: int, message_id: str = "") -> bool:
    """A confirmation link ("confirm") or an already-subscribed note ("already")."""
    return services.send_notice(kind, subscriber_id, message_id)


@task()
def send_due_digests() -> dict[str, Any]:
    return services.send().as_json()
