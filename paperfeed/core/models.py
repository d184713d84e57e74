"""Shared state of the core: rate-limit counters (when no Redis is configured)."""

from django.db import models


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
