"""The feed's verbs: submit, upvote, comment, save, and the lists pages, feeds and the API share.

Trending (documented on the trending page too): the papers submitted in a period that have at
least one upvote (a paper whose upvotes all come from new or unverified accounts is listed at a
score of 0, and its reason says why), ranked by

    score = V / (H + 2) ** 1.8

where V counts the upvotes cast until the reference time by unsuspended accounts with a verified email that
are at least 24 hours old, H is the paper's age in hours (from its submission to the reference
time), and the reference time is now, or the end of the period if it is over. This is Hacker
News' gravity: votes lift a paper, age pulls it down, so a fresh paper with a few votes can pass an
older one with more. Ties go to more total votes, then to the newer submission.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, prefetch_related_objects
from django.utils import timezone
from django.utils.text import slugify

from paperfeed.accounts import throttle
from paperfeed.accounts.models import User
from paperfeed.core.http import retry_seconds
from paperfeed.core.text import about
from paperfeed.feed.models import (
    Collection,
    CollectionItem,
    Comment,
    Rendering,
    SavedSearch,
    Submission,
    Vote,
)
from paperfeed.feed.periods import Period, week_of
from paperfeed.papers import services as papers
from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.models import LISTED_WITH, Paper
from paperfeed.search.query import MAX_QUERY_CHARS, parse

log = logging.getLogger(__name__)

GRAVITY = 1.8
AGE_OFFSET_HOURS = 2.0
MAX_COMMENT_CHARS = 10_000


class FeedError(Exception):
    """A request the feed refuses, with a reason fit to show the user."""


class PaperNotFound(FeedError):
    pass


class AlreadySubmitted(FeedError):
    pass


# What a submission tells its client to wait when arXiv could not be asked (the look-up gave up after
# two attempts) and arXiv named no wait of its own: its 503s ask for 10 s to a few minutes, and a
# minute spares it a retry storm. A wait arXiv named is passed on, held to 1 s - 1 h.
ARXIV_RETRY_AFTER = 60


class ArxivUnreachable(FeedError):
    """A paper not stored here that arXiv could not be asked about (down, slow, answering nonsense):
    the API's 503 with Retry-After, not its "no such paper" 404, since asking again may well work."""

    def __init__(self, message: str, retry_after: int = ARXIV_RETRY_AFTER) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def arxiv_retry_after(asked: float | None) -> int:
    """The whole seconds a submission's client is told to wait: arXiv's own Retry-After when it gave
    one (held to 1 s - 1 h: a date past is no reason to hammer, a day's wait no reason to give up),
    else ARXIV_RETRY_AFTER."""
    return ARXIV_RETRY_AFTER if asked is None else retry_seconds(asked)


class NotAllowed(FeedError):
    """The account may not do this yet (an unverified email): the API's 403, as for submitting."""


class Suspended(NotAllowed):
    pass


SUSPENDED = "Your account is suspended by the moderators: you cannot {} until they lift the suspension."


def check_not_suspended(user: Any, doing: str) -> None:
    """Refuse a suspended account's write (vote, comment, submit, report), in words it can show."""
    if getattr(user, "suspended_at", None) is not None:
        raise Suspended(SUSPENDED.format(doing))


# --- the cache version: lists rendered for anonymous visitors are cached under it ---------------


def _new_version() -> int:
    return secrets.randbits(62)


def listing_version() -> int:
    return int(cache.get_or_set("feed:version", _new_version, timeout=None) or 0)


def bump_listing_version() -> None:
    """A fresh random number, not an increment: the database cache's incr is a read then a write,
    so two concurrent bumps could land on one number; two random numbers never do, and a number is
    never reused after the cache is emptied."""
    cache.set("feed:version", _new_version(), timeout=None)


def _bump_after_commit() -> None:
    transaction.on_commit(bump_listing_version)


# --- submissions ----------------------------------------------------------------------------------


