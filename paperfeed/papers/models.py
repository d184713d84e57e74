"""Papers as arXiv describes them: identifiers, versions, ordered authors, categories, typed links.

The database is the system of record; search indexes are derived from it through `PaperChange`,
an append-only log of which papers changed, so any node can bring its own indexes up to date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from paperfeed.papers import tex
from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.titles import DIGEST_LENGTH, title_digest


class Category(models.Model):
    code = models.CharField(max_length=40, primary_key=True)  # "cs.CL"
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.code

    @property
    def archive(self) -> str:
        return self.code.split(".")[0]


KEY_LENGTH = 200  # of an author key, current (Author) or old (AuthorAlias)


class AuthorQuerySet(models.QuerySet["Author"]):
    def keyed(self, key: str) -> Author | None:
        """The author a key names: the author whose key it is, else the one that had it before a
        re-key (`AuthorAlias`). A current key wins, so an old key taken by a new author is theirs."""
        return self.filter(key=key).first() or self.filter(aliases__key=key).first()

    def current_keys(self, keys: Iterable[str]) -> dict[str, str]:
        """{key: the current key of the author it names} for the keys that name one, old ones too."""
        # A key no author can have is not asked of the database: PostgreSQL refuses a NUL in text
        # outright (a DataError, not "no match"), and --author or au: may carry anything.
        wanted = {k for k in keys if k and "\x00" not in k and len(k) <= KEY_LENGTH}
        found = {k: k for k in self.filter(key__in=wanted).values_list("key", flat=True)}
        if len(found) < len(wanted):
            found.update(
                AuthorAlias.objects.filter(key__in=wanted - found.keys()).values_list("key", "author__key")
            )
        return found


class Author(models.Model):
    key = models.CharField(max_length=KEY_LENGTH, unique=True)  # slugify_name("forenames keyname")
    name = models.CharField(max_length=300)

    objects = AuthorQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class AuthorAlias(models.Model):
    """A key an author had before the key rule changed (records.slugify_name): its pages, feeds and
    follows still lead to the author. Looked up only when no author has the key now."""

    key = models.CharField(max_length=KEY_LENGTH)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        # A constraint, not unique=True: PostgreSQL adds no second "_like" index (see migration 0003).
        constraints = [models.UniqueConstraint(fields=["key"], name="uniq_author_alias_key")]
        verbose_name_plural = "author aliases"

    def __str__(self) -> str:
        return f"{self.key} -> {self.author_id}"


# How many papers a category lists before SQLite is asked for them by EXISTS (PaperQuerySet.in_category):
# at 74,728 papers stat.ML (355) and cs.SE (469) were as fast or faster by IN, eess.IV (1,438) and
# cs.RO (1,983) faster by EXISTS.
SQLITE_EXISTS_FROM = 1000


class PaperQuerySet(models.QuerySet["Paper"]):
    def active(self) -> PaperQuerySet:
        return self.filter(status=Paper.Status.ACTIVE)

    def hidden(self) -> PaperQuerySet:
        """Withdrawn and deleted papers: few, and out of the search indexes, so the admin looks for
        them by a scan of these rows alone (the `paper_hidden` partial index)."""
        return self.exclude(status=Paper.Status.ACTIVE)

    def named(self, text: str) -> PaperQuerySet:
        """The paper an id names in any form arXiv writes it (`arXiv:` prefix, version, old style);
        none for text that is not an id, so callers answer 404 either way."""
        try:
            return self.filter(arxiv_id=parse_arxiv_id(text).id)
        except InvalidArxivId:
            return self.none()

    def announced_on(self, day: dt.date) -> PaperQuerySet:
        return self.filter(announced=day)

    def announced_between(self, first: dt.date, last: dt.date) -> PaperQuerySet:
        return self.filter(announced__gte=first, announced__lte=last)

    def in_category(self, *codes: str) -> PaperQuerySet:
        """Papers listed in a category (or in any of several), primary or cross-listed. A semi-join
        on PaperCategory (the ingestor stores the primary category there too, at position 0): the
        join + DISTINCT it replaces sorted every paper of the category, 78-278 ms for a cs.CV page
        at 74,728 papers on PostgreSQL, 3 ms now.

        SQLite plans that `pk IN (…)` one way whatever the category's size: it reads each listed paper
        by its rowid and sorts them all, 38,431 for cs.CV, to find the newest day or a day's neighbours.
        From SQLITE_EXISTS_FROM listed papers on it gets an EXISTS instead, which walks the `announced`
        index and stops at the first rows wanted (a cs.CV page 232 -> 23 ms of CPU); below that the walk
        would read past most papers to find the category's few (hep-ex, 1 paper: 9.5 -> 128 ms), so they
        keep the IN. PostgreSQL plans both as the same semi-join from its statistics: it keeps the IN,
        without the probe (bench/README.md, "Category pages")."""
        listed = PaperCategory.objects.using(self.db).filter(category_id__in=codes)
        if connections[self.db].vendor == "sqlite" and listed.values_list("pk")[SQLITE_EXISTS_FROM:][:1]:
            return self.filter(Exists(listed.filter(paper_id=OuterRef("pk"))))
        return self.filter(pk__in=listed.values("paper_id"))

    def by_author(self, key: str) -> PaperQuerySet:
        return self.filter(authorships__author__key=key)

    def upvoted_by(self, user: Any) -> PaperQuerySet:
        """The papers `user` upvoted, the last upvoted first (id breaks a tie of one instant): the
        user's page and its API twin page through the same rows."""
        return self.filter(votes__user=user).order_by("-votes__created_at", "-pk")

    def with_code(self) -> PaperQuerySet:
        return self.filter(links__kind__in=[PaperLink.Kind.GITHUB, PaperLink.Kind.GITLAB]).distinct()

    def for_listing(self) -> PaperQuerySet:
        """What a list of papers shows, without a query per paper."""
        return self.select_related("primary_category").prefetch_related(*LISTED_WITH)

    # The ORM's bulk writes keep `title_digest` right as `save()` does; the importer, which writes
    # rows in plain SQL, sets it in services._paper_fields.

    def update(self, **kwargs: Any) -> int:
        if "title" in kwargs and "title_digest" not in kwargs:  # bulk_update passes both
            if not isinstance(kwargs["title"], str):
                raise TypeError("a title set by a database expression has no title_digest: set a string")
            kwargs["title_digest"] = title_digest(kwargs["title"])
        if "announced" not in kwargs:
            return super().update(**kwargs)
        # The papers' listings carry their day (PaperCategory.announced): written in the same transaction.
        day, listings = kwargs["announced"], PaperCategory.objects.using(self.db)
        with transaction.atomic(using=self.db):
            if day is None or isinstance(day, dt.date):
                # The listings first: the papers' own filter may name the day about to change.
                listings.filter(paper_id__in=self.values("pk")).update(announced=day)
                return super().update(**kwargs)
            # A database expression (bulk_update's CASE, an F()): each paper's day read back once written.
            pks = list(self.values_list("pk", flat=True))
            n = super().update(**kwargs)
            day_of = Paper.objects.using(self.db).filter(pk=OuterRef("paper_id")).values("announced")
            for i in range(0, len(pks), 500):  # within SQLite's bound parameters
                listings.filter(paper_id__in=pks[i : i + 500]).update(announced=Subquery(day_of))
            return n

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        papers = list(objs)
        for paper in papers:
            paper.title_digest = title_digest(paper.title)
        return super().bulk_create(papers, *args, **kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], *args: Any, **kwargs: Any) -> int:
        papers, names = list(objs), list(fields)
        if "title" in names:
            for paper in papers:
                paper.title_digest = title_digest(paper.title)
            names.append("title_digest")
        return super().bulk_update(papers, names, *args, **kwargs)


