"""Shared state of the core: rate-limit counters (when no Redis is configured); and the rule for
what of an account the site still serves (OwnedQuerySet)."""

from __future__ import annotations

from typing import Self, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class OwnedQuerySet(models.QuerySet[_M]):
    """Rows an account owns, reached through `owner` (the lookup to the account; "" for the accounts
    themselves). Defined here, not in accounts, because every app's models may use it: the account
    is settings.AUTH_USER_MODEL to them, and a build may leave apps out."""

    owner = "user"

    def of_active_accounts(self) -> Self:
        """A deactivated account is gone from the site, not deleted: its user page, its collections
        (public ones too) and its private feeds' addresses answer 404 to everyone, as if they never
        were, and come back as they were if it is reactivated. The one filter every one of them
        goes through: the saved-search feeds and the collection pages once served a deactivated
        account's private lists to whoever had the address."""
        return self.filter(**{"__".join(filter(None, (self.owner, "is_active"))): True})


class RateCounter(models.Model):
    """Hits of one bucket (e.g. "login:ip:1.2.3.4") in one fixed window; see core.ratelimit."""

    bucket = models.CharField(max_length=200)
    window_start = models.BigIntegerField()  # in (scaled) epoch seconds
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bucket", "window_start"], name="uniq_ratecounter_window")
        ]

    def __str__(self) -> str:
        return f"{self.bucket}@{self.window_start}: {self.hits}"


class Lease(models.Model):
    """A named lock with an expiry, held by one process at a time (the digest sender); see core.leases."""

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=200, blank=True)  # "host:pid:start" of the holding process
    expires_at = models.FloatField(default=0)  # scaled epoch seconds, database clock (clock.db_wall)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"


class ScheduledRunQuerySet(models.QuerySet["ScheduledRun"]):
    def last_slots(self, jobs: list[str]) -> dict[str, int]:
        """The latest claimed slot of each of `jobs` that has one, in one query (not one a job)."""
        rows = self.filter(job__in=jobs).values("job").annotate(last=models.Max("slot")).order_by()
        return {r["job"]: r["last"] for r in rows}

    def superseded_before(self, slot: int) -> ScheduledRunQuerySet:
        """Claims of slots before `slot` with a later claim of the same job: each job's latest
        stays, whatever its age, since the scheduler judges what is due by it (a job whose every
        claim was gone would look never run, and a weekly job outlives a short retention)."""
        later = ScheduledRun.objects.filter(job=models.OuterRef("job"), slot__gt=models.OuterRef("slot"))
        return self.filter(slot__lt=slot).filter(models.Exists(later))


class ScheduledRun(models.Model):
    """One row per (job, time slot): inserting it is how a scheduler tick claims the slot, so two
    workers ticking at once enqueue a job once."""

    job = models.CharField(max_length=100)
    slot = models.BigIntegerField()  # start of the slot, epoch seconds (scaled)
    enqueued_at = models.DateTimeField(auto_now_add=True)
    task_id = models.CharField(max_length=64, blank=True)

    objects = ScheduledRunQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="uniq_scheduledrun_slot")]

    def __str__(self) -> str:
        return f"{self.job}@{self.slot}"
