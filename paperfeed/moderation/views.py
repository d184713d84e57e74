"""The report form (readers) and the moderation queue, actions and log (staff only: anyone else
signed in gets the site's 403 page, a visitor is sent to log in)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from paperfeed.accounts.models import User
from paperfeed.accounts.views import safe_next
from paperfeed.core.middleware import BadParameter, NotFound
from paperfeed.core.paging import site_page
from paperfeed.feed import services as feed
from paperfeed.feed.models import Comment, Submission
from paperfeed.moderation import services
from paperfeed.moderation.models import MAX_REPORT_CHARS, Action, Report

LOG_PER_PAGE = 100
QUEUE_ITEMS = 200  # reported items on the page, each with all its open reports


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("Only moderators (staff accounts) can see this page.")
        if not request.user.can_moderate:  # the flag stays while suspended, to come back when lifted
            raise PermissionDenied(services.SUSPENDED_STAFF)
        return view(request, *args, **kwargs)

    return wrapped


def _reported(kind: str, ref: str) -> tuple[services.Item, str]:
    """The item a report form is about and the address to go back to."""
    if kind == "comment":
        c = Comment.objects.select_related("paper", "author").filter(pk=int(ref), hidden=False).first()
        if c is None:
            raise NotFound("There is no such comment to report.")
        return c, reverse("paper", args=[c.paper.arxiv_id]) + f"#c{c.pk}"
    sub = services.submission_of(ref)
    if sub is None or sub.removed_at is not None:
        raise NotFound(f"{ref} is not on the feed, so there is nothing to report.")
    return sub, reverse("paper", args=[sub.paper.arxiv_id])


@login_required
def report(request: HttpRequest, kind: str, ref: str) -> HttpResponse:
    item, back = _reported(kind, ref)
    reason, text, error, status = request.POST.get("reason", ""), request.POST.get("text", ""), "", 200
    own = services.owns(request.user, item)
    if own:  # refused before a form is offered, not only when it is sent
        error, status = services.own_item_message(item), 403
    elif request.method == "POST":
        try:
            services.file_report(request.user, item, reason, text[: MAX_REPORT_CHARS * 2])
        except feed.FeedError as e:
            error, status = str(e), 403 if isinstance(e, feed.NotAllowed) else 400
        else:
            messages.success(request, "Thank you: the moderators will look at your report.")
            return redirect(back)
    ctx = {
        "item": item,
        "kind": "paper" if isinstance(item, Submission) else "comment",
        "back": back,
        "reasons": Report.Reason.choices,
        "reason": reason,
        "text": text[: MAX_REPORT_CHARS * 2],
        "error": error,
        "own": own,
        "max_chars": MAX_REPORT_CHARS,
    }
    return render(request, "moderation/report.html", ctx, status=status)


@staff_only
def queue(request: HttpRequest) -> HttpResponse:
    ctx = {
        "items": services.queue(QUEUE_ITEMS),
        "totals": services.queue_totals(),
        "removed": services.removed_submissions(),
        "removed_count": Submission.objects.removed().count(),
        "suspended": services.suspended_users(),
        "suspended_count": User.objects.suspended().count(),
    }
    return render(request, "moderation/queue.html", ctx)


@staff_only
def log(request: HttpRequest) -> HttpResponse:
    rows = Action.objects.newest_first().select_related("submission__paper", "comment__paper", "user")
    page = site_page(request, rows, LOG_PER_PAGE)
    purges = (Action.Kind.PURGE_USER, Action.Kind.UNPURGE_USER)
    return render(request, "moderation/log.html", {"page": page, "purges": purges})


@staff_only
def account(request: HttpRequest, username: str) -> HttpResponse:
    """One account's moderation page: its standing, what it has on show, the step that suspends it
    and takes all of that down (this page is that step's confirmation: a form with a required
    reason, no JavaScript), and its purges, each with its undo."""
    user = get_object_or_404(User, username=username)
    reason, error, status = request.POST.get("reason", ""), "", 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "unpurge":
                done = services.purge_action(_int(request.POST.get("purge")))
                if done is None or done.user_id != user.pk:
                    raise services.ModerationError("There is no such purge of this account to undo.")
                a = services.unpurge(request.user, done, reason)
            else:
                a = services.purge(request.user, user, reason[: MAX_REPORT_CHARS * 2])
            messages.success(request, f"Done: {a.sentence()}.")
        except feed.FeedError as e:
            error, status = str(e), 403 if isinstance(e, feed.NotAllowed) else 400
        else:
            return redirect(reverse("moderation-user", args=[user.username]))
    ctx = {
        "account": user,
        "posted": services.posted_by(user),
        "purges": services.purges_of(user),
        "reason": reason[: MAX_REPORT_CHARS * 2],
        "error": error,
        "max_chars": MAX_REPORT_CHARS,
    }
    return render(request, "moderation/account.html", ctx, status=status)


ACTIONS = ("remove", "restore", "hide", "unhide", "suspend", "unsuspend", "dismiss")


@staff_only
@require_POST
def act(request: HttpRequest) -> HttpResponse:
    staff, action, reason = request.user, request.POST.get("action", ""), request.POST.get("reason", "")
    if action not in ACTIONS:
        raise BadParameter(
            f"Unknown action (one of {', '.join(ACTIONS)}).",
            link=(reverse("moderation"), "Back to the queue"),
        )
    try:
        done = _act(staff, action, request.POST, reason)
    except feed.FeedError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, done)
    # Back where the button was (the paper page sends its own path); an off-site `next` is the queue.
    return redirect(safe_next(request, reverse("moderation") + "#main"))


def _act(staff: Any, action: str, form: Any, reason: str) -> str:
    if action in ("suspend", "unsuspend"):
        user = get_object_or_404(User, username=form.get("user", ""))
        if action == "suspend":
            services.suspend(staff, user, reason)
            return f"Suspended {user.username}."
        services.unsuspend(staff, user, reason)
        return f"Lifted the suspension of {user.username}."
    item: services.Item
    if form.get("comment"):
        item = get_object_or_404(Comment.objects.select_related("paper", "author"), pk=_int(form["comment"]))
    else:
        item = get_object_or_404(Submission.objects.select_related("paper"), pk=_int(form.get("submission")))
    what = services.describe(item)
    if action == "dismiss":
        n = services.dismiss(staff, item, reason)
        return f"Dismissed {n} report{'s' if n != 1 else ''} about the {what}."
    if isinstance(item, Comment) and action in ("hide", "unhide"):
        services.hide_comment(staff, item, action == "hide", reason)
        return f"{'Hid' if action == 'hide' else 'Unhid'} the {what}."
    if isinstance(item, Submission) and action in ("remove", "restore"):
        if action == "remove":
            services.remove_submission(staff, item, reason)
            return f"Removed the {what} from the feed."
        services.restore_submission(staff, item, reason)
        return f"Restored the {what} to the feed."
    raise services.ModerationError(f"“{action}” does not apply to a {services._kind(item)}.")


def _int(text: Any) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0
