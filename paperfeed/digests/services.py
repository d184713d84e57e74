"""Subscriptions (double opt-in) and sending digests through the outbox.

Sending (send_due / send_period) runs under one lease, "digests.sender": one sender at a time across
processes and machines, and every write of a delivery renews it in the same transaction (a fence).
Per subscriber:
  1. compose the items (in batches, outside any transaction);
  2. claim: in one transaction re-read the subscriber (eligible now? else SKIPPED), take a send
     slot (rate limit) and insert the Delivery row as SENDING (UNIQUE digest+subscriber);
  3. send over SMTP with the row's Message-ID, given up after SEND_DEADLINE; a heartbeat thread
     keeps the lease through the conversation (for at most that long), so however slow the server,
     no second sender can take the row over while it is on the wire. Right
     before the send the lease is checked again, by this process's clock and, if the claim's renewal
     may have run out (the process stalled in between), in the database: a mail never goes out under
     a lease that lapsed or was taken over since its claim (the new holder or the next run
     re-sends that row); a lapse with no mail in flight that nobody took over is taken back;
  4. mark SENT (or RETRY with backoff / FAILED, suppressing the address on a 5xx).
A crash after 3 and before 4 leaves a SENDING row: the next run re-sends exactly those (same
Message-ID), so a duplicate is bounded by the crashes in that window and identifiable. A run that
finds its lease lost stops at once (SendResult.lost) and leaves its rows to the new holder.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from paperfeed.accounts import throttle
from paperfeed.conf import env, env_float, env_int
from paperfeed.core import clock, leases
from paperfeed.core.failpoints import failpoint
from paperfeed.core.progress import Progress
from paperfeed.digests import addresses, content, mail
from paperfeed.digests.models import Delivery, Digest, Frequency, SendSlot, Subscriber
from paperfeed.digests.render import Renderer
from paperfeed.papers import services as papers

log = logging.getLogger(__name__)

SENDER_LEASE = "digests.sender"
# How long a sender that stopped renewing (crashed on another machine) keeps the others out; one on
# this machine is seen dead at once.
LEASE_TTL = 300.0
# The longest one mail may take, reconnects and the retry on a new connection included (the SMTP
# timeout bounds each read, not a send: a server answering every command just inside it holds one for
# minutes). The claim renews the lease right before the send and the heartbeat renews it during the
# send, up to this deadline and no longer: a send stuck past it lets the lease run out, as a dead
# sender's would. A quarter of the TTL, so that the lease outlasts the send even without the heartbeat
# (a renewal the database was too busy to take). 75 s also leaves room for the two stalled
# connections (30 s each by default) after which mail.SmtpTransport calls the server unreachable.
SEND_DEADLINE = LEASE_TTL / 4
# How long the heartbeat keeps the lease while one page of subscribers is composed (recommendations
# for 200 readers); a page stuck past it lets the lease lapse (the sender takes it back afterwards if
# nobody else took it meanwhile: _fence).
PAGE_DEADLINE = 2 * LEASE_TTL
BATCH = 200
# Recipients a dry run lists per digest unless asked for all (`--all-recipients`).
DRY_RUN_SHOWN = 20
# How late a scheduled digest may still go out (E9: a daily digest more than 24 h late is skipped).
MAX_LATE = {Frequency.DAILY: dt.timedelta(hours=24), Frequency.WEEKLY: dt.timedelta(hours=72)}


# --- subscriptions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    # The signed-in user's own verified address, subscribed at once: nothing to hide from them, and
    # no mail to wait for.
    own: bool = False


def subscribe(raw_email: str, *, user: Any = None, ip: str = "", frequency: str | None = None) -> Accepted:
    """Ask for digests at an address. The outcome looks the same for a new, pending or confirmed
    address (the caller shows one answer); the owner gets one mail: a confirmation link, or (already
    confirmed) a note with the settings link. A suppressed address gets nothing. Over the address's
    limit or the client's (accounts.throttle, `subscribe:email` and `subscribe:ip`), it raises
    throttle.RateLimited before looking the address up, so the refusal says nothing of it either."""
    address = addresses.normalise(raw_email)  # InvalidAddress for the form to show
    # The address's limit is looked at first and counted last. Counted before the client's, a
    # request the client's limit then refused (a concurrent one from the network taking its last
    # room between a look and the count) had spent one of the address's three confirmations for
    # nothing. Counted after its own refusal, the address's refusals locked the network out (30 an
    # hour, shared by everyone behind one NAT), so it refuses before the client's is counted.
    throttle.peek("subscribe:email", address)
    if ip:
        throttle.check("subscribe:ip", ip)  # refused: the address's hit not spent
    # Only concurrent requests for this very address can have taken its room since the look: the
    # client's hit stays spent then, on its own address.
    throttle.check("subscribe:email", address)
    own = bool(user and getattr(user, "is_authenticated", False) and user.email_verified and user.email)
    own = own and _same(user.email, address)
    with transaction.atomic():
        sub = _get_or_create(address, frequency or Frequency.DAILY, "account" if own else "web")
        if own and sub.user_id in (None, user.pk):
            sub.user = user
            if sub.status != Subscriber.Status.CONFIRMED:
                _confirm(sub)  # the account's verified address needs no second proof
            sub.save()
            return Accepted(own=True)
        if sub.suppressed_at is not None:
            return Accepted()
        if sub.status == Subscriber.Status.CONFIRMED:
            _after_commit_mail("already", sub.pk)
        else:
            if sub.status == Subscriber.Status.UNSUBSCRIBED:
                sub.status = Subscriber.Status.PENDING
                sub.save(update_fields=["status"])
            _after_commit_mail("confirm", sub.pk)
    return Accepted()


def _same(a: str, b: str) -> bool:
    try:
        return addresses.normalise(a) == b
    except addresses.InvalidAddress:
        return False


def _get_or_create(address: str, frequency: str, source: str) -> Subscriber:
    try:
        with transaction.atomic():
            sub, _ = Subscriber.objects.select_for_update().get_or_create(
                email=address, defaults={"frequency": frequency, "source": source}
            )
    except IntegrityError:  # created by a concurrent request
        sub = Subscriber.objects.select_for_update().get(email=address)
    return sub


def _after_commit_mail(kind: str, pk: int) -> None:
    from paperfeed.digests.tasks import send_notice

    message_id = mail.notice_message_id(kind)
    transaction.on_commit(lambda: send_notice.enqueue(kind, pk, message_id))


def _confirm(sub: Subscriber) -> None:
    sub.status = Subscriber.Status.CONFIRMED
    sub.confirmed_at = timezone.now()


def confirm(sub: Subscriber) -> Subscriber:
    """Idempotent: confirms a pending subscription (the token was checked by the caller)."""
    with transaction.atomic():
        sub = Subscriber.objects.select_for_update().get(pk=sub.pk)
        if sub.status == Subscriber.Status.PENDING:
            _confirm(sub)
            sub.save(update_fields=["status", "confirmed_at"])
    return sub


def unsubscribe(sub: Subscriber) -> Subscriber:
    """Idempotent. After this commits no digest mail starts for them (the sender re-checks)."""
    return _unsubscribe(sub)[0]


def unsubscribe_changed(sub: Subscriber) -> bool:
    """unsubscribe(), saying whether it changed anything (False: they were unsubscribed already)."""
    return _unsubscribe(sub)[1]


def _unsubscribe(sub: Subscriber) -> tuple[Subscriber, bool]:
    with transaction.atomic():
        sub = Subscriber.objects.select_for_update().get(pk=sub.pk)
        if sub.status == Subscriber.Status.UNSUBSCRIBED:
            return sub, False
        sub.status = Subscriber.Status.UNSUBSCRIBED
        sub.unsubscribed_at = timezone.now()
        sub.token_version += 1  # confirmation links mailed earlier must not re-subscribe
        sub.save(update_fields=["status", "unsubscribed_at", "token_version"])
    return sub, True


def suppress(sub: Subscriber, reason: str) -> bool:
    """Idempotent (the first reason stays); whether it changed anything."""
    return bool(
        Subscriber.objects.filter(pk=sub.pk, suppressed_at__isnull=True).update(
            suppressed_at=timezone.now(), suppressed_reason=reason[:300]
        )
    )


def notice_mail(kind: str, sub: Subscriber, message_id: str = "") -> mail.DigestEmail:
    """The confirmation mail ("confirm") or the already-subscribed note ("already"): transactional,
    so no List-Unsubscribe-Post (listmonk #3063: a one-click header on an opt-in mail did nothing)."""
    ctx = {
        "email": addresses.display(sub.email),
        "confirm_url": mail.confirm_url(sub),
        "manage_url": mail.manage_url(sub),
    }
    headers = {"Message-ID": message_id} if message_id else {}
    if kind == "confirm":
        return mail.build(
            sub,
            "Confirm your paperfeed digest",
            render_to_string("digests/email/confirm.txt", ctx),
            None,
            headers,
        )
    return mail.build(
        sub,
        "Your paperfeed digest subscription",
        render_to_string("digests/email/already.txt", ctx),
        None,
        headers,
    )


def send_notice(kind: str, pk: int, message_id: str = "") -> bool:
    """`message_id`: the one made when the notice was queued (mail.notice_message_id); jobs queued
    before it was passed get a new one."""
    sub = Subscriber.objects.filter(pk=pk).first()
    if sub is None or sub.suppressed_at is not None:
        return False
    if kind == "confirm" and sub.status != Subscriber.Status.PENDING:
        return False
    if kind == "already" and sub.status != Subscriber.Status.CONFIRMED:
        return False
    notice_mail(kind, sub, message_id).send()
    failpoint("notice-sent")
    return True


@dataclass
class Added:
    created: int = 0
    existing: int = 0
    errors: list[str] = field(default_factory=list)


MAX_SEARCHES = 20
MAX_SEARCH_CHARS = 200


def searches_problem(queries: list[str]) -> str:
    """Why these saved-search alerts cannot be kept, "" if they can: too many, too long, or a `cat:`
    code that neither arXiv nor a stored paper has (the alert would never list a paper)."""
    from paperfeed.search.query import parse

    if any(len(q) > MAX_SEARCH_CHARS for q in queries):
        return f"A saved search is at most {MAX_SEARCH_CHARS} characters."
    if len(queries) > MAX_SEARCHES:
        return f"At most {MAX_SEARCHES} saved searches."
    return papers.categories_problem([c for q in queries for c in parse(q).categories])


class UnknownCategories(ValueError):
    def __init__(self, codes: list[str]):
        self.codes = codes
        # The words of an alert's refusal (searches_problem): one command, one message for both.
        said = papers.no_such_categories(codes)
        super().__init__(said[0].lower() + said[1:].removesuffix("."))


def add_subscribers(emails: Iterable[str], *, frequency: str, confirmed: bool, **prefs: Any) -> Added:
    """Bulk import (a group moving its list over). Without `confirmed`, each new address is pending
    and gets a confirmation mail. Unknown categories refuse the whole import (UnknownCategories)."""
    if "categories" in prefs:
        prefs["categories"], unknown = papers.resolve_categories(prefs["categories"])
        if unknown:
            raise UnknownCategories(unknown)
    out = Added()
    for raw in emails:
        try:
            address = addresses.normalise(raw)
        except addresses.InvalidAddress as e:
            out.errors.append(f"{raw!r}: {e}")
            continue
        with transaction.atomic():
            sub, created = Subscriber.objects.get_or_create(
                email=address, defaults={"frequency": frequency, "source": "cli", **prefs}
            )
            if not created:
                out.existing += 1
                continue
            out.created += 1
            if confirmed:
                _confirm(sub)
                sub.save(update_fields=["status", "confirmed_at"])
            else:
                _after_commit_mail("confirm", sub.pk)
    return out


# --- periods ---------------------------------------------------------------------------------------


class BadPeriod(ValueError):
    pass


def is_period(frequency: str, day: dt.date) -> bool:
    return day.weekday() < 5 if frequency == Frequency.DAILY else day.weekday() == 0


def named_period(frequency: str, day: dt.date) -> dt.date:
    if frequency == Frequency.WEEKLY:
        return day - dt.timedelta(days=day.weekday())  # the Monday of that week
    if not is_period(frequency, day):
        raise BadPeriod(f"daily digests go out on weekdays; {day} is a {day:%A}")
    return day


def scheduled_at(period: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(period, dt.time(hour), tzinfo=dt.UTC)


def due_now(frequency: str, now: dt.datetime) -> dict[dt.date, list[int]]:
    """For each send hour, the latest period whose scheduled time has passed, if it is not too late:
    {period: [hours]}. After any downtime, at most one period per subscriber is due (E9)."""
    out: dict[dt.date, list[int]] = {}
    for hour in range(24):
        day = now.date()
        for _ in range(10):
            if is_period(frequency, day) and scheduled_at(day, hour) <= now:
                break
            day -= dt.timedelta(days=1)
        if now - scheduled_at(day, hour) <= MAX_LATE[Frequency(frequency)]:
            out.setdefault(day, []).append(hour)
    return out


# --- sending ---------------------------------------------------------------------------------------


class DigestPaused(RuntimeError):
    pass


class ServerUnreachable(RuntimeError):
    """The mail server refused connections or never answered (mail.SmtpTransport): every later
    recipient would meet the same, so the run stops at once (the mail in hand goes back to the
    queue) rather than backing off for each."""


@dataclass
class Throttle:
    """At most `rate` mails per second and `hourly` per rolling hour, counted in SendSlot rows so that
    restarts share them. A slot is stamped when the mail is claimed and re-stamped when the server's
    250 arrives: every stamp is then at or after the server received that mail, and as one sender
    claims the next mail only after the last one's 250, "fewer than `limit` stamps in the last window
    at claim time" keeps the limit true as measured at the server, without any margin. Stamped and
    compared by the database's clock (clock.db_wall), which every sender shares: by their own, two
    senders on machines an hour apart would each find the other's mails outside the hour (a burst
    of twice the limit) or ahead of it (a stall)."""

    rate: int
    hourly: int
    slot: int | None = None  # the slot of the mail in flight

    @classmethod
    def configured(cls) -> Throttle:
        return cls(env_int("PAPERFEED_DIGEST_RATE"), env_int("PAPERFEED_DIGEST_HOURLY"))

    def windows(self) -> list[tuple[float, int]]:
        out = [(1.0, self.rate)] if self.rate > 0 else []
        if self.hourly > 0:
            out.append((3600.0, self.hourly))
        return out

    def wait(self) -> float:
        """Scaled seconds until a slot is free (0: free now). Call inside the claim transaction."""
        now = clock.db_wall()
        # A slot stamped ahead of the clock means the clock went back: it was sent a moment ago,
        # not in the future (left as it was, the window would wait out the whole jump).
        SendSlot.objects.filter(at__gt=now).update(at=now)
        longest = 0.0
        for span, limit in self.windows():
            recent = SendSlot.objects.filter(at__gt=now - span)
            n = recent.count()
            if n >= limit:
                oldest = recent.order_by("at").values_list("at", flat=True)[n - limit]
                longest = max(longest, oldest + span - now, 1e-3)
        return longest

    def take(self) -> None:
        self.slot = SendSlot.objects.create(at=clock.db_wall()).pk

    def accepted(self) -> None:
        """The server accepted the mail of the current slot: stamp it with now."""
        if self.slot is not None:
            SendSlot.objects.filter(pk=self.slot).update(at=clock.db_wall())
            self.slot = None


RUN_OUTCOMES = ("sent", "failed", "empty", "skipped")


@dataclass
class DigestReport:
    """`eligible`, `sent`, `failed`, `empty`, `skipped`: the period's totals, over every run (what
    `digest status` shows); `this_run`: the deliveries this run finished, by outcome. A dry run
    fills `would_send` and `recipients` instead: the first recipients in sending order, and how
    many more `recipients_omitted` (a list of 10,000 addresses is not a report)."""

    frequency: str
    period: dt.date
    eligible: int = 0
    sent: int = 0
    failed: int = 0
    empty: int = 0
    skipped: int = 0
    this_run: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RUN_OUTCOMES, 0))
    would_send: int = 0
    recipients: list[dict[str, Any]] = field(default_factory=list)
    recipients_omitted: int = 0
    resent: int = 0  # re-sends of mails a crashed sender may have handed over already
    retries: int = 0
    status: str = ""
    complete: bool = False
    alerts: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["period"] = self.period.isoformat()
        d["this_run"] = dict(self.this_run)
        d["recipients"] = list(self.recipients)
        return d


