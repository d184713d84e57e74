"""Account flows: sign-up with email verification, password-reset mail, the notice that a password
was changed, API tokens, follows.

Mails are built from PAPERFEED_BASE_URL, never from the request's Host (RELIABILITY S8), and sent
through Django's default mailer. Sign-up and reset behave the same for known and unknown addresses:
the caller answers identically whichever branch ran (no account enumeration).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from paperfeed.accounts.models import ApiToken, Follow, User
from paperfeed.accounts.signals import Replaced
from paperfeed.core.failpoints import failpoint
from paperfeed.digests import mail as outbox
from paperfeed.papers import services as papers
from paperfeed.papers.models import Author, Category

log = logging.getLogger(__name__)

VERIFY_SALT = "paperfeed.accounts.verify"
VERIFY_MAX_AGE = 72 * 3600  # seconds (Mailman's pending_request_life: 3 days)


def absolute(path: str) -> str:
    return settings.BASE_URL + path


def send_mail(template: str, to: str, context: dict[str, object], *, message_id: str = "") -> None:
    """Render accounts/email/<template>_{subject,body}.txt and _body.html and send one message of
    both parts (with `message_id`, that of a job that may run again: see
    digests.mail.notice_message_id). The HTML part extends email/base.html, the digests' layout."""
    context = {"site": settings.BASE_URL, "site_url": absolute("/"), **context}
    subject = " ".join(render_to_string(f"accounts/email/{template}_subject.txt", context).split())
    body = render_to_string(f"accounts/email/{template}_body.txt", context)
    html = render_to_string(f"accounts/email/{template}_body.html", {**context, "subject": subject})
    headers = {"Message-ID": message_id} if message_id else None
    msg = EmailMultiAlternatives(subject, body, to=[to], headers=headers)
    msg.attach_alternative(html, "text/html")
    msg.send()


# --- sign-up and verification ----------------------------------------------------------------------


class UsernameTaken(Exception):
    pass


def signup(username: str, email: str, password: str) -> User | None:
    """Create an unverified account and mail its verification link; if the address already has an
    account, mail its owner instead and return None. Both branches hash once and send one mail."""
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        try:
            with transaction.atomic():
                user = User.objects.create(username=username, email=email, password=make_password(password))
        except IntegrityError:
            if User.objects.filter(username__iexact=username).exists():
                raise UsernameTaken(username) from None
            existing = User.objects.filter(email__iexact=email).first()  # lost a race on the email
            if existing is None:
                raise
        else:
            send_verification(user)
            return user
    make_password(password)  # the same cost as the other branch
    send_mail("signup_exists", existing.email, {"user": existing, "login": absolute(reverse("login"))})
    return None


def verification_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=VERIFY_SALT, compress=True)


def send_verification(user: User) -> None:
    link = absolute(reverse("verify-email", args=[verification_token(user)]))
    send_mail("verify", user.email, {"user": user, "link": link})


def verify_email(token: str) -> User | None:
    """The user whose address the token confirms (now marked verified), or None if the token is
    forged, expired, of another kind, or for an address the account no longer has."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u")).first()
    if user is None or user.email.lower() != data.get("e"):
        return None
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
    return user


# --- changing the address ---------------------------------------------------------------------------

EMAIL_CHANGE_SALT = "paperfeed.accounts.email-change"


def request_email_change(user: User, new_email: str) -> None:
    """Mail a confirmation link to the new address; the account keeps its address until the link is
    opened, and the old address is told. An address another account has gets a note instead of
    a link, and the caller says the same either way (no one learns which addresses have accounts)."""
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        send_mail("email_taken", new_email, {"login": absolute(reverse("login"))})
        return
    token = signing.dumps({"u": user.pk, "old": user.email.lower(), "new": new_email}, salt=EMAIL_CHANGE_SALT)
    link = absolute(reverse("email-change", args=[token]))
    send_mail("email_change", new_email, {"user": user, "link": link, "new": new_email})
    if user.email:
        send_mail("email_change_notice", user.email, {"user": user, "new": new_email})


def confirm_email_change(token: str) -> User | None:
    """The account now at the new address (verified: the link reached it), or None if the token is
    forged, expired, the account's address changed meanwhile, or another account took the address."""
    try:
        data = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=VERIFY_MAX_AGE)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u")).first()
    new = str(data.get("new", ""))
    if user is None or user.email.lower() != data.get("old") or not new:
        return None
    if User.objects.filter(email__iexact=new).exclude(pk=user.pk).exists():
        return None
    user.email, user.email_verified = new, True
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified"])
    except IntegrityError:  # taken at the same moment
        return None
    return user


