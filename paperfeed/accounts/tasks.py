"""Background jobs of the accounts: the password-reset mail.

A reset request only enqueues this job, whether or not the address has an account, so the request
does the same work either way (RELIABILITY S4); looking the address up and mailing happen here."""

from __future__ import annotations

from django.tasks import task

from paperfeed.accounts import services
from paperfeed.core.tasks import MAIL_QUEUE


@task(queue_name=MAIL_QUEUE)
def send_password_reset(email: str, message_id: str = "") -> int:
    return services.send_password_reset(email, message_id)