def resolve_paper(text: str) -> Paper:
    """The stored paper an arXiv id or URL names, looked up on arXiv when not stored yet."""
    try:
        ident = parse_arxiv_id(text)
    except InvalidArxivId as e:
        raise FeedError(str(e)) from None
    paper = Paper.objects.filter(arxiv_id=ident.id).first()
    if paper is not None:
        return paper
    from paperfeed.papers import services as papers_services

    fetch = getattr(papers_services, "fetch_papers", None)
    if fetch is None:
        raise PaperNotFound(f"{ident.id} is not stored here and this site cannot look papers up on arXiv")
    from paperfeed.papers.lookup import UnknownPaper
    from paperfeed.papers.sources.atom import ApiError
    from paperfeed.papers.sources.http import ArxivError, ArxivUnavailable
    from paperfeed.papers.sources.xml import MalformedXML

    try:
        found = fetch([ident.id])
    except UnknownPaper:
        # arXiv answered, and has no such paper: "try again in a few minutes" would send people
        # back for an id that will never be found.
        raise PaperNotFound(f"arXiv has no paper {ident.id}") from None
    except (ArxivError, ApiError, MalformedXML) as e:  # as `paperfeed fetch` catches them
        # arXiv down, slow, refusing or answering what does not parse (the client's errors, every
        # network, HTTP and parse failure among them): the details are for the log. Anything else
        # (the database failing as the paper is stored, a bug) is no reason to blame arXiv: it
        # propagates, to a logged 500 (or the database-down 503).
        log.warning("looking up %s on arXiv failed: %s", ident.id, e)
        wait = arxiv_retry_after(e.retry_after if isinstance(e, ArxivUnavailable) else None)
        raise ArxivUnreachable(
            f"{ident.id} is not stored here, and arXiv could not be asked for it just now. "
            f"Try again in {about(wait)}.",
            retry_after=wait,
        ) from None
    paper = found.get(ident.id) if isinstance(found, dict) else None
    if paper is None:
        raise PaperNotFound(f"arXiv has no paper {ident.id}")
    return paper


def submit(text: str, user: User | None, day: dt.date | None = None, *, limit: bool = True) -> Submission:
    """Put a paper on `day`'s list (today by default). A paper goes on one list only, as on Hugging
    Face: its votes belong to the paper, so a second listing would carry them to the top of a later
    day and of trending (anyone could recycle last month's favourites daily)."""
    if user is not None:
        check_not_suspended(user, "submit papers")
    if user is not None and limit:
        throttle.check("submit:user", str(user.pk))
    return _put_on_list(resolve_paper(text), user, day)


def _put_on_list(paper: Paper, user: User | None, day: dt.date | None) -> Submission:
    if paper.status != Paper.Status.ACTIVE:
        raise FeedError(f"{paper.arxiv_id} is {paper.status} on arXiv")
    day = day or timezone.localdate()
    listed = Submission.objects.filter(paper=paper).order_by("day").values("day", "removed_at").first()
    if listed is not None and listed["removed_at"] is not None:
        # Resubmitting would undo the moderators' decision; they can restore it themselves.
        raise AlreadySubmitted(f"{paper.arxiv_id} was removed from the feed by the moderators")
    if listed is not None:
        raise AlreadySubmitted(f"{paper.arxiv_id} is already on the list of {listed['day'].isoformat()}")
    try:
        with transaction.atomic():
            sub = Submission.objects.create(paper=paper, day=day, submitted_by=user)
            _bump_after_commit()
    except IntegrityError:
        raise AlreadySubmitted(f"{paper.arxiv_id} is already on the list of {day.isoformat()}") from None
    return sub


# --- votes ----------------------------------------------------------------------------------------