# --- password reset --------------------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Queue the reset mail for `email`, known or not: the request's work is one enqueue either way,
    so neither its answer nor its time tells whether the address has an account."""
    from paperfeed.accounts.tasks import send_password_reset as job

    message_id = outbox.notice_message_id("reset")
    transaction.on_commit(lambda: job.enqueue(email, message_id))


def send_password_reset(email: str, message_id: str = "") -> int:
    """Mail a reset link to each active account with this address; how many were sent (the
    background job behind request_password_reset, `message_id` made when it was queued)."""
    sent = 0
    for user in User.objects.filter(email__iexact=email, is_active=True):
        if not user.has_usable_password():
            continue
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        link = absolute(
            reverse("password-reset-confirm", args=[uid, default_token_generator.make_token(user)])
        )
        send_mail("reset", user.email, {"user": user, "link": link}, message_id=message_id)
        failpoint("notice-sent")
        sent += 1
    return sent


# Said when a password change gave private feeds new addresses (signals.password_changed), before
# the list of what it replaced, each with the page showing its new address.
FEEDS_REPLACED = (
    "Your private feeds got new addresses too, in case someone had the old ones: a feed reader subscribed"
    " to an old address gets “not found” now. Subscribe it to the new one, shown on these pages:"
)


@dataclass(frozen=True)
class AfterPasswordChange:
    """What else a password change did, in the words of both the notice mail (its text and HTML
    parts) and the page confirming the change (the settings page, the log-in page after a reset):
    which private feeds got new addresses and the page showing each new one, and how many API
    tokens still work and where to revoke them; each said only to an owner who has some. The
    addresses are the pages', never a feed's (a secret: shown on the site only)."""

    feeds: tuple[tuple[str, str], ...]  # (what, in words; the absolute address of its page)
    tokens: int
    token_settings: str

    @property
    def feeds_said(self) -> str:
        return FEEDS_REPLACED if self.feeds else ""

    @property
    def tokens_said(self) -> str:
        """The API tokens' sentence up to the address where they are revoked."""
        if not self.tokens:
            return ""
        if self.tokens == 1:
            return (
                "Your API token still works: a password change does not revoke it. If it may be known to"
                " someone else, revoke it at"
            )
        return (
            f"Your {self.tokens:,} API tokens still work: a password change does not revoke them. If one may"
            " be known to someone else, revoke it at"
        )

    def paragraph(self) -> str:
        """All of it in one paragraph, for a page's message (the site's messages link its addresses):
        "Your private feeds got new addresses too, …: your “for you” feed: https://…/for-you; the
        feeds of your 2 saved searches: https://…/settings#saved-searches. Your 2 API tokens …"."""
        said = []
        if self.feeds:
            said.append(
                f"{self.feeds_said} " + "; ".join(f"{what}: {where}" for what, where in self.feeds) + "."
            )
        if self.tokens:
            said.append(f"{self.tokens_said} {self.token_settings}.")
        return " ".join(said)


def after_password_change(user: User, replaced: tuple[Replaced, ...]) -> AfterPasswordChange:
    """What else the password change that `replaced` those feed addresses did (AfterPasswordChange)."""
    return AfterPasswordChange(
        feeds=tuple((r.what, absolute(r.where)) for r in replaced),
        tokens=user.api_tokens.count(),
        token_settings=absolute(reverse("settings")) + "#api-tokens",
    )


def send_password_changed(
    user: User, how: str, *, disabled: bool = False, replaced: tuple[Replaced, ...] = ()
) -> None:
    """Tell the account's address that its password was just changed (`how`: by what means), or
    turned off (`disabled`: no password logs in any more), so that an owner who did not change it
    learns at once and can take the account back; and what else changed or did not: the private
    feed addresses the change `replaced` (a feed reader on an old one gets 404 now) and the API
    tokens it left working, each said only to an owner who has some. The change is saved before
    this runs: a mailer that refuses the notice is logged, never turned into an error page for a
    change that has already happened."""
    if not user.email:
        return
    when = dateformat.format(timezone.now().astimezone(dt.UTC), "j F Y, H:i") + " UTC"
    context = {
        "user": user,
        "when": when,
        "how": how,
        "disabled": disabled,
        "reset": absolute(reverse("password-reset")),
        "after": after_password_change(user, replaced),
    }
    try:
        send_mail("password_changed", user.email, context)
    except OSError:  # smtplib's errors are OSErrors too
        log.exception("could not send the password-changed notice to user %s", user.pk)


# --- API tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once


# Every token begins so: a credential that does not is another service's (api.views.sends_our_token).
TOKEN_PREFIX = "pf_"  # noqa: S105  # nosec B105  (a prefix, no secret)


def create_api_token(user: User, name: str = "") -> NewToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name[:100], digest=ApiToken.digest_of(secret), prefix=secret[:10]
    )
    return NewToken(row, secret)


class TokenOfDeactivatedAccount(Exception):
    """A valid API token whose account is deactivated: refused, and told so (it works again if the
    account is reactivated), where a token naming nothing is just not accepted."""


