"""Email digests: subscribers, the digests of each period, and the outbox of their deliveries.

A Delivery row per (digest, subscriber) is claimed before its mail is sent (UNIQUE), and its
Message-ID is derived from it: a crash or a second sender never sends twice what was recorded as
sent, and a crash between the server's 250 and our commit repeats at most that one message, with the
same Message-ID. See services.send_digest for the state machine.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


def _uid() -> str:
    return uuid.uuid4().hex


class Frequency(models.TextChoices):
    DAILY = "daily"  # weekdays
    WEEKLY = "weekly"  # Mondays


class SubscriberQuerySet(models.QuerySet["Subscriber"]):
    def confirmed(self) -> SubscriberQuerySet:
        return self.filter(status=Subscriber.Status.CONFIRMED)

    def eligible(self) -> SubscriberQuerySet:
        """Those a digest may go to now: confirmed, not suppressed, and not the subscription of a
        deactivated account (paused, not ended: reactivating the account resumes it, and the
        one-click unsubscribe in mail already sent still works)."""
        return self.confirmed().filter(suppressed_at__isnull=True).exclude(user__is_active=False)

    def receiving(self, frequency: str) -> SubscriberQuerySet:
        return self.eligible().filter(frequency=frequency)


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # waits for the confirmation link: gets nothing else
        CONFIRMED = "confirmed"
        UNSUBSCRIBED = "unsubscribed"

    email = models.CharField(max_length=254, unique=True)  # normalised: see addresses.normalise
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="digest_subscription",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    frequency = models.CharField(max_length=6, choices=Frequency.choices, default=Frequency.DAILY)
    send_hour = models.PositiveSmallIntegerField(default=7)  # UTC
    # What goes in (each section also needs something to show: see content.py).
    trending = models.BooleanField(default=True)
    follows = models.BooleanField(default=True)
    alerts = models.BooleanField(default=True)
    for_you = models.BooleanField(default=True)
    send_empty = models.BooleanField(default=False)
    # Follows and saved searches of a subscriber without an account (an account's own are added).
    categories = models.JSONField(default=list, blank=True)  # ["cs.CL", ...]
    authors = models.JSONField(default=list, blank=True)  # Author keys
    searches = models.JSONField(default=list, blank=True)  # ["speculative decoding cat:cs.CL", ...]
    # Bumped on unsubscribe: confirmation links mailed before it stop working.
    token_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)  # hard bounce, complaint, 5xx
    suppressed_reason = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=10, blank=True)  # web | cli | account

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["frequency", "status", "send_hour"], name="subscriber_due")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_eligible(self) -> bool:
        return not self.not_eligible_because()

    def not_eligible_because(self) -> str:
        """Why SubscriberQuerySet.eligible leaves this row out ("" when it does not): the sender asks
        again inside its lock, as the row may have changed since the list was read."""
        if self.status != self.Status.CONFIRMED:
            return str(self.status)
        if self.suppressed_at is not None:
            return "suppressed"
        if self.user is not None and not self.user.is_active:
            return "account deactivated"
        return ""


class Digest(models.Model):
    """The digest of one period of one frequency (a weekday for daily, a Monday for weekly)."""

    class Status(models.TextChoices):
        OPEN = "open"  # sending, or waiting for the send hours of the period still to come
        PAUSED = "paused"  # too many consecutive send errors, or complaints: resumes by `digest send`/resume
        COMPLETE = "complete"  # every eligible subscriber is sent or failed

    frequency = models.CharField(max_length=6, choices=Frequency.choices)
    period = models.DateField()
    uid = models.CharField(max_length=32, unique=True, default=_uid)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    pause_reason = models.CharField(max_length=300, blank=True)
    held_for_complaints = models.BooleanField(default=False)  # only `digest resume` lifts it
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["frequency", "period"], name="uniq_digest_period")]

    def __str__(self) -> str:
        return f"{self.frequency} digest of {self.period}"


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def final(self) -> DeliveryQuerySet:
        return self.filter(status__in=Delivery.FINAL)

    def unfinished(self) -> DeliveryQuerySet:
        return self.exclude(status__in=Delivery.FINAL)

    def delivered_since(self, day: dt.date) -> DeliveryQuerySet:
        """Deliveries whose papers count as shown (sent, or maybe sent)."""
        return self.filter(digest__period__gte=day).filter(
            Q(status=Delivery.Status.SENT)
            | Q(status=Delivery.Status.SENDING)
            | Q(status=Delivery.Status.RETRY)
        )


class Delivery(models.Model):
    """The outbox: one row per (digest, subscriber), written before the mail goes out."""

    class Status(models.TextChoices):
        SENDING = "sending"  # claimed: the mail may be on its way (or already accepted)
        RETRY = "retry"  # a temporary failure: try again at due_at
        SENT = "sent"  # the server accepted it (250)
        FAILED = "failed"  # a permanent failure, or out of attempts
        EMPTY = "empty"  # nothing to show, and the subscriber did not ask for empty digests
        SKIPPED = "skipped"  # no longer eligible at send time (unsubscribed, suppressed)

    FINAL = (Status.SENT, Status.FAILED, Status.EMPTY, Status.SKIPPED)

    # The outbox grows by one row per subscriber per digest: each foreign key leads a composite index
    # below (uniq_delivery, delivery_subscriber), so neither gets a single-column one of its own.
    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    status = models.CharField(max_length=8, choices=Status.choices)
    message_id = models.CharField(max_length=200)
    papers = models.JSONField(default=list)  # [[paper pk, section key], ...] as composed at claim time
    attempts = models.PositiveSmallIntegerField(default=0)
    due_at = models.FloatField(default=0)  # scaled epoch seconds of the next try (RETRY)
    last_error = models.CharField(max_length=500, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["digest", "subscriber"], name="uniq_delivery")]
        indexes = [
            models.Index(fields=["digest", "status"], name="delivery_digest_status"),
            models.Index(fields=["subscriber", "digest"], name="delivery_subscriber"),
            models.Index(fields=["message_id"], name="delivery_message_id"),
        ]

    def __str__(self) -> str:
        return f"{self.digest} to {self.subscriber_id}: {self.status}"


class SendSlot(models.Model):
    """When each digest mail was handed to SMTP: the sliding log that enforces the send rate across
    restarts (a re-run must not burst through the hourly window)."""

    at = models.FloatField(db_index=True)  # scaled epoch seconds, database clock (clock.db_wall)

    def __str__(self) -> str:
        return f"sent at {self.at}"


class Bounce(models.Model):
    """A bounce (DSN, RFC 3464) or complaint (ARF, RFC 5965) read by `paperfeed digest bounces`."""

    class Kind(models.TextChoices):
        HARD = "hard"
        SOFT = "soft"
        COMPLAINT = "complaint"

    key = models.CharField(
        max_length=64, unique=True
    )  # report identity: re-reading a mailbox counts nothing twice
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="bounces")
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    kind = models.CharField(max_length=9, choices=Kind.choices)
    day = models.DateField()  # when it happened: soft bounces count once per day
    status = models.CharField(max_length=20, blank=True)  # "5.1.1", or the feedback type
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["subscriber", "kind", "day"], name="bounce_subscriber_day")]

    def __str__(self) -> str:
        return f"{self.kind} bounce of {self.subscriber_id} on {self.day}"


class MailtoUnsubscribe(models.Model):
    """An unsubscribe request read from a mailbox (the List-Unsubscribe mailto), by the identity of
    its message (see bounces.parse): re-reading the mailbox acts on none twice, also after the
    subscriber has subscribed again."""

    key = models.CharField(max_length=64, unique=True)
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="mailto_unsubscribes")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"mailto unsubscribe of {self.subscriber_id}"