def upvote(user: User, paper: Paper) -> int:
    """Add the user's vote (once, however often and however concurrently asked); the paper's votes.
    A paper on no list is put on today's list by this vote (_submit_with_first_vote)."""
    check_not_suspended(user, "vote")
    # Before the address: verifying it would not make a withdrawn paper votable.
    if paper.status != Paper.Status.ACTIVE:
        raise NotAllowed(
            f"{paper.arxiv_id} is {paper.status} on arXiv: no list shows it, so it takes no upvotes."
        )
    throttle.check("vote:user", str(user.pk))
    with transaction.atomic():
        # Under the user row's lock, which a suspension or any save of the account's standing
        # takes first too: a vote is never cast after a suspension committed (`user` may predate
        # it), and takes its standing (Vote.take_standing) from the row as it is now, so no change
        # to it misses this vote.
        voter = User.objects.select_for_update().get(pk=user.pk)
        if voter.is_suspended:
            raise Suspended(SUSPENDED.format("vote"))
        if not Submission.objects.filter(paper=paper).exists():
            _submit_with_first_vote(voter, paper)
        # get_or_create, not bulk_create: a new vote is saved as a model, so its post_save hook
        # updates the user's "for you" profile in place (recs.apps), as unvoting and saving do.
        # A concurrent duplicate is its IntegrityError, caught in a savepoint: still one vote.
        Vote.objects.get_or_create(user=voter, paper=paper)
        _bump_after_commit()
    return Vote.objects.counted().filter(paper=paper).count()


UNLISTED_VOTE = "an upvote on a paper that is on no list puts it on today's list"


def _submit_with_first_vote(voter: User, paper: Paper) -> None:
    """A vote on a paper no list has would count nowhere (lists, trending, feeds and digests show
    submissions only), so the first upvote submits it, as the page's button says: on Hugging Face
    the submitter's upvote comes with the submission. Its rules are the submit button's."""
    if not voter.email_verified:
        raise NotAllowed(f"Verify your email address to upvote {paper.arxiv_id}: {UNLISTED_VOTE}.")
    throttle.check("submit:user", str(voter.pk))
    with contextlib.suppress(AlreadySubmitted):  # listed meanwhile by someone else: the vote goes there
        _put_on_list(paper, voter, None)


def vote_closed(paper: Paper, voted: bool) -> str:
    """Why `paper` takes no upvote, or "" when it takes one (upvote refuses a paper not active on
    arXiv: the lists show none). A vote cast before stays there to be taken back."""
    if paper.status == Paper.Status.ACTIVE or voted:
        return ""
    return f"{paper.status.capitalize()} on arXiv: it takes no upvotes"


def unvote(user: User, paper: Paper) -> int:
    check_not_suspended(user, "vote")
    throttle.check("vote:user", str(user.pk))
    with transaction.atomic():
        Vote.objects.filter(user=user, paper=paper).delete()
        _bump_after_commit()
    return Vote.objects.counted().filter(paper=paper).count()


def vote_counts(arxiv_ids: list[str]) -> dict[str, int]:
    """Upvotes per paper (by arXiv id; papers without votes are left out): for sorting by votes."""
    return dict(
        Vote.objects.counted()
        .filter(paper__arxiv_id__in=arxiv_ids)
        .values("paper__arxiv_id")
        .annotate(c=Count("*"))
        .values_list("paper__arxiv_id", "c")
    )


def votes_by_pk(paper_ids: list[int]) -> dict[int, float]:
    """The same, by paper primary key: the "votes" sort order search registers from us."""
    return {pk: float(c) for pk, c in Vote.objects.counted().per_paper(paper_ids).items()}


def voted_ids(user: Any, paper_ids: list[int]) -> set[int]:
    if not getattr(user, "is_authenticated", False) or not paper_ids:
        return set()
    return set(Vote.objects.filter(user=user, paper_id__in=paper_ids).values_list("paper_id", flat=True))


# --- comments -------------------------------------------------------------------------------------


def _check_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise FeedError("A comment cannot be empty.")
    if len(body) > MAX_COMMENT_CHARS:
        raise FeedError(f"A comment can be at most {MAX_COMMENT_CHARS} characters.")
    return body


