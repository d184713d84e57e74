"""Accounts: users with a verified email and a short bio, what they follow, and API tokens.

Follows are what digests and "for you" recommendations read: `Follow.objects.of(user).categories()`
(category codes), `.authors()` (Author keys), `.keywords()` (lower-cased words or phrases).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import connections, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from paperfeed.accounts.signals import Replaced, password_changed
from paperfeed.accounts.validators import USERNAME_RULE, normalise_email, validate_username
from paperfeed.core.models import OwnedQuerySet

# A vote counts toward trending only from an account this old with a verified email (RELIABILITY S5).
TRENDING_MIN_ACCOUNT_AGE = dt.timedelta(hours=24)
# What a vote's standing is copied from (Vote.standing_of): a save naming one of them, or none, and an
# update() (or bulk_update()) of one copy it to the account's votes.
STANDING_FIELDS = frozenset({"email_verified", "is_active", "suspended_at", "date_joined"})
# Accounts per UPDATE of a bulk change of standing: keeps the id list under SQLite's parameter limit.
STANDING_BATCH = 500


class UserQuerySet(OwnedQuerySet["User"]):
    owner = ""  # of_active_accounts: the accounts themselves

    def named(self, text: str) -> UserQuerySet:
        """The account a person means by a username or an email address, in any case: what log-in
        accepts, so the command line finds whoever can log in under that name."""
        if "@" in text:
            return self.filter(email__iexact=normalise_email(text))
        return self.filter(username__iexact=text)

    def starting(self, text: str) -> UserQuerySet:
        """The accounts whose username or email address begins with `text`, in any case. On
        PostgreSQL each side is a range of a `lower(...) text_pattern_ops` index (accounts
        migration 0006): `icontains` read every account's four columns."""
        prefix = text.lower()
        return self.alias(username_lower=Lower("username"), email_lower=Lower("email")).filter(
            models.Q(username_lower__startswith=prefix) | models.Q(email_lower__startswith=prefix)
        )

    def in_good_standing(self) -> UserQuerySet:
        """Verified, active and not suspended: whose votes count once the account is old enough
        (Vote.standing_of says the same of one object)."""
        return self.filter(email_verified=True, is_active=True, suspended_at__isnull=True)

    def counted_for_trending(self, at: dt.datetime | None = None) -> UserQuerySet:
        return self.in_good_standing().filter(
            date_joined__lte=(at or timezone.now()) - TRENDING_MIN_ACCOUNT_AGE
        )

    def suspended(self) -> UserQuerySet:
        return self.filter(suspended_at__isnull=False)

    def update(self, **kwargs: Any) -> int:
        """A change of standing in bulk (`.filter(...).update(is_active=False)`, bulk_update, which
        calls this) copies it to the accounts' votes in its transaction, as User.save does: a
        deactivated account's votes stopped counting only when it was saved one by one. The rows
        are locked first and changed by id, so the votes followed are those of the rows changed;
        three statements per STANDING_BATCH accounts, however many there are."""
        if not STANDING_FIELDS & kwargs.keys():
            return super().update(**kwargs)
        from paperfeed.feed.models import Vote

        with transaction.atomic(using=self.db):
            connection = connections[self.db]
            if connection.vendor == "postgresql":
                # The votes' UPDATE reads each vote's user row (a primary-key look-up, a few ms for
                # 500 accounts' votes) but is estimated in the millions, so PostgreSQL's JIT compiled
                # it first: 1.6-2.9 s per batch (EXPLAIN ANALYZE, 2,000 accounts x 3 votes).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            ids = list(self.select_for_update().values_list("pk", flat=True))
            changed = 0
            for start in range(0, len(ids), STANDING_BATCH):
                batch = ids[start : start + STANDING_BATCH]
                changed += super(UserQuerySet, self.filter(pk__in=batch)).update(**kwargs)
                Vote.objects.follow_voters(batch)
        return changed