def pages(
    due: QuerySet[Subscriber], digest: Digest, ctx: content.Context
) -> Iterator[tuple[list[Subscriber], dict[int, list[Any]]]]:
    """The due subscribers without a delivery of this digest yet, a page of BATCH at a time in pk
    order, each page with its composed items: the sender and a dry run alike, so that neither
    holds a whole list of subscribers (nor its compositions) in memory. Each page is a new query
    after the last pk: what the sender recorded since is not read again."""
    last_pk = 0
    if digest.pk:
        due = due.exclude(deliveries__digest=digest)
    while batch := list(due.filter(pk__gt=last_pk).order_by("pk")[:BATCH]):
        last_pk = batch[-1].pk
        yield batch, content.compose(ctx, batch)


class Sender:
    def __init__(
        self,
        held: leases.Held,
        transport: mail.Transport,
        throttle: Throttle,
        beat: leases.Heartbeat | None = None,
    ):
        self.held, self.transport, self.throttle = held, transport, throttle
        self.beat = beat or leases.Heartbeat(held)  # not started: renews nothing unless send() starts it
        self.renderer = Renderer()
        self.max_attempts = env_int("PAPERFEED_DIGEST_MAX_ATTEMPTS")
        self.retry_delay = env_float("PAPERFEED_DIGEST_RETRY_DELAY")
        self.max_errors = env_int("PAPERFEED_DIGEST_MAX_ERRORS")
        self.consecutive = 0
        self.counts: Counter[str] = Counter()  # this run's outcomes, for the progress line
        self.progress: Progress | None = None
        # Rows a previous run left to retry: each is one more mail for this run's progress, counted
        # at its first attempt here (the rows this run sends first are counted when they are new).
        self.carried: set[int] = set()
        self.unreachable = ""
        self.lost = ""  # the lease lapsed or was taken over: this run stopped, another may go on

    # waiting without losing the lease
    def _sleep(self, seconds: float) -> None:
        end = clock.monotonic() + seconds
        while (left := end - clock.monotonic()) > 0:
            clock.sleep(min(left, LEASE_TTL / 4))
            with transaction.atomic():
                self._fence()

    def _reopen(self, digest: Digest, report: DigestReport) -> None:
        """Lift a pause, and queue again what a crashed sender left in flight (under the lease)."""
        with transaction.atomic():
            self._fence()
            if digest.status == Digest.Status.PAUSED and not digest.held_for_complaints:
                log.warning("resuming %s (was paused: %s)", digest, digest.pause_reason)
                Digest.objects.filter(pk=digest.pk).update(status=Digest.Status.OPEN, pause_reason="")
            # Rows a crashed sender left in flight: maybe accepted by the server, maybe not. Send them
            # again with the same Message-ID (0 missing; a duplicate is identifiable).
            report.resent = Delivery.objects.filter(digest=digest, status=Delivery.Status.SENDING).update(
                status=Delivery.Status.RETRY, due_at=0
            )
            # The backoff spaces the tries within a run; a new run (the server fixed, a pause lifted)
            # tries what is waiting at once rather than sleeping first. The attempts still count.
            Delivery.objects.filter(digest=digest, status=Delivery.Status.RETRY).update(due_at=0)

    def _stop_lost(self, digest: Digest, report: DigestReport, e: leases.LeaseLost) -> DigestReport:
        self.lost = (
            f"{e}; this sender stopped and sends nothing more "
            "(its mail in hand goes out once, from the sender holding the lease now or the next run)"
        )
        log.error("%s: %s", digest, self.lost)
        report.alerts.append(self.lost)
        return report

    def run(self, digest: Digest, hours: list[int] | None, full_period: bool) -> DigestReport:
        report = DigestReport(digest.frequency, digest.period)
        due = Subscriber.objects.receiving(digest.frequency)
        if hours is not None:
            due = due.filter(send_hour__in=hours)
        try:
            self._reopen(digest, report)
        except leases.LeaseLost as e:
            return self._stop_lost(digest, report, e)
        ctx = content.Context.of(digest)
        self.carried = set(
            Delivery.objects.filter(digest=digest, status=Delivery.Status.RETRY).values_list("pk", flat=True)
        )
        todo = due.exclude(deliveries__digest=digest).count() + len(self.carried)
        with Progress(f"{digest}", total=todo, unit="mail") as progress:
            self.progress = progress
            try:
                self._loop(digest, due, ctx, report, progress)
            except DigestPaused as e:
                report.alerts.append(str(e))
            except ServerUnreachable as e:
                self.unreachable = str(e)
                report.alerts.append(str(e))
            except leases.LeaseLost as e:
                self._stop_lost(digest, report, e)
            finally:
                self.progress = None
        self._finish(digest, due, report, full_period)
        return report

    def _loop(
        self, digest: Digest, due: Any, ctx: content.Context, report: DigestReport, progress: Progress
    ) -> None:
        self._retries(digest, report, only_due=True)
        composing = pages(due, digest, ctx)
        while True:
            with self.beat.working(PAGE_DEADLINE):
                page = next(composing, None)
            if page is None:
                break
            batch, composed = page
            failpoint("digest-composed")
            for sub in batch:
                self._new(digest, sub, composed.get(sub.pk, []), report)
                progress.update(1, **self.counts)
            self._retries(digest, report, only_due=True)
        # Wait out the backoff of the temporary failures: the run is complete only when every
        # eligible subscriber is sent or failed.
        while self._retries(digest, report, only_due=False):
            pass

    def _retries(self, digest: Digest, report: DigestReport, *, only_due: bool) -> bool:
        """Re-try due RETRY rows; with only_due=False, first sleep until the next is due. Returns
        whether any were left."""
        pending = Delivery.objects.filter(digest=digest, status=Delivery.Status.RETRY)
        if not only_due:
            nxt = pending.order_by("due_at").values_list("due_at", flat=True).first()
            if nxt is None:
                return False
            if (wait := nxt - clock.wall()) > 0:
                log.info("%s: %d mail(s) to retry; the next try in %.0f s", digest, pending.count(), wait)
            self._sleep(wait)
        for row in (
            pending.filter(due_at__lte=clock.wall()).select_related("subscriber").order_by("due_at", "pk")
        ):
            report.retries += 1
            self.counts["retried"] += 1
            self._attempt(digest, row, report)
            if self.progress is not None:
                first_here = row.pk in self.carried
                self.carried.discard(row.pk)
                self.progress.update(1 if first_here else 0, **self.counts)
        return True

    def _claim(
        self, digest: Digest, sub_pk: int, row: Delivery | None, items: list[Any], report: DigestReport
    ) -> Delivery | None:
        """One transaction: fence, eligibility, rate slot, the row as SENDING. None: nothing to send."""
        while True:
            with transaction.atomic():
                self._fence()
                wait = self.throttle.wait()
                if wait <= 0:
                    sub = Subscriber.objects.select_for_update().get(pk=sub_pk)
                    if because := sub.not_eligible_because():
                        why = f"not eligible: {because}"
                        self._final(digest, sub, row, Delivery.Status.SKIPPED, items, why, report)
                        return None
                    if row is None and not items and not sub.send_empty:
                        self._final(digest, sub, row, Delivery.Status.EMPTY, items, "", report)
                        return None
                    self.throttle.take()
                    if row is None:
                        row = Delivery.objects.create(
                            digest=digest,
                            subscriber=sub,
                            status=Delivery.Status.SENDING,
                            message_id=mail.message_id(digest, sub),
                            papers=[list(i) for i in items],
                            claimed_at=timezone.now(),
                        )
                    else:
                        row.status, row.claimed_at = Delivery.Status.SENDING, timezone.now()
                        row.save(update_fields=["status", "claimed_at"])
                    row.subscriber = sub
                    return row
            self._sleep(wait)

    def _final(
        self,
        digest: Digest,
        sub: Subscriber,
        row: Delivery | None,
        status: str,
        items: list[Any],
        why: str,
        report: DigestReport,
    ) -> None:
        report.this_run[status] += 1
        if row is None:
            Delivery.objects.create(
                digest=digest,
                subscriber=sub,
                status=status,
                message_id=mail.message_id(digest, sub),
                papers=[list(i) for i in items],
                last_error=why,
            )
        else:
            Delivery.objects.filter(pk=row.pk).update(status=status, last_error=why[:500])

    def _message(self, digest: Digest, sub: Subscriber, items: list[Any]) -> mail.DigestEmail:
        """Rendered before the claim, so the rate slot is taken right before the SMTP transaction
        (the limits hold as measured at the server, not only at our claims)."""
        subject, text, html = self.renderer.render(digest, sub, items)
        headers = {"Message-ID": mail.message_id(digest, sub), **mail.list_headers(sub)}
        return mail.build(sub, subject, text, html, headers)

    def _new(self, digest: Digest, sub: Subscriber, items: list[Any], report: DigestReport) -> None:
        message = self._message(digest, sub, items) if (items or sub.send_empty) else None
        try:
            row = self._claim(digest, sub.pk, None, items, report)
        except IntegrityError:  # a row appeared meanwhile (a second sender outside the lease): theirs
            return
        if row is not None and message is not None:
            self._send(digest, row, message, report)

    def _attempt(self, digest: Digest, row: Delivery, report: DigestReport) -> None:
        message = self._message(digest, row.subscriber, row.papers)
        claimed = self._claim(digest, row.subscriber_id, row, row.papers, report)
        if claimed is not None:
            self._send(digest, claimed, message, report)

    def _fence(self) -> None:
        """Renew the lease inside the transaction whose writes it guards (LeaseLost if another
        sender took it over). One that expired while nobody took it (a page of recommendations
        slower than the lease to compose) is taken back: no other sender ran in between, so nothing
        of ours was touched, and a run that stopped there would stop at the same page every time."""
        try:
            self.held.renew()
        except leases.LeaseExpired:
            self.held.resume()
            log.warning("the sender lease expired between two renewals, and nobody took it: resumed")

    def _still_held(self) -> None:
        """Raises LeaseLost unless the lease outlasts the send about to start and the recording of
        its outcome. The claim renewed it a moment ago, so by this process's clock it normally has
        most of LEASE_TTL left and the database is not asked; a process stalled since the claim
        (suspended, swapping) finds it spent and asks. A lease that lapsed since the claim stops
        the run even if nobody has taken it yet: this mail waits for the next run (as after a
        crash) rather than going out on the strength of a claim made under a lease that ran out."""
        if self.held.left() > LEASE_TTL / 2:
            return
        with transaction.atomic():
            self.held.renew()

    def _send(self, digest: Digest, row: Delivery, message: mail.DigestEmail, report: DigestReport) -> None:
        failpoint("digest-claimed")
        self._still_held()
        try:
            with self.beat.working(SEND_DEADLINE or LEASE_TTL):
                self.transport.send(message, within=SEND_DEADLINE)
        except mail.SendError as e:
            self._failed(digest, row, e, report)
            return
        failpoint("digest-after-250")
        with transaction.atomic():
            self._fence()
            self.throttle.accepted()
            Delivery.objects.filter(pk=row.pk).update(
                status=Delivery.Status.SENT, sent_at=timezone.now(), last_error=""
            )
        failpoint("digest-sent")
        self.consecutive = 0
        self.counts["sent"] += 1
        report.this_run["sent"] += 1

    def _failed(self, digest: Digest, row: Delivery, e: mail.SendError, report: DigestReport) -> None:
        email = row.subscriber.email
        if e.unreachable:
            # Nothing reached the server: not an attempt of this mail. Due at once, so a run after
            # the server is back sends it first.
            with transaction.atomic():
                self._fence()
                Delivery.objects.filter(pk=row.pk).update(
                    status=Delivery.Status.RETRY, due_at=0, last_error=str(e)[:500]
                )
            log.error("%s to %s (subscriber %s): %s -> stopping", digest, email, row.subscriber_id, e)
            raise ServerUnreachable(f"mail server unreachable: {e}; nothing lost, run again")
        self.consecutive += 1
        self.counts["errors"] += 1
        attempts = row.attempts + 1
        with transaction.atomic():
            self._fence()
            if e.permanent or attempts >= self.max_attempts:
                status, due, delay = Delivery.Status.FAILED, 0.0, 0.0
                report.this_run["failed"] += 1
                if e.suppress:
                    suppress(row.subscriber, f"SMTP {e}")
            else:
                delay = self.retry_delay * 2 ** (attempts - 1)
                status, due = Delivery.Status.RETRY, clock.wall() + delay
            Delivery.objects.filter(pk=row.pk).update(
                status=status, attempts=attempts, due_at=due, last_error=str(e)[:500]
            )
        outcome = f"retry, next in {delay:.0f} s" if status == Delivery.Status.RETRY else status
        log.warning(
            "%s to %s (subscriber %s): %s (attempt %d of %d) -> %s",
            digest,
            email,
            row.subscriber_id,
            e,
            attempts,
            self.max_attempts,
            outcome,
        )
        if self.consecutive >= self.max_errors:
            reason = f"paused after {self.consecutive} consecutive send errors; last: {e}"
            Digest.objects.filter(pk=digest.pk).update(status=Digest.Status.PAUSED, pause_reason=reason[:300])
            log.error("ALERT %s %s", digest, reason, extra={"alert": "digest-paused"})
            raise DigestPaused(f"{digest}: {reason}")

    def _finish(self, digest: Digest, due: Any, report: DigestReport, full_period: bool) -> None:
        """The period's counts; marks the digest complete only under the lease."""
        rows = Delivery.objects.filter(digest=digest)
        counts = dict(rows.values_list("status").annotate(n=Count("pk")))
        report.sent = counts.get(Delivery.Status.SENT, 0)
        report.failed = counts.get(Delivery.Status.FAILED, 0)
        report.empty = counts.get(Delivery.Status.EMPTY, 0)
        report.skipped = counts.get(Delivery.Status.SKIPPED, 0)
        unfinished = rows.unfinished().count()
        waiting = due.exclude(deliveries__digest=digest).count()
        report.eligible = report.sent + report.failed + unfinished + waiting
        digest.refresh_from_db()
        report.complete = (
            full_period
            and unfinished == 0
            and waiting == 0
            and digest.status != Digest.Status.PAUSED
            and not self.lost
        )
        if report.complete and digest.status == Digest.Status.OPEN:
            Digest.objects.filter(pk=digest.pk).update(
                status=Digest.Status.COMPLETE, completed_at=timezone.now()
            )
            digest.status = Digest.Status.COMPLETE
        report.status = digest.status