def add_comment(user: User, paper: Paper, body: str) -> Comment:
    if not user.email_verified:
        raise NotAllowed("Verify your email address before commenting.")
    check_not_suspended(user, "comment")
    throttle.check("comment:user", str(user.pk))
    body = _check_body(body)
    with transaction.atomic():
        c = Comment(paper=paper, author=user, body=body)
        c.render()
        c.save()
        _bump_after_commit()
    return c


def edit_comment(user: User, comment: Comment, body: str) -> Comment:
    if comment.author_id != user.pk:
        raise FeedError("Only its author can edit a comment.")
    check_not_suspended(user, "comment")
    body = _check_body(body)
    comment.body, comment.edited_at = body, timezone.now()
    comment.render()
    comment.save(update_fields=["body", "html", "markup_version", "edited_at"])
    return comment


RERENDER_BATCH = 500


@dataclass
class Rerendered:
    """What `rerender_comments` did: `stale` comments found, `rerendered` written with the current
    rules, of which `changed` look different now; `skipped`: edited while it ran, so rendered by
    the edit (or left stale for the next run, when an older version still running wrote it)."""

    stale: int = 0
    rerendered: int = 0
    changed: int = 0
    skipped: int = 0

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def rerender_comments(batch: int = RERENDER_BATCH) -> Rerendered:
    """Render every stale comment again (Comment.objects.stale: hidden ones and those of deleted
    accounts too) and store it, `batch` at a time, each batch committed on its own: a run stopped
    anywhere keeps what it wrote and the next one goes on from there, and a run with nothing stale
    writes nothing. Rendered outside the batch's transaction, which only writes: SQLite's one
    writer waits for no rendering. A row is written only if it still holds the body and version it
    was read with (Comment.objects.write_renderings, as for pages), so an edit meanwhile is not undone.
    Progress on stderr (a bar, or counts in the log), and a last log line with the counts."""
    from paperfeed.core.logs import IN_MESSAGE
    from paperfeed.core.progress import Progress
    from paperfeed.feed.markup import MARKUP_VERSION, render_comment

    done = Rerendered(stale=Comment.objects.stale().count())
    if not done.stale:  # `init` runs this at every deploy: no bar and no log line for nothing
        return done
    after = 0
    with Progress("comments re-rendered", total=done.stale, unit="comment", logger=log) as progress:
        while True:
            rows = list(
                Comment.objects.stale()
                .filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", "body", "html", "markup_version")[:batch]
            )
            if not rows:
                break
            renderings = [Rendering(pk, body, version, render_comment(body)) for pk, body, _, version in rows]
            written = Comment.objects.write_renderings(renderings)
            for (_, _, old, _), new, stored in zip(rows, renderings, written, strict=True):
                if stored:
                    done.rerendered += 1
                    done.changed += new.html != old
                else:
                    done.skipped += 1
            after = rows[-1][0]
            progress.update(len(rows), changed=done.changed)
    log.info(
        "comments re-rendered for markup version %d: %d stale, %d re-rendered, %d changed, %d skipped",
        MARKUP_VERSION,
        done.stale,
        done.rerendered,
        done.changed,
        done.skipped,
        extra={"markup_version": MARKUP_VERSION, **done.as_json(), IN_MESSAGE: True},
    )
    return done


# --- collections and saved searches -------------------------------------------------------------


def save_paper(user: User, paper: Paper, collection_name: str = "Reading list") -> Collection:
    """Save into the user's collection of that name (any case), made if there is none."""
    return save_into(user, paper, collection_name)[0]


def save_into(user: User, paper: Paper, collection_name: str) -> tuple[Collection, bool]:
    """save_paper, also saying whether the paper was added (False: it was in that collection already)."""
    coll = save_target(user, collection_name)
    _, added = CollectionItem.objects.get_or_create(collection=coll, paper=paper)
    return coll, added