class AccountManager(UserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra_fields: Any
    ) -> User:
        """`paperfeed createsuperuser` ends here: its address was typed by the operator, who gets no
        verification mail, so the account counts as verified (it could not vote, comment or submit,
        and read "not verified yet" on its settings page)."""
        extra_fields.setdefault("email_verified", True)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    # Sign-up's rule on the field itself, so the admin's forms and createsuperuser keep it too.
    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text=USERNAME_RULE,
        validators=[validate_username],
        error_messages={"unique": "A user with that username already exists."},
    )
    email_verified = models.BooleanField(default=False)
    bio = models.TextField(blank=True, max_length=2000)
    # Set by moderation (paperfeed.moderation): a suspended account reads but cannot vote, comment,
    # submit or report, and its votes stop counting. Nullable, so adding it costs no table rewrite.
    suspended_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[AccountManager] = AccountManager()

    # How a password change was made, said in the "password changed" notice; the site's own forms
    # set theirs before saving.
    changed_how = "by a site administrator (the admin site or the command line)"
    # The private feed addresses the last password change replaced (signals.password_changed), for
    # the page that confirms it and the notice mail.
    feeds_replaced: tuple[Replaced, ...] = ()

    class Meta(AbstractUser.Meta):
        constraints = [
            models.UniqueConstraint(Lower("username"), name="uniq_user_username_ci"),
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""), name="uniq_user_email_ci"),
        ]

    def set_unusable_password(self) -> None:
        # Django keeps no trace of it until the save (as set_password keeps the new password): the
        # admin's "password-based authentication: disabled" switch went by without a notice.
        super().set_unusable_password()
        self._password_disabled = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Every path that changes a password (settings page, reset link, admin, `changepassword`,
        the admin's switch that turns password log-in off) ends here, so the owner is told once
        whichever it was, and the private feeds get new addresses (signals.password_changed) each
        time. set_password() keeps the new password until the save; Django clears it
        for the hash upgrade at log-in, which is no change, and a new account's first password is
        none either. Told after the commit: a change rolled back is not one."""
        fields = kwargs.get("update_fields")
        changed = (
            (getattr(self, "_password", None) is not None or getattr(self, "_password_disabled", False))
            and not self._state.adding
            and (fields is None or "password" in fields)
        )
        standing = not self._state.adding and (fields is None or bool(STANDING_FIELDS & set(fields)))
        if standing or changed:
            from paperfeed.feed.models import Vote

            # The votes carry the account's standing (Vote.voter_joined, Vote.suspended) so that
            # counting them needs no join on users, and a new password comes with new private feed
            # addresses: both in the same transaction as the change.
            with transaction.atomic():
                super().save(*args, **kwargs)
                if standing:
                    Vote.objects.follow_voter(self.pk)
                if changed:
                    replies: list[tuple[Any, Any]] = password_changed.send(sender=type(self), user=self)
                    self.feeds_replaced = tuple(r for _, r in replies if isinstance(r, Replaced))
        else:
            super().save(*args, **kwargs)
        self._password_disabled = False
        if changed:
            from paperfeed.accounts.services import send_password_changed

            how, disabled, replaced = self.changed_how, not self.has_usable_password(), self.feeds_replaced
            transaction.on_commit(
                lambda: send_password_changed(self, how, disabled=disabled, replaced=replaced)
            )

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def can_moderate(self) -> bool:
        """Staff who may act as moderators now: a suspended (or deactivated) staff account keeps
        its flag, so that lifting the suspension restores it, but moderates no more than it votes."""
        return self.is_staff and self.is_active and not self.is_suspended

    def counts_for_trending(self, at: dt.datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.email_verified
            and self.is_active
            and not self.is_suspended
            and self.date_joined <= at - TRENDING_MIN_ACCOUNT_AGE
        )


class FollowQuerySet(models.QuerySet["Follow"]):
    def of(self, user: User) -> FollowQuerySet:
        return self.filter(user=user)

    def _of_kind(self, kind: str) -> list[str]:
        return list(self.filter(kind=kind).order_by("value").values_list("value", flat=True))

    def categories(self) -> list[str]:
        return self._of_kind(Follow.Kind.CATEGORY)

    def authors(self) -> list[str]:
        return self._of_kind(Follow.Kind.AUTHOR)

    def keywords(self) -> list[str]:
        return self._of_kind(Follow.Kind.KEYWORD)


class Follow(models.Model):
    class Kind(models.TextChoices):
        CATEGORY = "category"  # value: a Category code, e.g. "cs.CL"
        AUTHOR = "author"  # value: an Author key
        KEYWORD = "keyword"  # value: a lower-cased word or phrase

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follows", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FollowQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "value"], name="uniq_follow")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.kind} {self.value}"


class ApiToken(models.Model):
    """A bearer token for the JSON API's write endpoints; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)  # shown so a user can tell tokens apart
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.prefix}… of {self.user_id}"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
