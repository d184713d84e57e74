"""The console mailer (no EMAIL_URL): a mail on stderr that a person can read and whose links work."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client

from paperfeed.accounts import services as accounts
from paperfeed.accounts.models import User
from paperfeed.digests.console import SEPARATOR, ConsoleBackend


def _printed(message: Any) -> str:
    out = io.StringIO()
    ConsoleBackend(stream=out).send_messages([message])
    return out.getvalue()


@pytest.mark.django_db
def test_a_printed_verification_link_is_whole_and_verifies(settings: Any, capsys: Any) -> None:
    # The MIME source (quoted-printable: the mail's text has an em dash) cut it at 76 columns with
    # '=': copied from the log of a site without SMTP, it answered 400 "This link does not work".
    settings.MAILERS = {"default": {"BACKEND": "paperfeed.digests.console.ConsoleBackend"}}
    user = User.objects.create(username="reader", email="a.reader.with.a.long.name@example.org")
    accounts.send_verification(user)
    printed = capsys.readouterr().err
    links = re.findall(r"https?://\S+/verify/\S+", printed)
    assert len(links) == 1 and len(links[0]) > 76 and "=\n" not in printed
    assert "\u2014 paperfeed" in printed  # the em dash, decoded
    assert Client().get(urlsplit(links[0]).path).status_code == 200
    user.refresh_from_db()
    assert user.email_verified


def test_headers_are_decoded_and_parts_other_than_text_are_named_not_dumped() -> None:
    msg = EmailMultiAlternatives(
        "Digest — naïve Bayes é", "Plain body: ünïcode.\n", "digests@example.org", ["r@example.org"]
    )
    msg.attach_alternative("<p>" + "x" * 5000 + "</p>", "text/html")
    printed = _printed(msg)
    assert "Subject: Digest — naïve Bayes é" in printed and "=?utf-8?" not in printed
    assert "Plain body: ünïcode." in printed and "x" * 100 not in printed
    assert re.search(r"\[text/html part, [\d,]+ bytes, not shown\]", printed)
    assert printed.endswith(SEPARATOR + "\n")