def save_target(user: User, collection_name: str) -> Collection:
    """The user's collection of that name (any case), made if there is none."""
    name = " ".join((collection_name or "").split())[:100] or "Reading list"
    return _named(user, name) or _new_collection(user, name)


def _named(user: User, name: str, but: Collection | None = None) -> Collection | None:
    # In Python: SQLite folds the case of ASCII letters only ("ελληνικά" is not "Ελληνικά" to it).
    key = name.casefold()
    mine = Collection.objects.filter(user=user)
    if but is not None:
        mine = mine.exclude(pk=but.pk)
    return next((c for c in mine.only("pk", "name", "slug") if c.name.casefold() == key), None)


def _new_collection(user: User, name: str) -> Collection:
    # The name picks the collection, the slug only its address, in the name's own script ("Ελληνικά"
    # is /ελληνικά: an ASCII slug made both it and "日本語の論文" "list"); names that still slugify
    # alike get -2, -3, ...
    base = slugify(name, allow_unicode=True)[:90] or "list"
    taken = set(Collection.objects.filter(user=user, slug__startswith=base).values_list("slug", flat=True))
    n = 1
    while True:
        slug = base if n == 1 else f"{base}-{n}"
        n += 1
        if slug in taken:
            continue
        try:
            with transaction.atomic():
                return Collection.objects.create(user=user, name=name, slug=slug)
        except IntegrityError:  # made at the same moment by another request: the next number
            taken.add(slug)


def edit_collection(user: User, collection: Collection, *, name: str, public: bool) -> Collection:
    """Rename it or change who sees it; its address stays, so links to it keep working."""
    if collection.user_id != user.pk:
        raise FeedError("Only its owner can change a collection.")
    name = " ".join((name or "").split())[:100]
    if not name:
        raise FeedError("A collection needs a name.")
    if _named(user, name, but=collection):
        raise FeedError(f"You already have a collection called “{name}”.")
    collection.name, collection.public = name, public
    collection.save(update_fields=["name", "public"])
    return collection


def delete_collection(user: User, collection: Collection) -> None:
    if collection.user_id != user.pk:
        raise FeedError("Only its owner can delete a collection.")
    collection.delete()


def unsave_paper(user: User, paper: Paper, collection: Collection) -> None:
    if collection.user_id == user.pk:
        CollectionItem.objects.filter(collection=collection, paper=paper).delete()


def search_to_save(query: str, author: str = "") -> str:
    """The query the search page's Save button keeps: its author filter in the query's own syntax,
    cut where the search itself cuts (the feed of a saved search searches what the page did)."""
    author = " ".join((author or "").replace('"', " ").split())
    if author:
        query = f'{query} au:"{author}"'
    return " ".join((query or "").split())[:MAX_QUERY_CHARS]


def saved_search_of(user: Any, query: str, category: str = "", author: str = "") -> SavedSearch | None:
    """The reader's saved search that is this search page's, if they saved it."""
    if not getattr(user, "is_authenticated", False) or not (query or author):
        return None
    return SavedSearch.objects.filter(
        user=user, query=search_to_save(query, author), category=category.strip()[:40]
    ).first()


def save_search(user: User, query: str, category: str = "") -> SavedSearch:
    query = search_to_save(query)
    if not query:
        raise FeedError("Nothing to save: the search is empty.")
    category = category.strip()[:40]
    # As a digest's alerts: a code no paper can have would make a feed that never lists one.
    if problem := papers.categories_problem([*parse(query).categories, category]):
        raise FeedError(f"{problem} Nothing was saved.")
    obj, _ = SavedSearch.objects.get_or_create(user=user, query=query, category=category)
    return obj


# --- lists ------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One paper on a list: its first submission in the period, counts, and (for trending) why."""

    submission: Submission
    votes: int = 0
    comments: int = 0
    counted: int = 0
    cast: int = 0  # votes cast by the trending score's reference time, counted or not
    age_hours: float = 0.0
    score: float = 0.0
    reason: str = ""
    rank: int = 0
    voted: bool = False  # by the user looking at the list
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def paper(self) -> Paper:
        return self.submission.paper


