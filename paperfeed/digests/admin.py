"""Subscribers, digests, the outbox and bounces in the admin. The outbox grows by one row per
subscriber per digest, so its list and the subscribers' and bounces' are counted up to a cap
(core.admin.LargeTable) and searched by index lookups only: Django's own search (`icontains` on the
joined address) and count read every row on every view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from paperfeed.core.admin import LargeTable
from paperfeed.digests.models import Bounce, Delivery, Digest, Subscriber


def address_prefix(term: str, field: str = "email") -> Q:
    """Addresses beginning with `term` (stored lower-cased, addresses.normalise), as a range of
    the unique index on `Subscriber.email`. On PostgreSQL `LIKE 'term%'` is served by the
    pattern-ops index Django adds beside it; SQLite's LIKE ignores case and so no index serves
    it, but a range over the binary-collated column does."""
    term = term.lower()
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": term, f"{field}__lt": term + "\U0010ffff"})
    return Q(**{f"{field}__startswith": term})


class ByAddress(LargeTable):
    """Searched by the subscriber's address, exactly or by its beginning."""

    search_help_text = "An address, or its beginning (jane@, jane@example.o)."

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        # The subscribers first, then their rows by the index that leads with the subscriber: a
        # filter across the join let the planner read the whole outbox and join each row.
        return queryset.filter(subscriber__in=Subscriber.objects.filter(address_prefix(term)).values("pk"))


@admin.register(Subscriber)
class SubscriberAdmin(ByAddress):
    list_display = ["email", "status", "frequency", "send_hour", "suppressed_at", "created_at"]
    list_filter = ["status", "frequency", "source"]
    search_fields = ["^email"]  # as get_search_results goes about it
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at", "token_version"]

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return queryset.filter(address_prefix(term))


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = [
        "period", "frequency", "status", "held_for_complaints", "pause_reason", "completed_at", "outbox"
    ]  # fmt: skip
    list_filter = ["frequency", "status"]
    readonly_fields = ["uid", "created_at", "completed_at"]

    @admin.display(description="deliveries")
    def outbox(self, digest: Digest) -> SafeString:
        """Its deliveries, whether or not the outbox's digest filter still lists it."""
        url = reverse("admin:digests_delivery_changelist")
        return format_html('<a href="{}?{}={}">deliveries</a>', url, RecentDigests.parameter_name, digest.pk)


class RecentDigests(admin.SimpleListFilter):
    """The newest SHOWN digests: Django's filter on the foreign key listed every digest ever sent
    (one a weekday, for years). An older one is in the outbox by its day (the search) or from its
    row in the digests' list; the filter takes any digest's id."""

    title = "digest"
    parameter_name = "digest"
    SHOWN = 30

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(d.pk), str(d)) for d in Digest.objects.order_by("-period", "-pk")[: self.SHOWN]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(digest_id=int(value)) if value.isdigit() else queryset.none()


@admin.register(Delivery)
class DeliveryAdmin(ByAddress):
    # The outbox is written by the sender only: read it here, never edit it.
    list_display = ["digest", "subscriber", "status", "attempts", "last_error", "sent_at"]
    list_filter = ["status", RecentDigests]
    list_select_related = ["digest", "subscriber"]
    search_fields = ["=message_id", "^subscriber__email"]  # as get_search_results goes about it
    search_help_text = (
        "A Message-ID exactly (with or without its <>), an address or its beginning, or a digest's day"
        " (2026-11-30: that day's daily and weekly digests)."
    )
    raw_id_fields = ["digest", "subscriber"]

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        try:  # a digest's day: its deliveries by the index that leads with the digest
            day = dt.date.fromisoformat(term)
        except ValueError:
            pass
        else:
            return queryset.filter(digest__in=Digest.objects.filter(period=day).values("pk"))
        # A Message-ID is looked up exactly (delivery_message_id); a bounce report quotes it.
        bare = term.strip("<>")
        by_id = queryset.filter(message_id__in=[term, f"<{bare}>"])
        if "@" in bare and by_id.exists():
            return by_id
        return super().search(request, queryset, term)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Bounce)
class BounceAdmin(ByAddress):
    list_display = ["subscriber", "kind", "status", "day", "detail"]
    list_filter = ["kind"]
    list_select_related = ["subscriber"]
    search_fields = ["^subscriber__email"]  # as get_search_results goes about it
    raw_id_fields = ["subscriber", "delivery"]