# What a list shows of a paper beyond its own row, fetched for the whole list in a query each.
LISTED_WITH = ("links", "paper_categories")


class Paper(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        WITHDRAWN = "withdrawn"
        DELETED = "deleted"  # an OAI-PMH deleted record: hidden, never hard-deleted (votes survive)

    arxiv_id = models.CharField(max_length=40, unique=True)
    version = models.PositiveSmallIntegerField(null=True, blank=True)
    title = models.TextField()
    # titles.title_digest(title), kept by save() and the bulk writes: a library import's lookup by
    # title. A digest, not the key: a btree row holds at most ~2.7 kB on PostgreSQL, a title more.
    title_digest = models.CharField(max_length=DIGEST_LENGTH, blank=True, default="", editable=False)
    abstract = models.TextField(blank=True)  # raw TeX, as arXiv has it
    authors_text = models.TextField(blank=True)  # as written, its TeX accents decoded
    # Ordered parsed names [{"name", "keyname", "forenames", "suffix", "key"}]: lists render from this
    # without a join; `Authorship` indexes the same names for author pages.
    authors = models.JSONField(default=list)
    comments = models.TextField(blank=True)
    journal_ref = models.TextField(blank=True)
    doi = models.CharField(max_length=255, blank=True)
    report_no = models.TextField(blank=True)
    license = models.CharField(max_length=255, blank=True)
    submitter = models.CharField(max_length=255, blank=True)
    primary_category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="primary_papers",
        db_index=False,  # covered by paper_cat_announced
    )
    categories = models.ManyToManyField(Category, through="PaperCategory", related_name="papers")
    versions = models.JSONField(default=list)  # [{"version", "date", "size"}]
    published = models.DateTimeField(null=True, blank=True)  # v1 submitted
    updated = models.DateTimeField(null=True, blank=True)  # latest version submitted
    announced = models.DateField(null=True, blank=True, db_index=True)  # first announced by arXiv
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=20, blank=True)  # snapshot | oai | api | abs
    content_hash = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    objects = PaperQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["primary_category", "announced"], name="paper_cat_announced"),
            models.Index(fields=["title_digest"], name="paper_title_digest"),
            # A DOI is matched without case (references.match): an index on the expression so asked.
            models.Index(Lower("doi"), name="paper_doi_lower"),
            # The hidden papers (PaperQuerySet.hidden), which the keyword index leaves out, by id:
            # the admin's search reads their titles alone rather than every paper's.
            models.Index(fields=["id"], condition=~models.Q(status="active"), name="paper_hidden"),
        ]

    def __str__(self) -> str:
        # Admin lists, logs and messages: no KaTeX there, so the title's TeX in plain characters.
        return f"{self.arxiv_id}: {Truncator(tex.plain(self.title)).chars(60)}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if "title" not in self.get_deferred_fields():  # else the title is not saved: no query for it
            self.title_digest = title_digest(self.title)
        fields = kwargs.get("update_fields")
        if fields is not None and "title" in fields and "title_digest" not in fields:
            kwargs["update_fields"] = [*fields, "title_digest"]
        # A new paper has no listings yet; a stored one's take its day whenever the day is saved.
        relisted = (
            not self._state.adding
            and "announced" not in self.get_deferred_fields()
            and (fields is None or "announced" in fields)
        )
        if not relisted:
            super().save(*args, **kwargs)
            return
        db = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=db):
            super().save(*args, **kwargs)
            PaperCategory.objects.using(db).filter(paper_id=self.pk).update(announced=self.announced)

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    AUTHORS_LISTED = 6

    @property
    def author_line(self) -> str:
        """The first AUTHORS_LISTED names and how many more, as a list of papers shows them: one
        lookup in a template, where a loop over the names cost a list of 30 papers ~5 ms."""
        names = ", ".join(a.get("name", "") for a in self.authors[: self.AUTHORS_LISTED])
        more = len(self.authors) - self.AUTHORS_LISTED
        return f"{names} and {more} more" if more > 0 else names

    @cached_property
    def title_html(self) -> SafeString:
        """The title as every page shows it: TeX's typography outside its formulas as an abstract's
        (dashes, quotes, accents, \\%: papers.tex.prose), escaped, the formulas left for KaTeX."""
        return mark_safe(tex.prose_html(self.title))  # noqa: S308  # nosec B308 B703

    @cached_property
    def short_title(self) -> str:
        """The title as a list's buttons and links name their paper to a screen reader ("Upvote
        “…”"): its TeX in plain characters, as KaTeX renders no hidden label, cut at 60 characters.
        Once per paper, where each of a card's 2-4 labels cut it again."""
        return Truncator(tex.plain(self.title)).chars(60)

    def category_codes(self) -> list[str]:
        # Sorted here, not by the database: .all() reads what for_listing() prefetched (an order_by
        # would query again for every paper of a list).
        codes = [pc.category_id for pc in sorted(self.paper_categories.all(), key=lambda pc: pc.position)]
        return codes or ([self.primary_category_id] if self.primary_category_id else [])

    def version_note(self, asked: int, shows: str) -> str | None:
        """What to tell someone who asked for version `asked` when this (the latest stored) is
        shown: `shows` starts the sentence ("This page shows"). None when it is the one asked for."""
        elsewhere = f"{self.abs_url}v{asked}"
        if self.version is None:  # a source that does not say which version it describes (the snapshot)
            return f"{shows} the paper as stored here; v{asked} is at {elsewhere}"
        if asked == self.version:
            return None
        if asked > self.version:
            return (
                f"You asked for v{asked}; the newest version here is v{self.version}. "
                f"arXiv may have a newer one: {elsewhere}"
            )
        return f"{shows} v{self.version}, the latest; v{asked} is at {elsewhere}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.arxiv_id,
            "version": self.version,
            "title": self.title,
            "abstract": self.abstract,
            "authors": self.authors,
            "authors_text": self.authors_text,
            "primary_category": self.primary_category_id,
            "categories": self.category_codes(),
            "comments": self.comments,
            "journal_ref": self.journal_ref,
            "doi": self.doi,
            "report_no": self.report_no,
            "license": self.license,
            "submitter": self.submitter,
            "versions": self.versions,
            "published": self.published.isoformat() if self.published else None,
            "updated": self.updated.isoformat() if self.updated else None,
            "announced": self.announced.isoformat() if self.announced else None,
            "status": self.status,
            "links": [{"kind": lk.kind, "url": lk.url, "source": lk.source} for lk in self.links.all()],
            "abs_url": self.abs_url,
            "pdf_url": self.pdf_url,
        }