def user_for_token(secret: str) -> User | None:
    """The account of the API token `secret`, None if it names no token (revoked, mistyped)."""
    row = ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(secret)).first()
    if row is None:
        return None
    if not row.user.is_active:
        raise TokenOfDeactivatedAccount
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


# --- follows ----------------------------------------------------------------------------------------


def set_follows(user: User, kind: str, values: list[str]) -> list[str]:
    """Replace the user's follows of one kind; returns the values that were not recognised
    (unknown category codes or author keys are refused, keywords are taken lower-cased)."""
    clean = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    rejected: list[str] = []
    if kind == Follow.Kind.CATEGORY:
        known = set(Category.objects.filter(code__in=clean).values_list("code", flat=True))
        rejected = [v for v in clean if v not in known]
        clean = [v for v in clean if v in known]
    elif kind == Follow.Kind.AUTHOR:
        known = set(Author.objects.filter(key__in=clean).values_list("key", flat=True))
        rejected = [v for v in clean if v not in known]
        clean = [v for v in clean if v in known]
    else:
        clean = list(dict.fromkeys(v.lower()[:200] for v in clean))
    with transaction.atomic():
        Follow.objects.filter(user=user, kind=kind).exclude(value__in=clean).delete()
        Follow.objects.bulk_create(
            [Follow(user=user, kind=kind, value=v) for v in clean[:200]], ignore_conflicts=True
        )
    return rejected


def resolve_categories(values: list[str]) -> tuple[list[str], list[str]]:
    """Stored category codes for what a user typed, matched regardless of case (cs.cl is cs.CL, as
    the digest settings take it), and the entries that name no stored category: a follow is of a
    category the site has (set_follows keeps only those)."""
    return papers.resolve_categories(values, stored_only=True)


def resolve_authors(lines: list[str]) -> tuple[list[str], list[str]]:
    """Author keys for what a user typed, one author a line, and the entries that matched no stored
    author. A line that is no author as a whole is read as several separated by commas, as the field
    once asked for ("key-one, key-two")."""
    entries = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    parts = {e: [p.strip() for p in e.split(",") if p.strip()] for e in entries}
    stored = papers.stored_author_keys([t for e in entries for t in [e, *parts[e]]])
    keys: list[str] = []
    unknown: list[str] = []
    for e in entries:
        whole = papers.author_key(e, stored)
        found = {p: papers.author_key(p, stored) for p in parts[e]} if whole is None else {e: whole}
        if whole is None and (len(found) < 2 or not any(found.values())):
            unknown.append(e)  # name the line as typed, not the pieces of a name split at its comma
            continue
        keys += [k for k in found.values() if k]
        unknown += [p for p, k in found.items() if k is None]
    return list(dict.fromkeys(keys)), unknown


def author_lines(keys: list[str]) -> list[str]:
    """How the settings page shows followed authors: by name where the name leads back to the same
    author, else by key, so that saving the page unchanged keeps every follow."""
    names = dict(Author.objects.filter(key__in=keys).values_list("key", "name"))
    stored = papers.stored_author_keys(list(names.values()))
    return [names[k] if k in names and papers.author_key(names[k], stored) == k else k for k in keys]


def follow(user: User, kind: str, value: str, on: bool = True) -> None:
    if on:
        Follow.objects.get_or_create(user=user, kind=kind, value=value)
    else:
        Follow.objects.filter(user=user, kind=kind, value=value).delete()


# --- an operator's actions on an account (`paperfeed users`) ---------------------------------------


def end_sessions(user: User) -> int:
    """Log the user out everywhere at once: delete their sessions (SESSION_ENGINE is the database's);
    how many. Django would refuse a deactivated account's session only on its next request, and a
    password change ends the others only for the browser that made it: a suspended spammer must be
    out now. A session stores its user in its encoded data, so each live one is read."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    mine = [
        s.pk
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000)
        if s.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(pk__in=mine).delete()
    return len(mine)


def set_active(user: User, active: bool) -> int:
    """Deactivate an account (no log-in, its votes stop counting anywhere, its sessions end:
    how many) or reactivate it. The save copies the standing to the account's votes (User.save)."""
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        return 0 if active else end_sessions(user)


def mark_verified(user: User) -> None:
    """Vouch for the account's address without the mailed link (an operator knows the person)."""
    user.email_verified = True
    user.save(update_fields=["email_verified"])


def delete_account(user: User) -> None:
    """Delete the account and what is its own: votes, collections, saved searches, follows and tokens
    go with it (the foreign keys cascade; the votes leave the counts and trending). What it gave the
    others stays, without its name: its comments, signed "[deleted account]" (feed.models.Comment,
    where the others' answers keep their context), and the papers it submitted, on their lists.
    Apps that keep more about a user (a digest subscription) act on the pre_delete signal."""
    with transaction.atomic():
        user.delete()
