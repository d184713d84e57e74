"""Account mails through the loopback SMTP sink: each has a text and an HTML part that say the same
(the same links, the account's own text escaped in the HTML), in the digests' layout."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from paperfeed.accounts import services
from paperfeed.accounts.models import User
from paperfeed.accounts.signals import Replaced
from tests.fakes.smtp import Received, SmtpSink
from tests.sitedata import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "https://papers.example.org"
# Accepted by the model, which does not run the sign-up form's rule: an account made before it, or
# in the admin. Its name must reach the HTML part as text, never as markup.
NAME = "<b>x</b>"


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.hrefs: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs |= {v or "" for k, v in attrs if k == "href"}

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> _Html:
    p = _Html()
    p.feed(html)
    return p


def links(text: str) -> set[str]:
    return {u.rstrip(".,)") for u in re.findall(rf"{re.escape(SITE)}\S*", text)}


def unlinked(urls: set[str]) -> set[str]:
    return {u.rstrip("/") for u in urls}


def user_named(name: str) -> User:
    user = make_user("plain", password=PASSWORD)
    User.objects.filter(pk=user.pk).update(username=name)
    user.refresh_from_db()
    return user


def verify(user: User) -> None:
    services.send_verification(user)


def reset(user: User) -> None:
    services.send_password_reset(user.email)


def email_change(user: User) -> None:
    services.request_email_change(user, "new-home@example.org")


def email_taken(user: User) -> None:
    make_user("other")
    services.request_email_change(user, "other@example.org")


def signup_exists(user: User) -> None:
    services.signup("someone", user.email, "yet another passphrase 7")


def password_changed(user: User) -> None:
    services.send_password_changed(user, "on the settings page <i>here</i>")


def password_changed_with_feeds_and_tokens(user: User) -> None:
    services.create_api_token(user)
    feeds = (Replaced("your “for you” feed", "/for-you"), Replaced("the feed of <i>it</i>", "/settings"))
    services.send_password_changed(user, "by a reset", replaced=feeds)


def password_turned_off(user: User) -> None:
    services.send_password_changed(user, "in the admin", disabled=True)


MAILS: dict[str, tuple[Callable[[User], None], str]] = {
    "verify": (verify, "Confirm your email address for paperfeed"),
    "reset": (reset, "Reset your paperfeed password"),
    "email change": (email_change, "Confirm your new email address for paperfeed"),
    "email change notice": (email_change, "Your paperfeed address is being changed"),
    "email taken": (email_taken, "About your paperfeed address"),
    "signup exists": (signup_exists, "Someone tried to sign up to paperfeed with your address"),
    "password changed": (password_changed, "Your paperfeed password was changed"),
    "password changed, feeds and tokens": (
        password_changed_with_feeds_and_tokens,
        "Your paperfeed password was changed",
    ),
    "password turned off": (password_turned_off, "Your paperfeed password was changed"),
}


def the_mail(smtp_sink: SmtpSink, subject: str) -> Received:
    [mail] = [m for m in smtp_sink.received if m.message["Subject"] == subject]
    return mail


@pytest.mark.parametrize("kind", list(MAILS))
def test_each_account_mail_has_an_html_part_saying_the_same(smtp_sink: SmtpSink, kind: str) -> None:
    send, subject = MAILS[kind]
    send(user_named(NAME))
    mail = the_mail(smtp_sink, subject)
    text, html = mail.text(), mail.html()
    assert text and html and mail.message.get_content_type() == "multipart/alternative"
    page = parsed(html)
    # The same links in both (the layout's own link home aside), each shown as text too.
    assert links(text) and unlinked(page.hrefs) == unlinked(links(text)) | {SITE}
    shown = "".join(page.text)
    assert all(u in shown for u in links(text))
    # What the account chose is text in the HTML part, never markup; the text part keeps it as typed.
    if NAME in text:
        assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>" not in html and "b" not in page.tags
    assert "<i>" not in html
    # Nothing fetched from elsewhere when the mail is opened, and the digests' layout.
    assert not page.tags & {"img", "script", "link", "iframe", "style"} and "url(" not in html
    assert '<html lang="en">' in html and f"<title>{subject}</title>" in html
    assert 'role="presentation"' in html


def test_a_mail_that_greets_by_name_escapes_it(smtp_sink: SmtpSink) -> None:
    verify(user_named(NAME))
    mail = the_mail(smtp_sink, MAILS["verify"][1])
    assert mail.text().startswith(f"Hello {NAME},")
    assert "Hello &lt;b&gt;x&lt;/b&gt;," in mail.html()