class PaperCategoryQuerySet(models.QuerySet["PaperCategory"]):
    def of_newest(self, codes: list[str], n: int) -> PaperCategoryQuerySet:
        """Every listing (all their categories) of each of `codes`' newest shown papers: the `n` of
        latest day (`announced`, the day the feed lists a paper under) filed under it, primary or
        cross-listed, the last added first among a day's, each one of Paper.objects.active() (a
        withdrawn or deleted paper filtered out afterwards had taken a place, and left the category
        short of `n`). By day, where the last added were: a backfill of old papers (an import of an
        old snapshot, a harvest of an old range) is added last, and took their places, cross-lists'
        too while only the primary listings had an index by day. Papers not yet announced have no
        day and are left out.

        One query, an end range of the listings' (category, announced, paper) index per category,
        each read as a LIMIT of its own inside a UNION ALL (the ORM slices no member of a union on
        SQLite); one read per category cost a request's page each its own round trip and compile.
        Each listing's paper is looked up by primary key as the walk reaches it (a correlated
        EXISTS), so the LIMIT still stops the walk, whatever the statistics say: a NOT EXISTS among
        the hidden papers, their small partial index (`paper_hidden`) probed instead, was read whole
        for each listing by PostgreSQL once withdrawals outdated the statistics (1 in 20 papers
        withdrawn at 75k: 200 ms a query; bench/README.md, "recs-latency")."""
        if not codes:
            return self.none()
        # Only quoted names and the SQL the ORM compiles are spliced in: the codes, the status and `n`
        # are parameters.
        listings = connections[self.db].ops.quote_name(PaperCategory._meta.db_table)
        shown, shown_params = (
            Paper.objects.using(self.db)
            .active()
            # Correlated with the member's listing, the nearest table of that name.
            .filter(pk=RawSQL(f"{listings}.paper_id", ()))  # noqa: S611  # nosec B611
            .values("pk")
            .query.sql_with_params()
        )
        newest = (
            f"SELECT paper_id FROM {listings} WHERE category_id = %s AND announced IS NOT NULL"  # noqa: S608  # nosec B608
            f" AND EXISTS ({shown}) ORDER BY announced DESC, paper_id DESC LIMIT %s"
        )
        union = " UNION ALL ".join(f"SELECT * FROM ({newest}) AS newest_{i}" for i in range(len(codes)))  # noqa: S608  # nosec B608
        params = [x for code in codes for x in (code, *shown_params, n)]
        return self.filter(paper_id__in=RawSQL(union, params))  # noqa: S611  # nosec B611

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        """Listings as every other write leaves them: with their paper's day, whatever was set (the
        ORM's writes of listings, `paper.categories.add()` among them, come through here)."""
        rows = list(objs)
        ids = {row.paper_id for row in rows}
        days = dict(Paper.objects.using(self.db).filter(pk__in=ids).values_list("pk", "announced"))
        for row in rows:
            row.announced = days.get(row.paper_id)
        return super().bulk_create(rows, *args, **kwargs)