def held_for_complaints() -> Digest | None:
    return Digest.objects.filter(held_for_complaints=True).order_by("-period").first()


@dataclass
class SendResult:
    digests: list[DigestReport]
    busy: str = ""
    held: str = ""
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    unreachable: str = ""  # the mail server refused connections: the run stopped early
    lost: str = ""  # the sender lease lapsed or was taken over mid-run: the run stopped early

    def as_json(self) -> dict[str, Any]:
        totals = {
            k: sum(getattr(r, k) for r in self.digests)
            for k in ("eligible", "sent", "failed", "empty", "skipped", "resent", "would_send")
        }
        return {
            **totals,
            "this_run": {k: sum(r.this_run[k] for r in self.digests) for k in RUN_OUTCOMES},
            "complete": all(r.complete for r in self.digests)
            and not (self.busy or self.held or self.unreachable or self.lost),
            "paused": [r.alerts for r in self.digests if r.status == Digest.Status.PAUSED],
            "busy": self.busy,
            "held": self.held,
            "dry_run": self.dry_run,
            "notes": list(self.notes),
            "unreachable": self.unreachable,
            "lost": self.lost,
            "digests": [r.as_json() for r in self.digests],
        }


@dataclass
class Plan:
    """What to send: (frequency, period, send hours or None for all), and notes on what a named
    date does not hold (a weekend day has no daily digest)."""

    todo: list[tuple[str, dt.date, list[int] | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan(frequency: str | None, period: dt.date | None, now: dt.datetime) -> Plan:
    """BadPeriod for a named period not yet begun: its papers are not all in yet, and recording
    its subscribers as sent or empty now would leave them nothing on the day."""
    freqs = [frequency] if frequency else [Frequency.DAILY, Frequency.WEEKLY]
    out = Plan()
    for f in freqs:
        if period is None:
            out.todo.extend((f, p, hours) for p, hours in sorted(due_now(f, now).items()))
            continue
        if frequency is None and not is_period(f, period) and f == Frequency.DAILY:
            out.notes.append(
                f"no daily digest for {period} (a {period:%A}): daily digests go out on weekdays"
            )
            continue
        p = named_period(f, period)
        if (starts := scheduled_at(p, 0)) > now:
            raise BadPeriod(
                f"the {f} digest of {p} cannot be sent before {starts:%Y-%m-%d %H:%M} UTC "
                f"(now {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC); nothing was sent or recorded"
            )
        out.todo.append((f, p, None))
    return out


def current_time() -> dt.datetime:
    if fixed := env("PAPERFEED_NOW"):
        return dt.datetime.fromisoformat(fixed).astimezone(dt.UTC)
    return timezone.now()


def send(
    frequency: str | None = None,
    period: dt.date | None = None,
    *,
    dry_run: bool = False,
    shown: int | None = DRY_RUN_SHOWN,
    now: dt.datetime | None = None,
    transport: mail.Transport | None = None,
) -> SendResult:
    """Send what is due now (or the digests of a named period). Safe to run twice, and at once.
    A dry run lists the first `shown` recipients of each digest (None: all)."""
    now = now or current_time()
    planned = plan(frequency, period, now)
    todo, notes = planned.todo, planned.notes
    if dry_run:
        return SendResult([_dry_run(f, p, hours, shown) for f, p, hours in todo], dry_run=True, notes=notes)
    if (hold := held_for_complaints()) is not None:
        return SendResult(
            [], held=f"{hold}: {hold.pause_reason} (lift with `paperfeed digest resume`)", notes=notes
        )
    held = leases.try_acquire(SENDER_LEASE, LEASE_TTL)
    if held is None:
        return SendResult([], busy="another sender is running", notes=notes)
    transport = transport or mail.SmtpTransport()
    reports = []
    beat = leases.Heartbeat(held)
    try:
        beat.start()
        SendSlot.objects.filter(at__lt=clock.db_wall() - 2 * 3600).delete()
        sender = Sender(held, transport, Throttle.configured(), beat)
        for f, p, hours in todo:
            if sender.unreachable or sender.lost:
                break  # the digests after it would meet the same closed door, or are not ours to send
            digest, _ = Digest.objects.get_or_create(frequency=f, period=p)
            # Complete only once the period's last send hour has come: a run before it (a named
            # period sent early) must leave it open for the subscribers and papers still to come.
            full = scheduled_at(p, 23) <= now
            reports.append(sender.run(digest, hours, full))
    finally:
        beat.stop()  # before the release: no renewal of a lease this sender let go
        transport.close()
        held.release()
    return SendResult(reports, notes=notes, unreachable=sender.unreachable, lost=sender.lost)


def _dry_run(frequency: str, period: dt.date, hours: list[int] | None, shown: int | None) -> DigestReport:
    report = DigestReport(frequency, period)

    def listed(recipient: dict[str, Any]) -> None:
        report.would_send += 1
        if shown is None or len(report.recipients) < shown:
            report.recipients.append(recipient)
        else:
            report.recipients_omitted += 1

    digest = Digest.objects.filter(frequency=frequency, period=period).first() or Digest(
        frequency=frequency, period=period
    )
    due = Subscriber.objects.receiving(frequency)
    if hours is not None:
        due = due.filter(send_hour__in=hours)
    for batch, composed in pages(due, digest, content.Context.of(digest)):
        for sub in batch:
            items = composed.get(sub.pk, [])
            if items or sub.send_empty:
                report.eligible += 1
                papers = sum(1 for pk, _, _ in items if pk != content.NOTE)
                listed({"email": sub.email, "papers": papers})
            else:
                report.empty += 1
    if digest.pk:  # a real run would also send again what is waiting for a retry or was in flight
        unfinished = Delivery.objects.filter(
            digest=digest, status__in=[Delivery.Status.RETRY, Delivery.Status.SENDING]
        )
        for email, papers in unfinished.order_by("pk").values_list("subscriber__email", "papers"):
            papers = sum(1 for p in papers if p[0] != content.NOTE)
            listed({"email": email, "papers": papers, "again": True})
    return report


def resume(frequency: str | None = None, period: dt.date | None = None) -> int:
    """Lift pauses and complaint holds (all, or one digest's)."""
    qs = Digest.objects.filter(Q(status=Digest.Status.PAUSED) | Q(held_for_complaints=True))
    if frequency:
        qs = qs.filter(frequency=frequency)
    if period:
        qs = qs.filter(period=period)
    return qs.update(status=Digest.Status.OPEN, held_for_complaints=False, pause_reason="")
