"""The digests' own pages: subscribe, confirm, one-click unsubscribe (RFC 8058), settings.

Links in mail carry signed tokens (tokens.py) and need no session. A GET never changes anything
(link scanners fetch every URL in a mail); changes happen on POST. The one-click POST is exempt from
CSRF, because a mailbox provider posts it with no cookie and no token, and is authorised by its
token alone; it answers 200 without a redirect (RFC 8058 §3.1) and is idempotent.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from paperfeed.accounts import throttle
from paperfeed.accounts.middleware import rate_limited_json
from paperfeed.core.http import (
    SpelledTwice,
    camel_case,
    camel_keys_read,
    json_answer,
    snake_case,
    with_old_keys,
)
from paperfeed.core.text import sentence
from paperfeed.digests import addresses, content, mail, services, tokens
from paperfeed.digests.forms import SettingsForm, SubscribeForm
from paperfeed.digests.models import Subscriber
from paperfeed.papers.models import Author

SUBSCRIBED = "Check your inbox: if this address can get digests, a mail with the next step is on its way."


def _wants_json(request: HttpRequest) -> bool:
    return request.GET.get("format") == "json" or "application/json" in request.headers.get("Accept", "")


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST or None)
    status, message, error = 200, "", ""
    if request.method == "POST" and form.is_valid():
        try:
            got = services.subscribe(
                form.cleaned_data["email"],
                user=request.user,
                # The client's address as every rate limit takes it (PAPERFEED_PROXY_COUNT): REMOTE_ADDR
                # alone was the proxy's behind one, and its 30 an hour were the whole site's.
                ip=throttle.client_ip(request),
                frequency=form.cleaned_data.get("frequency") or None,
            )
        except addresses.InvalidAddress as e:
            status, error = 400, str(e)
        except throttle.RateLimited as e:
            if not _wants_json(request):
                raise  # the site's 429 page, naming the limit met (accounts.middleware)
            # Named in the message too, and which one matters: told "this address" when it was the
            # network's limit, a reader would wait for nothing before trying another address. And
            # `ok` and `message` as in this endpoint's other answers, for a client that reads them.
            return rate_limited_json(e, also={"ok": False, "message": sentence(str(e))})
        else:
            if got.own and not _wants_json(request):
                messages.success(request, "Subscribed: digests go to your account's address.")
                return redirect("digests:my-settings")
            message = SUBSCRIBED
    elif request.method == "POST":
        status, error = 400, "Enter an email address."
    if _wants_json(request):
        return json_answer({"ok": not error, "message": message or error}, status=status)
    return render(
        request,
        "digests/subscribe.html",
        {
            "form": form,
            "message": message,
            "error": error,
            "prefill": form.data.get("email", "") if error else "",
        },
        status=status,
    )


def _bad_link(request: HttpRequest, e: tokens.BadToken) -> HttpResponse:
    return render(request, "digests/message.html", {"title": "Link not valid", "text": str(e)}, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        sub = tokens.read("confirm", token)
    except tokens.BadToken as e:
        return _bad_link(request, e)
    if request.method == "POST":
        sub = services.confirm(sub)
        return render(request, "digests/confirmed.html", {"sub": sub, "manage_url": mail.manage_url(sub)})
    # A button, not a GET that confirms: a scanner fetching the link must not subscribe anyone.
    return render(request, "digests/confirm.html", {"email": addresses.display(sub.email)})


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        sub = tokens.read("unsubscribe", token)
    except tokens.BadToken as e:
        return _bad_link(request, e)
    if request.method == "POST":
        services.unsubscribe(sub)
        return render(request, "digests/unsubscribed.html", {"email": addresses.display(sub.email)})
    return render(
        request,
        "digests/unsubscribe.html",
        {"email": addresses.display(sub.email), "subscribed": sub.status != Subscriber.Status.UNSUBSCRIBED},
    )


def _from_account(sub: Subscriber) -> dict[str, list[str]] | None:
    """What the digest takes from the subscriber's account besides its own lists (content.py adds
    them at send time), so that the settings page shows everything that goes in."""
    if sub.user_id is None:
        return None
    follows = content.account_follows([sub.user_id]).get(sub.user_id) or content.AccountFollows()
    return {
        "categories": follows.categories,
        "authors": follows.authors,
        "keywords": follows.keywords,
        "searches": content.account_searches([sub.user_id]).get(sub.user_id, []),
    }


# The settings' JSON twin (?format=json) in camelCase, as every JSON key of the API; the names these
# had in 0.1 are sent beside them until 0.2 (core.http.with_old_keys), and a POST takes either.
_SETTINGS_KEYS = ["email", "status", "frequency", "sendHour", "trending", "follows", "alerts", "forYou",
                  "sendEmpty", "categories", "authors", "searches"]  # fmt: skip
_RENAMED = ["sendHour", "forYou", "sendEmpty", "fromAccount"]
# The form's fields by their camelCase names, for a POST that spells them so.
_INPUT_NAMES = {camel_case(name): name for name in SettingsForm.base_fields if "_" in name}


def _settings_json(
    sub: Subscriber, account: dict[str, list[str]] | None, form: SettingsForm
) -> dict[str, Any]:
    # A field's errors under its camelCase name (and its 0.1 one); the form's own as Django names
    # them (`__all__`).
    errors = {k if k.startswith("_") else camel_case(k): v for k, v in form.errors.get_json_data().items()}
    data = {k: getattr(sub, snake_case(k)) for k in _SETTINGS_KEYS} | {"fromAccount": account}
    return with_old_keys(data, *_RENAMED) | {"errors": with_old_keys(errors, *errors)}


@require_http_methods(["GET", "HEAD", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    try:
        sub = tokens.read("manage", token)
    except tokens.BadToken as e:
        return _bad_link(request, e)
    posted: QueryDict = request.POST
    spelled_twice = ""
    try:
        posted = camel_keys_read(request.POST, _INPUT_NAMES)
    except SpelledTwice as e:
        spelled_twice = str(e)
    form = SettingsForm(posted or None, instance=sub)
    if spelled_twice:  # nothing saved: which value was meant is not known; the input is kept
        form.add_error(None, spelled_twice)
    saved = request.method == "POST" and form.is_valid()
    if saved:
        sub = form.save()
    account = _from_account(sub)
    # The page names followed authors as papers print them; the JSON keeps the keys.
    author_names = (
        dict(Author.objects.filter(key__in=account["authors"]).values_list("key", "name")) if account else {}
    )
    if _wants_json(request):
        return json_answer(
            _settings_json(sub, account, form),
            status=200 if form.is_valid() or request.method != "POST" else 400,
        )
    return render(
        request,
        "digests/settings.html",
        {
            "form": form,
            "sub": sub,
            "account": account,
            "account_authors": [(k, author_names.get(k, k)) for k in account["authors"]] if account else [],
            "email": addresses.display(sub.email),
            "saved": saved,
            "unsubscribe_url": mail.unsubscribe_url(sub),
        },
        status=400 if request.method == "POST" and not saved else 200,
    )


@login_required
def my_settings(request: HttpRequest) -> HttpResponse:
    """A signed-in user's way to their settings page (or to subscribing, with their address filled in)."""
    sub = Subscriber.objects.filter(user_id=request.user.pk or 0).first()
    if sub is not None:
        return redirect(mail.manage_url(sub).removeprefix(mail.absolute("")))
    ctx = {"form": SubscribeForm(), "message": "", "error": "", "prefill": getattr(request.user, "email", "")}
    return render(request, "digests/subscribe.html", ctx)