class PaperCategory(models.Model):
    # Each foreign key is the leading column of one of the indexes below, so none gets its own.
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="paper_categories", db_index=False
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="paper_categories", db_index=False
    )
    position = models.PositiveSmallIntegerField(default=0)  # 0 = primary
    # The paper's `announced`, copied so that a category's listings, cross-lists too, can be read
    # newest day first from an index (of_newest). Every write of a paper's day or of its listings
    # sets it: the ingestor's, the queryset's and the model's (tests/papers/test_models.py).
    announced = models.DateField(null=True, blank=True, editable=False)

    objects = PaperCategoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "paper categories"
        constraints = [models.UniqueConstraint(fields=["paper", "category"], name="uniq_paper_category")]
        indexes = [
            models.Index(fields=["category", "paper"], name="papercat_cat_paper"),
            # The paper last: a day's order (the last added first) without a sort, and the ids read
            # from the index alone, on SQLite (whose own tie-break is the row id) and PostgreSQL.
            models.Index(fields=["category", "announced", "paper"], name="papercat_cat_announced"),
        ]

    def __str__(self) -> str:
        return f"{self.paper_id} in {self.category_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.announced = (
            Paper.objects.using(kwargs.get("using") or router.db_for_write(type(self), instance=self))
            .filter(pk=self.paper_id)
            .values_list("announced", flat=True)
            .first()
        )
        super().save(*args, **kwargs)


