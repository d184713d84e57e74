"""What recommendations need beyond the site's votes, saves and follows: "not interested" and "seen"
marks, and each user's profile (the model of paperfeed.recs.model), kept up to date as they act."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from paperfeed.core.models import OwnedQuerySet
from paperfeed.papers.models import Paper

if TYPE_CHECKING:  # numpy loads where a vector is packed, not with the models at start-up
    import numpy as np

NOT_INTERESTED = "not interested"  # a "not interested" mark, as reasons and the profile hooks name it


class FeedbackQuerySet(models.QuerySet["Feedback"]):
    def of(self, user_id: int) -> FeedbackQuerySet:
        return self.filter(user_id=user_id)

    def not_interested(self) -> FeedbackQuerySet:
        return self.filter(kind=Feedback.Kind.NOT_INTERESTED)


class Feedback(models.Model):
    class Kind(models.TextChoices):
        NOT_INTERESTED = "not_interested"  # a negative: pushes similar papers down
        SEEN = "seen"  # opened from a recommendation: never recommended again

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True)

    objects = FeedbackQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "feedback"  # uncountable
        constraints = [models.UniqueConstraint(fields=["user", "paper", "kind"], name="uniq_feedback")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.paper_id}"


class Profile(models.Model):
    """Sums of a user's decayed, weighted feature rows as of `as_of` (positives and negatives apart),
    plus the `ProfileChange`s logged since (the sums are rewritten only when those are folded in).

    Sparse vectors are stored as int32 column indices followed by float32 values. `fingerprint` names
    the signals the sums cover (the last change's, if any); a mismatch with the database (a signal
    that bypassed the hooks) makes the next read rebuild the profile from scratch."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    features = models.CharField(max_length=40)  # paperfeed.recs.model.FEATURES: other features, rebuild
    positive = models.BinaryField(default=b"")
    positive_weight = models.FloatField(default=0.0)
    negative = models.BinaryField(default=b"")
    negative_weight = models.FloatField(default=0.0)
    as_of = models.DateTimeField()
    fingerprint = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of {self.user_id}"

    @staticmethod
    def pack(vec: np.ndarray) -> bytes:
        import numpy as np

        idx = np.flatnonzero(vec).astype("<i4")
        return idx.tobytes() + vec[idx].astype("<f4").tobytes()

    @staticmethod
    def entries(data: bytes | memoryview) -> tuple[np.ndarray, np.ndarray]:
        """A packed vector's (sorted column indices, float64 values): its nonzeros only."""
        import numpy as np

        raw = bytes(data)
        n = len(raw) // 8
        idx = np.frombuffer(raw[: 4 * n], dtype="<i4")
        return idx, np.frombuffer(raw[4 * n :], dtype="<f4").astype(np.float64)

    @staticmethod
    def pack_entries(idx: np.ndarray, val: np.ndarray) -> bytes:
        """`pack` of the vector whose nonzeros are (sorted idx, val)."""
        return idx.astype("<i4").tobytes() + val.astype("<f4").tobytes()

    @staticmethod
    def unpack(data: bytes | memoryview, size: int) -> np.ndarray:
        import numpy as np

        raw = bytes(data)
        n = len(raw) // 8
        out = np.zeros(size, dtype=np.float64)
        if n:
            out[np.frombuffer(raw[: 4 * n], dtype="<i4")] = np.frombuffer(raw[4 * n :], dtype="<f4")
        return out


class ProfileChange(models.Model):
    """One signal added to (sign +1) or taken from (-1) a user's profile since its sums were stored:
    the paper's feature row, packed as `Profile.pack` does. A vote or save writes this row (~1 KB)
    instead of the whole profile (~0.7 MB at 1,000 liked papers); the sums absorb the log when it
    has grown (paperfeed.recs.services.FOLD_SHARE)."""

    id = models.BigAutoField(primary_key=True)  # the order changes were made in
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    negative = models.BooleanField(default=False)  # a "not interested" mark's row
    sign = models.SmallIntegerField()
    at = models.DateTimeField()  # the signal's own time, which its weight decays from
    row = models.BinaryField()
    fingerprint = models.CharField(max_length=100)  # the profile's, this change included

    def __str__(self) -> str:
        return f"{self.user_id} {self.sign:+d}"


def _feed_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters, 192 random bits: not to be guessed


class FeedTokenQuerySet(OwnedQuerySet["FeedToken"]):
    def of(self, user: Any) -> FeedToken:
        """The user's token, made the first time it is asked for."""
        return self.get_or_create(user=user)[0]

    def rotate(self, user: Any) -> FeedToken:
        """A new token for the user: the old feed address answers 404 from now on."""
        return self.update_or_create(user=user, defaults={"token": _feed_token()})[0]

    def rotate_if_any(self, user: Any) -> int:
        """rotate, for a user who has an address already (none is made): how many were replaced."""
        return self.filter(user=user).update(token=_feed_token(), changed_at=timezone.now())


class FeedToken(models.Model):
    """The secret in the address of a user's private "for you" RSS/Atom feed: feed readers have no
    session, so the address itself is the credential (as a saved search's), and resetting it is how
    a user takes back one they shared."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    token = models.CharField(max_length=32, unique=True, default=_feed_token)
    changed_at = models.DateTimeField(auto_now=True)

    objects = FeedTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"feed token of {self.user_id}"
