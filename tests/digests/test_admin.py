"""Subscribers, the outbox and bounces in the admin (a superuser through a real client): counted up
to a cap, and searched by index lookups (a Message-ID exactly, an address or its beginning)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from paperfeed.accounts.models import User
from paperfeed.core.admin import CappedPaginator
from paperfeed.digests import mail
from paperfeed.digests.models import Bounce, Delivery, Digest
from tests.digests.conftest import PERIOD, make_subscribers
from tests.feed.test_admin import _counts_of_whole_tables

pytestmark = pytest.mark.django_db


def test_the_outbox_subscribers_and_bounces_count_up_to_a_cap_and_search_by_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subs = make_subscribers(3) + make_subscribers(2, prefix="other")
    digests = [
        Digest.objects.create(period=PERIOD - dt.timedelta(days=d), frequency="daily") for d in range(2)
    ]
    for digest in digests:
        for sub in subs:
            Delivery.objects.create(
                digest=digest,
                subscriber=sub,
                status=Delivery.Status.SENT,
                message_id=mail.message_id(digest, sub),
            )
    wanted = Delivery.objects.get(digest=digests[1], subscriber=subs[1])
    Bounce.objects.create(key="k1", subscriber=subs[0], kind=Bounce.Kind.HARD, day=PERIOD)
    Bounce.objects.create(key="k2", subscriber=subs[3], kind=Bounce.Kind.SOFT, day=PERIOD)
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))

    for model, table, rows in [
        ("delivery", "digests_delivery", 10),
        ("subscriber", "digests_subscriber", 5),
        ("bounce", "digests_bounce", 2),
    ]:
        with CaptureQueriesContext(connection) as q:
            page = client.get(f"/admin/digests/{model}/")
        assert page.status_code == 200 and len(page.context["cl"].result_list) == rows, model
        assert _counts_of_whole_tables(q.captured_queries, table) == [], model
        with CaptureQueriesContext(connection) as q:
            searched = client.get(f"/admin/digests/{model}/", {"q": "reader"})
        assert searched.status_code == 200, model
        assert _counts_of_whole_tables(q.captured_queries, table) == [], model
        assert not [s for s in q.captured_queries if "LIKE '%" in s["sql"].upper()], model
        assert client.get(f"/admin/digests/{model}/", {"q": "%'; -- <b>"}).status_code == 200, model

    def found(model: str, term: str) -> list[int]:
        return sorted(
            r.pk for r in client.get(f"/admin/digests/{model}/", {"q": term}).context["cl"].result_list
        )

    # A delivery by its Message-ID exactly, as a bounce report quotes it, with or without its <>.
    assert found("delivery", wanted.message_id) == [wanted.pk]
    assert found("delivery", wanted.message_id.strip("<>")) == [wanted.pk]
    with CaptureQueriesContext(connection) as q:
        found("delivery", wanted.message_id)
    assert any('"message_id" IN' in s["sql"] for s in q.captured_queries)
    # By the address, exactly (any case) or by its beginning; the middle of one finds nothing.
    assert found("delivery", "READER2@example.org") == [wanted.pk - 5, wanted.pk]
    assert len(found("delivery", "reader")) == 6 and len(found("delivery", "other1@")) == 2
    assert found("delivery", "example.org") == []
    assert found("subscriber", "Other") == [subs[3].pk, subs[4].pk]
    assert found("subscriber", "reader3@example.org") == [subs[2].pk]
    assert found("bounce", "reader") == [Bounce.objects.get(key="k1").pk]

    # A digest's deliveries by its day.
    assert found("delivery", str(digests[1].period)) == [
        d.pk for d in Delivery.objects.filter(digest=digests[1])
    ]

    # Past the cap the list says it holds more than that, in the site's words; beside the search
    # box only when something was searched (or filtered).
    monkeypatch.setattr(CappedPaginator, "CAP", 4)
    page = client.get("/admin/digests/delivery/").content.decode()
    assert "4+ deliver" in page and "4+ results" not in page and "more than" not in page
    assert "4+ results" in client.get("/admin/digests/delivery/", {"q": "reader"}).content.decode()
    assert "4+ results" in client.get("/admin/digests/delivery/", {"status__exact": "sent"}).content.decode()
    monkeypatch.setattr(CappedPaginator, "CAP", 10_000)
    many = CappedPaginator(Delivery.objects.order_by("pk"), 10)
    assert many.capped_count == "10,000+" and not many.capped
    assert client.get(f"/admin/digests/delivery/{wanted.pk}/change/").status_code == 200


def test_the_outbox_filter_lists_the_recent_digests_and_takes_any(monkeypatch: pytest.MonkeyPatch) -> None:
    from paperfeed.digests.admin import RecentDigests

    monkeypatch.setattr(RecentDigests, "SHOWN", 3)
    [sub] = make_subscribers(1)
    digests = [
        Digest.objects.create(period=PERIOD - dt.timedelta(days=d), frequency="daily") for d in range(5)
    ]
    for digest in digests:
        Delivery.objects.create(digest=digest, subscriber=sub, message_id=mail.message_id(digest, sub))
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    page = client.get("/admin/digests/delivery/").content.decode()
    listed = [d for d in digests if f"?digest={d.pk}" in page]
    assert listed == digests[:3]  # the newest three, not all five
    # An older one, by the link on its row in the digests' list, is still a filter.
    assert (
        f"/admin/digests/delivery/?digest={digests[4].pk}"
        in client.get("/admin/digests/digest/").content.decode()
    )
    old = client.get("/admin/digests/delivery/", {"digest": digests[4].pk}).context["cl"].result_list
    assert [d.digest_id for d in old] == [digests[4].pk]
    assert list(client.get("/admin/digests/delivery/", {"digest": "x"}).context["cl"].result_list) == []