class Authorship(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="authorships", db_index=False)
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="authorships", db_index=False)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["paper", "position"], name="uniq_authorship_position")]
        indexes = [models.Index(fields=["author", "paper"], name="authorship_author_paper")]

    def __str__(self) -> str:
        return f"author {self.author_id} #{self.position} of {self.paper_id}"


class PaperLink(models.Model):
    class Kind(models.TextChoices):
        GITHUB = "github"
        GITLAB = "gitlab"
        HUGGINGFACE = "huggingface"
        PROJECT = "project"

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="links", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    url = models.URLField(max_length=500)
    source = models.CharField(max_length=20)  # abstract | comments | curated

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paper", "url"], name="uniq_paper_link")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.url}"


class PaperChangeQuerySet(models.QuerySet["PaperChange"]):
    def mark(self, change_id: int) -> dict[str, Any]:
        """How a copy kept beside the database (a search index, the saved "for you" window) records
        the change it has read up to: the id with that change's time and paper. Ids alone are the
        same in another database, or in this one restored to an older state, so a copy made from
        either would take their papers for read; with the time and paper it is told apart."""
        row = self.filter(id=change_id).values("at", "paper_id").first() if change_id else None
        return {
            "id": change_id,
            "at": row["at"].isoformat() if row else None,
            "paper": row and row["paper_id"],
        }

    def holds(self, mark: dict[str, Any]) -> bool:
        """Whether `mark` (from `mark()`, kept in a file) names a change of this database."""
        try:
            return self.mark(int(mark["id"])) == mark
        except (KeyError, TypeError, ValueError):  # a damaged state file: not this database's either
            return False


class PaperChange(models.Model):
    """Append-only: one row per created, updated or deleted paper. Indexers remember the last id
    they consumed, so `paperfeed index` sees exactly the papers changed since its last run; with
    it they keep its `mark()`, which tells this database's change of that id from another's."""

    # No index on paper: papers are never hard-deleted, and consumers read by id range.
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="+", db_index=False)
    at = models.DateTimeField(auto_now_add=True)

    objects = PaperChangeQuerySet.as_manager()

    def __str__(self) -> str:
        return f"change {self.pk}: paper {self.paper_id}"


class HarvestState(models.Model):
    """Where an ingestion stream stopped: committed in the same transaction as the papers it covers."""

    name = models.CharField(max_length=200, unique=True)  # e.g. "oai:https://…/oai:arXiv:cs"
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