def _entries(
    period_first: dt.date, period_last: dt.date, submitter: str | None = None, *, upvoted: bool = False
) -> list[Entry]:
    qs = Submission.objects.between(period_first, period_last).visible().with_counts().for_ranking()
    if upvoted:
        qs = qs.upvoted()
    if submitter:
        qs = qs.filter(submitted_by__username__iexact=submitter)
    first: dict[int, Entry] = {}
    for s in qs.order_by("day", "created_at", "pk"):
        if s.paper_id not in first:
            first[s.paper_id] = Entry(s, votes=s.n_votes or 0, comments=s.n_comments or 0)  # type: ignore[attr-defined]
    return list(first.values())


def reference_time(period: Period, now: dt.datetime | None = None) -> dt.datetime:
    now = now or timezone.now()
    end = dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return min(now, end)


def _score(entries: list[Entry], ref: dt.datetime) -> None:
    ids = [e.paper.pk for e in entries]
    counted = Vote.objects.counted_for_trending(ref).per_paper(ids)
    # Votes cast after `ref` (a past period looked at now) are neither counted nor "not counted".
    cast = Vote.objects.counted().cast_by(ref).per_paper(ids)
    for e in entries:
        e.counted, e.cast = counted.get(e.paper.pk, 0), cast.get(e.paper.pk, 0)
        e.age_hours = max(0.0, (ref - e.submission.created_at).total_seconds() / 3600)
        e.score = e.counted / (e.age_hours + AGE_OFFSET_HOURS) ** GRAVITY
        uncounted = e.cast - e.counted
        why = f"{e.counted} counted upvote{'s' if e.counted != 1 else ''}"
        if uncounted > 0:
            why += f" ({uncounted} more from new or unverified accounts not counted)"
        e.reason = (
            f"{why}; submitted {e.age_hours:.0f} h before {ref:%Y-%m-%d %H:%M} UTC: "
            f"{e.counted} / ({e.age_hours:.0f} + {AGE_OFFSET_HOURS:g})^{GRAVITY:g} = {e.score:.4f}"
        )


def listing(
    period: Period,
    *,
    sort: str = "votes",
    submitter: str | None = None,
    now: dt.datetime | None = None,
    upvoted: bool = False,
    loaded: bool = True,
) -> list[Entry]:
    """The papers submitted in a period: sort "votes" (the daily page: most upvoted first),
    "publishedAt" (newest submission first) or "trending" (the score above, with reasons);
    `upvoted`: only papers with at least one upvote. `loaded=False`: ranked (every entry's rank
    is its place in the whole list) but without what a card shows besides (links, categories):
    a caller showing a page of a long list loads only that page's with `load`."""
    entries = _entries(period.first, period.last, submitter, upvoted=upvoted)
    if sort == "trending":
        _score(entries, reference_time(period, now))
        # Ties (unvoted papers, score 0) go to the votes cast by the same moment as the score: today's
        # total would let votes cast after a past period reorder it.
        entries.sort(key=lambda e: (-e.score, -e.cast, -e.submission.created_at.timestamp()))
    elif sort == "publishedAt":
        entries.sort(key=lambda e: (e.submission.day, e.submission.created_at), reverse=True)
    else:
        entries.sort(key=lambda e: (-e.votes, -e.comments, -e.submission.created_at.timestamp()))
    for i, e in enumerate(entries, 1):
        e.rank = i
    if loaded:
        load(entries)
    return entries


def load(entries: list[Entry]) -> list[Entry]:
    """What the cards, feeds and API show of each entry's paper besides its own row: its links and
    categories, in one query each."""
    prefetch_related_objects([e.paper for e in entries], *LISTED_WITH)
    return entries


