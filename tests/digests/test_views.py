"""The digests' pages: E6 (one-click unsubscribe) and E7 (double opt-in), through real requests."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from paperfeed.accounts import throttle
from paperfeed.digests import mail, tokens
from paperfeed.digests.models import Subscriber
from tests.digests.conftest import make_papers
from tests.fakes import clock
from tests.fakes.smtp import SmtpSink

ONE_CLICK = "List-Unsubscribe=One-Click"
# /subscribe's two limits: confirmation mails per address, requests per client.
EMAIL, NETWORK = throttle.LIMITS["subscribe:email"], throttle.LIMITS["subscribe:ip"]


@pytest.fixture
def browserless() -> Client:
    """A client like a mailbox provider: no cookies, CSRF enforced as in production."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def sub(db: None) -> Subscriber:
    return Subscriber.objects.create(email="alice@example.org", status=Subscriber.Status.CONFIRMED)


def _path(sub: Subscriber) -> str:
    return reverse("digests:unsubscribe", args=[tokens.make("unsubscribe", sub)])


def _status(sub: Subscriber) -> str:
    sub.refresh_from_db()
    return sub.status


def test_one_click_post_unsubscribes_with_no_cookie_or_csrf(browserless: Client, sub: Subscriber) -> None:
    r = browserless.post(_path(sub), ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and "Location" not in r.headers
    assert _status(sub) == Subscriber.Status.UNSUBSCRIBED
    again = browserless.post(_path(sub), ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert again.status_code == 200  # idempotent
    assert _status(sub) == Subscriber.Status.UNSUBSCRIBED


def test_multipart_body_works_too(browserless: Client, sub: Subscriber) -> None:
    r = browserless.post(_path(sub), {"List-Unsubscribe": "One-Click"})  # the test client sends multipart
    assert r.status_code == 200
    assert _status(sub) == Subscriber.Status.UNSUBSCRIBED


def test_the_digest_pages_buttons_are_the_sites_buttons(browserless: Client, sub: Subscriber) -> None:
    # They were the browser's bare grey buttons, a third the height of the fields beside them.
    pending = Subscriber.objects.create(email="bob@example.org")
    pages = [
        browserless.get(reverse("digests:subscribe")),
        browserless.get(_path(sub)),
        browserless.get(reverse("digests:confirm", args=[tokens.make("confirm", pending)])),
    ]
    for r in pages:
        html = r.content.decode()
        assert r.status_code == 200 and "<button" in html
        assert html.count("<button") == html.count('<button class="btn'), html


def test_get_and_head_change_nothing(browserless: Client, sub: Subscriber) -> None:
    assert browserless.get(_path(sub)).status_code == 200
    assert browserless.head(_path(sub)).status_code == 200
    assert _status(sub) == Subscriber.Status.CONFIRMED


@pytest.mark.parametrize("kind", ["tampered", "confirm-salt", "foreign-key", "truncated"])
def test_bad_tokens_are_4xx_and_change_nothing(
    browserless: Client, sub: Subscriber, kind: str, settings: Any
) -> None:
    token = tokens.make("unsubscribe", sub)
    if kind == "tampered":
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    elif kind == "confirm-salt":
        token = tokens.make("confirm", sub)
    elif kind == "truncated":
        token = token[: len(token) // 2]
    else:
        key = settings.SECRET_KEY
        settings.SECRET_KEY = "another-installation-" + "q" * 40
        token = tokens.make("unsubscribe", sub)
        settings.SECRET_KEY = key
    r = browserless.post(
        reverse("digests:unsubscribe", args=[token]),
        ONE_CLICK,
        content_type="application/x-www-form-urlencoded",
    )
    assert 400 <= r.status_code < 500
    assert _status(sub) == Subscriber.Status.CONFIRMED


def test_a_real_http_post_like_curl(live_server: Any, sub: Subscriber) -> None:
    url = live_server.url + _path(sub)
    req = urllib.request.Request(url, data=ONE_CLICK.encode(), method="POST")
    with urllib.request.urlopen(req) as resp:  # no cookie jar, no CSRF token, redirects would be followed
        assert resp.status == 200 and resp.url == url
    assert _status(sub) == Subscriber.Status.UNSUBSCRIBED


# --- E7: double opt-in ------------------------------------------------------------------------------


def _subscribe(client: Client, email: str) -> Any:
    return client.post(reverse("digests:subscribe"), {"email": email})


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate_tasks")
def test_subscribing_sends_one_confirmation_then_confirm_by_post(smtp_sink: SmtpSink) -> None:
    client = Client()
    r = _subscribe(client, "New.Reader@Example.org")
    assert r.status_code == 200
    (got,) = smtp_sink.received
    assert got.rcpt == "new.reader@example.org"
    assert "List-Unsubscribe-Post" not in got.message  # transactional: no one-click header (listmonk #3063)
    sub = Subscriber.objects.get()
    assert sub.status == Subscriber.Status.PENDING
    link = next(w for w in got.text().split() if "/digests/confirm/" in w)
    path = link.removeprefix("https://papers.example.org")
    assert client.get(path).status_code == 200  # a scanner's GET confirms nothing
    assert _status(sub) == Subscriber.Status.PENDING
    assert client.post(path).status_code == 200
    assert _status(sub) == Subscriber.Status.CONFIRMED
    assert client.post(path).status_code == 200  # idempotent


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate_tasks")
def test_same_answer_for_new_pending_and_confirmed_addresses(smtp_sink: SmtpSink) -> None:
    Subscriber.objects.create(email="confirmed@example.org", status=Subscriber.Status.CONFIRMED)
    Subscriber.objects.create(email="pending@example.org")
    answers = [_subscribe(Client(), f"{k}@example.org") for k in ("new", "pending", "confirmed")]
    assert len({(a.status_code, a.content) for a in answers}) == 1
    url = reverse("digests:subscribe") + "?format=json"
    json_answers = [
        Client().post(url, {"email": f"{k}@example.org"}) for k in ("new2", "pending", "confirmed")
    ]
    assert len({(a.status_code, a.content) for a in json_answers}) == 1
    # The owner of the confirmed address is told where their settings are; nobody gets a digest.
    assert (
        "manage" in smtp_sink.to("confirmed@example.org")[0].text().lower()
        or "/digests/settings/" in smtp_sink.to("confirmed@example.org")[0].text()
    )
    assert all("digest." not in r.message_id for r in smtp_sink.received)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rate_counters", "immediate_tasks")
def test_resends_limited_to_3_per_6_hours_the_4th_is_429_without_mail(smtp_sink: SmtpSink) -> None:
    codes = [_subscribe(Client(), "reader@example.org").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert len(smtp_sink.to("reader@example.org")) == 3
    assert _subscribe(Client(), "someone.else@example.org").status_code == 200  # per address


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rate_counters", "immediate_tasks", "smtp_sink")
def test_a_429_says_when_the_limit_met_lets_the_address_ask_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # It said `Retry-After: 3600` whatever was left, then at most 3600, and the JSON twin
    # `{"ok", "message"}` alone, where every other 429 is core.http.retry_later's shape; then it
    # had that shape but no `limit`, and a page of its own where every other limit has the 429 page.
    window = EMAIL.window
    # 45 minutes before a window ends (an eighth of it: whole seconds in binary too).
    now = clock.freeze(monkeypatch, [1000 * window + window - 2700.0])
    url = reverse("digests:subscribe") + "?format=json"
    for _ in range(EMAIL.limit):
        assert Client().post(url, {"email": "reader@example.org"}).status_code == 200
    # The three weigh on into the next window, for a third of it: 45 minutes and 2 hours, all of
    # it said (it was held to an hour, and a client back then was refused again), up to the
    # longest this limit can make anyone wait, two of its windows.
    r = Client().post(url, {"email": "reader@example.org"})
    assert r.status_code == 429 and r["Retry-After"] == "9900" and r.json()["retryAfter"] == 9900
    # `error` as every JSON 429 says it (core.http.too_many_requests), `message` as a sentence.
    error = (
        "too many requests (confirmation mails asked for one email address: 3 per 6 hours); "
        "try again in about 3 hours"
    )
    assert r.json() == {
        "error": error,
        "retryAfter": 9900,
        "retry_after": 9900,
        "limit": "confirmation mails asked for one email address: 3 per 6 hours",
        "ok": False,
        "message": f"T{error[1:]}.",
    }
    page = _subscribe(Client(), "reader@example.org")
    # The site's 429 page, as any limit's: the same Retry-After, the wait in words, the limit named.
    assert page.status_code == 429 and page["Retry-After"] == "9900"
    text = page.content.decode()
    assert f"<p>T{error[1:]}.</p>" in text  # the JSON's `message`, as every 429 page says it
    # 45 minutes before room comes back, 45 minutes are said.
    now[0] += 9900 - 2700
    r = Client().post(url, {"email": "reader@example.org"})
    assert r.status_code == 429 and r["Retry-After"] == "2700" and r.json()["retryAfter"] == 2700
    assert r.json()["error"].endswith("; try again in about 45 minutes")
    now[0] += 2700  # waited as told: let through
    assert Client().post(url, {"email": "reader@example.org"}).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rate_counters", "immediate_tasks", "smtp_sink")
def test_a_429_of_the_clients_own_limit_says_its_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    window = NETWORK.window
    clock.freeze(monkeypatch, [1000 * window + window - 900.0])
    url = reverse("digests:subscribe") + "?format=json"
    codes = [Client().post(url, {"email": f"r{i}@example.org"}).status_code for i in range(NETWORK.limit)]
    assert set(codes) == {200}
    r = Client().post(url, {"email": "one.more@example.org"})  # a new address, the same client
    # The thirty weigh on into the next window until a thirtieth of it has passed: 900 + 120 s.
    assert r.status_code == 429 and r["Retry-After"] == "1020" and r.json()["retryAfter"] == 1020
    # The client's limit is named, not the address's: this address never asked before.
    limit = "digest subscription requests from one network: 30 an hour"
    error = f"too many requests ({limit}); try again in about 17 minutes"
    assert (
        r.json()["error"] == error and r.json()["message"] == f"T{error[1:]}." and r.json()["limit"] == limit
    )
    page = _subscribe(Client(), "and.another@example.org")
    assert page.status_code == 429 and page["Retry-After"] == "1020"
    assert f"<p>T{error[1:]}.</p>" in page.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rate_counters", "immediate_tasks", "smtp_sink")
def test_a_429_says_nothing_of_whether_the_address_is_subscribed(monkeypatch: pytest.MonkeyPatch) -> None:
    """An address's limit met answers alike for a new, a pending and a confirmed address: a 429 that
    differed would tell anyone who asked four times whether an address gets digests."""
    clock.freeze(monkeypatch, [1000.0 * EMAIL.window])
    Subscriber.objects.create(email="confirmed@example.org", status=Subscriber.Status.CONFIRMED)
    Subscriber.objects.create(email="pending@example.org")
    url = reverse("digests:subscribe")
    refusals: dict[str, set[tuple[int, str, bytes]]] = {"json": set(), "page": set()}
    for who in ("new", "pending", "confirmed"):
        for _ in range(EMAIL.limit):
            assert Client().post(url, {"email": f"{who}@example.org"}).status_code == 200
        for kind, r in (
            ("json", Client().post(url + "?format=json", {"email": f"{who}@example.org"})),
            ("page", _subscribe(Client(), f"{who}@example.org")),
        ):
            refusals[kind].add((r.status_code, r["Retry-After"], r.content))
    assert all(len(answers) == 1 for answers in refusals.values()), refusals
    assert {status for answers in refusals.values() for status, _, _ in answers} == {429}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rate_counters", "immediate_tasks", "smtp_sink")
def test_a_refusal_by_the_addresss_limit_does_not_count_against_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One address asked for again and again from a network locked everyone behind it out: each
    refusal by the address's limit counted against the client's limit as well."""
    clock.freeze(monkeypatch, [1000.0 * NETWORK.window])
    url = reverse("digests:subscribe") + "?format=json"
    codes = [Client().post(url, {"email": "reader@example.org"}).status_code for _ in range(NETWORK.limit)]
    assert codes == [200] * EMAIL.limit + [429] * (NETWORK.limit - EMAIL.limit)
    assert all(  # the rest of the client's limit is still there for other addresses
        Client().post(url, {"email": f"r{i}@example.org"}).status_code == 200
        for i in range(NETWORK.limit - EMAIL.limit)
    )
    r = Client().post(url, {"email": "one.more@example.org"})  # and then it is spent
    assert r.status_code == 429 and r.json()["limit"] == NETWORK.description


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate_tasks", "smtp_sink")
def test_behind_a_proxy_each_client_has_its_own_limit(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """The client's limit went by REMOTE_ADDR, the proxy's address behind one (PAPERFEED_PROXY_COUNT
    ignored): its 30 an hour were every subscriber's together."""
    settings.PROXY_COUNT = 1
    clock.freeze(monkeypatch, [1000.0 * NETWORK.window])
    url = reverse("digests:subscribe") + "?format=json"

    def ask(client: str, i: int) -> int:
        return Client(HTTP_X_FORWARDED_FOR=client).post(url, {"email": f"r{i}@example.org"}).status_code

    assert {ask(f"198.51.100.{i}", i) for i in range(NETWORK.limit + 5)} == {200}
    assert {ask("203.0.113.9", 100 + i) for i in range(NETWORK.limit)} == {200}
    assert ask("203.0.113.9", 200) == 429  # one client over its own limit still is


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate_tasks")
def test_bad_addresses_get_a_clear_400(smtp_sink: SmtpSink) -> None:
    for raw in ["", "   ", '"a b"@x.org', "a@b.org\r\nBcc: c@d.org", "jörg@example.org"]:
        r = _subscribe(Client(), raw)
        assert r.status_code == 400, raw
    assert smtp_sink.received == [] and not Subscriber.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate_tasks")
def test_confirmed_gets_nothing_but_the_settings_page_works(smtp_sink: SmtpSink) -> None:
    make_papers(1, cats=("cs.CL", "cs.LG"))  # by Jane Doe: the categories and author exist
    sub = Subscriber.objects.create(email="a@example.org", status=Subscriber.Status.CONFIRMED)
    url = mail.manage_url(sub).removeprefix("https://papers.example.org")
    client = Client()
    assert client.get(url).status_code == 200
    assert b"From your account" not in client.get(url).content  # an address without an account
    r = client.post(url, {"frequency": "weekly", "send_hour": "6", "trending": "on", "alerts": "on",
                          "categories_text": "cs.CL, cs.LG", "authors_text": "jane-doe",
                          "searches_text": "speculative decoding cat:cs.CL\n\n"})  # fmt: skip
    assert r.status_code == 200
    sub.refresh_from_db()
    assert (sub.frequency, sub.send_hour, sub.follows, sub.categories, sub.searches) == (
        "weekly",
        6,
        False,
        ["cs.CL", "cs.LG"],
        ["speculative decoding cat:cs.CL"],
    )
    bad = client.post(url, {"frequency": "weekly", "send_hour": "6", "categories_text": "<script>"})
    assert bad.status_code == 400 and b"<script>" not in bad.content
    # An alert of a category no paper has would never list one: it was saved without a word.
    never = client.post(url, {"frequency": "weekly", "send_hour": "6", "searches_text": "decoding cat:cs.zz"})
    assert never.status_code == 400 and "No such category: “cs.zz”".encode() in never.content
    assert Subscriber.objects.get(pk=sub.pk).searches == ["speculative decoding cat:cs.CL"]
    assert smtp_sink.received == []


def _settings_url(sub: Subscriber) -> str:
    return mail.manage_url(sub).removeprefix("https://papers.example.org")


FORM = {"frequency": "daily", "send_hour": "7", "follows": "on", "searches_text": ""}


@pytest.mark.django_db
def test_settings_accept_only_stored_categories_and_authors_and_keep_the_input() -> None:
    make_papers(1, cats=("cs.CV",))  # authors Jane Doe and Sam Author1
    sub = Subscriber.objects.create(email="a@example.org", status=Subscriber.Status.CONFIRMED)
    client = Client()
    r = client.post(_settings_url(sub), {**FORM, "categories_text": "cs.CV, cs.zz foo", "authors_text": ""})
    page = r.content.decode()
    assert r.status_code == 400 and "Saved." not in page
    assert "No such category on this site: “cs.zz”, “foo” (codes look like" in page
    assert 'value="cs.CV, cs.zz foo"' in page  # the input is kept to correct
    r = client.post(
        _settings_url(sub),
        {
            **FORM,
            "categories_text": "cs.cv",
            "authors_text": "Jane Doe; Sam Author1\nsam-author1, Xiaohua <b>Feng",
        },
    )
    page = r.content.decode()
    assert (
        r.status_code == 400
        and "No author of that name among the papers here: “Xiaohua &lt;b&gt;Feng”" in page
    )
    sub.refresh_from_db()
    assert (sub.categories, sub.authors) == ([], [])  # nothing of a rejected form is saved
    r = client.post(
        _settings_url(sub),
        {**FORM, "categories_text": "cs.cv", "authors_text": "Jane Doe; Sam Author1\nsam-author1"},
    )
    assert r.status_code == 200 and "Saved." in r.content.decode()
    sub.refresh_from_db()
    assert (sub.categories, sub.authors) == (["cs.CV"], ["jane-doe", "sam-author1"])
    page = client.get(_settings_url(sub)).content.decode()
    assert 'value="Jane Doe, Sam Author1"' in page  # shown as names, read back as the same keys
    assert '<div class="field">' in page and "only for an address tied to an account" in page
    # What the form used to save (keys separated by spaces) still reads as those authors.
    r = client.post(
        _settings_url(sub), {**FORM, "categories_text": "", "authors_text": "jane-doe sam-author1"}
    )
    sub.refresh_from_db()
    assert r.status_code == 200 and sub.authors == ["jane-doe", "sam-author1"]


# The settings' JSON twin's keys in 0.1, kept beside their camelCase names until 0.2.
OLD_KEYS = {
    "sendHour": "send_hour",
    "forYou": "for_you",
    "sendEmpty": "send_empty",
    "fromAccount": "from_account",
}


@pytest.mark.django_db
def test_the_settings_json_twin_is_camel_case_with_the_old_keys_deprecated_beside() -> None:
    make_papers(1, cats=("cs.CV",))
    sub = Subscriber.objects.create(email="a@example.org", status=Subscriber.Status.CONFIRMED, send_hour=9)
    url, client = _settings_url(sub) + "?format=json", Client()
    got = client.get(url).json()
    assert {k for k in got if "_" in k} == set(OLD_KEYS.values())  # no other snake_case key
    for new, old in OLD_KEYS.items():
        assert got[old] == got[new], new
    assert (got["sendHour"], got["forYou"], got["sendEmpty"], got["fromAccount"]) == (9, True, False, None)
    # Either spelling is read on a POST; the camelCase one as the page's form names are.
    r = client.post(url, {"frequency": "weekly", "sendHour": "6", "forYou": "on", "categoriesText": "cs.CV"})
    assert r.status_code == 200 and r.json()["errors"] == {}
    sub.refresh_from_db()
    assert (sub.frequency, sub.send_hour, sub.for_you, sub.send_empty, sub.categories) == (
        "weekly",
        6,
        True,
        False,
        ["cs.CV"],
    )
    r = client.post(url, {"frequency": "daily", "send_hour": "7", "sendEmpty": "on", "sendHour": "7"})
    sub.refresh_from_db()
    assert r.status_code == 200 and (sub.send_hour, sub.send_empty, sub.for_you) == (7, True, False)
    # A field's errors under both its names too.
    r = client.post(url, {"frequency": "daily", "sendHour": "7", "categoriesText": "cs.zz"})
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert set(errors) == {"categoriesText", "categories_text"}
    assert errors["categoriesText"] == errors["categories_text"]
    assert errors["categoriesText"][0]["message"].startswith("No such category on this site: “cs.zz”")


@pytest.mark.django_db
def test_a_field_sent_under_both_names_with_two_values_saves_nothing() -> None:
    sub = Subscriber.objects.create(email="a@example.org", status=Subscriber.Status.CONFIRMED, send_hour=9)
    client = Client()
    r = client.post(
        _settings_url(sub) + "?format=json", {"frequency": "daily", "sendHour": "6", "send_hour": "7"}
    )
    assert r.status_code == 400
    assert r.json()["errors"]["__all__"][0]["message"] == (
        "sendHour and send_hour are the same field (the second its name until 0.2): send one"
    )
    assert Subscriber.objects.get(pk=sub.pk).send_hour == 9
    page = client.post(_settings_url(sub), {"frequency": "daily", "sendHour": "6", "send_hour": "7"})
    assert page.status_code == 400 and "sendHour and send_hour are the same field" in page.content.decode()
    assert Subscriber.objects.get(pk=sub.pk).send_hour == 9


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate_tasks")
def test_an_unsubscribed_address_is_told_so_and_resubscribes_through_confirmation(
    smtp_sink: SmtpSink,
) -> None:
    sub = Subscriber.objects.create(email="a@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    client = Client()
    r = client.post(_settings_url(sub), {**FORM, "categories_text": "", "authors_text": ""})
    page = r.content.decode()
    assert r.status_code == 200 and "Saved." not in page
    assert "Your settings are saved, but this address is unsubscribed: no digests go to it." in page
    assert f'action="{reverse("digests:subscribe")}"' in page and "Subscribe again" in page
    assert (
        client.post(reverse("digests:subscribe"), {"email": sub.email, "frequency": "daily"}).status_code
        == 200
    )
    assert _status(sub) == Subscriber.Status.PENDING  # not active until the owner confirms
    (got,) = smtp_sink.received
    link = next(w for w in got.text().split() if "/digests/confirm/" in w)
    assert client.post(link.removeprefix("https://papers.example.org")).status_code == 200
    assert _status(sub) == Subscriber.Status.CONFIRMED


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("immediate_tasks")
def test_a_signed_in_user_with_a_verified_address_is_subscribed_at_once(smtp_sink: SmtpSink) -> None:
    from paperfeed.accounts.models import User

    user = User.objects.create_user("reader", "Reader@Example.org", "a-long-passw0rd-x", email_verified=True)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("digests:my-settings")).status_code == 200  # not subscribed yet: the form
    done = _subscribe(client, "reader@example.org")  # said so, not "check your inbox" for a mail never sent
    assert done.status_code == 302 and done.headers["Location"] == reverse("digests:my-settings")
    assert (
        b"Subscribed: digests go to your account" in client.get(done.headers["Location"], follow=True).content
    )
    sub = Subscriber.objects.get()
    assert (sub.user, sub.status, sub.source) == (user, Subscriber.Status.CONFIRMED, "account")
    assert smtp_sink.received == []  # the account's address is verified already: no second proof
    r = client.get(reverse("digests:my-settings"))
    assert r.status_code == 302 and r.headers["Location"].startswith("/digests/settings/")
    # What the account follows goes into the digest too, and its settings page says so.
    from paperfeed.accounts.models import Follow
    from paperfeed.feed.models import SavedSearch

    Follow.objects.create(user=user, kind=Follow.Kind.CATEGORY, value="cs.CL")
    from paperfeed.papers.models import Author

    Author.objects.create(key="ada-lovelace", name="Ada <em>Lovelace</em>")
    Follow.objects.create(user=user, kind=Follow.Kind.AUTHOR, value="ada-lovelace")
    Follow.objects.create(user=user, kind=Follow.Kind.KEYWORD, value="<i>sparse</i> attention")
    Follow.objects.create(user=user, kind=Follow.Kind.KEYWORD, value='"state space"')  # typed as a phrase
    SavedSearch.objects.create(user=user, query="<b>speculative</b> decoding", category="cs.LG")
    page = client.get(r.headers["Location"]).content.decode()
    assert '<a href="/categories/cs.CL">cs.CL</a>' in page
    assert '<a href="/authors/ada-lovelace">Ada &lt;em&gt;Lovelace&lt;/em&gt;</a>' in page  # by name
    assert "<code>&lt;b&gt;speculative&lt;/b&gt; decoding cat:cs.LG</code>" in page
    assert "“&lt;i&gt;sparse&lt;/i&gt; attention”" in page
    assert ">&quot;state space&quot;</a>" in page  # its own quotes, not “"state space"”
    as_json = client.get(r.headers["Location"] + "?format=json").json()["from_account"]
    assert as_json == {
        "categories": ["cs.CL"],
        "authors": ["ada-lovelace"],
        "keywords": ['"state space"', "<i>sparse</i> attention"],
        "searches": ["<b>speculative</b> decoding cat:cs.LG"],
    }
    # Someone else's address typed while signed in still needs its owner's confirmation.
    assert _subscribe(client, "other@example.org").status_code == 200
    assert Subscriber.objects.get(email="other@example.org").status == Subscriber.Status.PENDING
    assert [r.rcpt for r in smtp_sink.received] == ["other@example.org"]