def trending_period(asked: Period | None = None) -> Period:
    """The period trending lists: the one asked for, else the current ISO week, the one default the
    page, its JSON twin and its feeds share. A week, not a rolling seven days: the page navigates by
    whole periods, and a feed reader keeps each entry it has seen (by its guid), so a new week
    starting empty loses it nothing."""
    return asked or week_of(timezone.localdate())


def trending(period: Period, now: dt.datetime | None = None, limit: int = 50) -> list[Entry]:
    """What is trending in a period: the one definition the page, its JSON twin and its feeds
    read. Only upvoted papers (Submission.objects.upvoted, as the page's arrows skip by): a list of
    every submission at a score of 0 would call unvoted papers trending."""
    return listing(period, sort="trending", now=now, upvoted=True)[:limit]


def latest_day(
    before: dt.date | None = None, after: dt.date | None = None, *, upvoted: bool = False
) -> dt.date | None:
    """The most recent day with submissions (before/after a day, for navigation); `upvoted`: with
    submissions of upvoted papers, the only ones trending lists."""
    qs = Submission.objects.visible()
    if upvoted:
        qs = qs.upvoted()
    # The first row in day order, not MAX/MIN: joined to papers, an aggregate made PostgreSQL hash
    # every paper (a sequential scan, 100-210 ms at 74,728 papers, on every daily page, trending
    # page and feed); walking the day index stops at the first visible submission (0.04 ms).
    if before is not None:
        qs, order = qs.filter(day__lt=before), "-day"
    elif after is not None:
        qs, order = qs.filter(day__gt=after), "day"
    else:
        order = "-day"
    day: dt.date | None = qs.order_by(order).values_list("day", flat=True).first()
    return day


@dataclass
class NewOnArxiv:
    """What a day's page shows while nobody has submitted to it: the newest papers stored here
    (harvested in the site's own categories) announced by that day, none already on a list."""

    day: dt.date | None  # the announcement day they are from: that day, or the last one before it
    papers: list[Paper]
    total: int  # that day's unsubmitted papers, of which `papers` are the newest
    stored: bool  # any paper at all: a new site with none gets the operator's instructions


def new_on_arxiv(day: dt.date, limit: int = 30) -> NewOnArxiv:
    """A new site has papers long before it has curators: its front page lists the newest of them
    rather than nothing, marked as not submitted, each with its Submit button. On arXiv's own
    days off (weekends) and before the day's announcement is harvested, the last day before."""
    active = Paper.objects.active()
    # Ordered by the announced index, as latest_day walks the submissions' day index.
    shown = (
        active.filter(announced__lte=day).order_by("-announced").values_list("announced", flat=True).first()
    )
    if shown is None:
        return NewOnArxiv(None, [], 0, stored=active.exists())
    fresh = active.announced_on(shown).exclude(pk__in=Submission.objects.values("paper_id"))
    listed = list(fresh.order_by("-arxiv_id").for_listing()[:limit])
    return NewOnArxiv(shown, listed, fresh.count() if len(listed) == limit else len(listed), stored=True)


# --- what `paperfeed show --json` adds -------------------------------------------------------------


def paper_feed_fields(paper: Paper) -> dict[str, Any]:
    subs = Submission.objects.filter(paper=paper).select_related("submitted_by").order_by("day")
    return {
        "votes": Vote.objects.counted().filter(paper=paper).count(),
        # Named as the API names it: "comments" is arXiv's own field (as_json), which this
        # count overwrote, so `show --json` never gave the authors' "12 pages, 3 figures".
        "numComments": Comment.objects.visible().filter(paper=paper).count(),
        "submissions": [
            {
                "day": s.day.isoformat(),
                "by": s.submitted_by.username if s.submitted_by else None,
                "removed": s.removed_at is not None,  # by moderators: off every list, kept for the record
            }
            for s in subs
        ],
    }


def stats(paper: Paper) -> dict[str, int]:
    return {
        "votes": Vote.objects.counted().filter(paper=paper).count(),
        "comments": Comment.objects.filter(paper=paper, hidden=False).count(),
    }
