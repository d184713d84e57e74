"""What every app's admin shares. The core app registers no model of its own."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import Field, Q, QuerySet, UniqueConstraint
from django.db.models.options import Options
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.functional import cached_property

from paperfeed.papers.models import Paper


class ReadOnly(admin.ModelAdmin):
    """Rows an operator may look at but not edit in the admin: a change there would bypass what
    the site does around it (the moderation log, the counts and listing versions a vote or a
    submission moves), and one slip of the mouse would make it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CappedPaginator(Paginator):
    """Counts the rows of a list up to CAP only. The admin pages by the count of the filtered list
    whatever `show_full_result_count` says (that flag only skips a second, unfiltered count), and a
    COUNT(*) reads every row: 75-165 ms for 1M votes on PostgreSQL, 6 ms for CAP + 1 (bench/README.md,
    "admin"). Past CAP the list says "10,000+ votes" (templates/admin/pagination.html, search_form.html)
    and pages up to it."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        # Any CAP + 1 rows will do: without the ordering no sort stands before the LIMIT.
        return self.rows.order_by()[: self.CAP + 1].count()

    @property
    def rows(self) -> QuerySet[Any]:
        return self.object_list  # type: ignore[return-value]  # the admin pages QuerySets

    @property
    def capped(self) -> bool:
        return self.count > self.CAP

    @property
    def capped_count(self) -> str:
        """How the list says its count past the cap: "10,000+", not Django's "more than 10000"."""
        return f"{self.CAP:,}+"

    def page(self, number: Any) -> Page:
        """A page past the first skips the rows before it by their ids alone, then reads its own
        rows by id with the list's joins. OFFSET on the list's query joined every skipped row's
        account and paper first: 280-420 ms of SQL for the votes' page 100 on PostgreSQL at 1M, where
        the ids are an index-only scan of ~1 ms (bench/README.md, "admin")."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if bottom == 0:
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.rows.values_list("pk", flat=True)[bottom:top])
        return Page(self.rows.filter(pk__in=ids), number, self)


class Unkeyed(Exception):
    """A `?after=` the list cannot page by: LargeTable says why and shows the list from its start."""

    def __init__(self, message: str, query: str) -> None:
        super().__init__(message)
        self.query = query


class KeysetChangeList(ChangeList):
    """Past the cap a list pages on by the last row shown: `?after=ID` lists the rows after that one
    in the list's order, newest first by id (the default) or sorted by a column an index orders
    (`?o=`), the key then (column, id). Each is an index range however deep, where a page by number
    skips every row before it. A sort no index orders has page numbers only, up to the cap."""

    AFTER = "after"

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        # Not a field lookup: taken out before Django reads the rest as filters, and left out of the
        # links a filter, a sort or a search makes (they start the list again).
        after = self.params.pop(self.AFTER, None)
        self.filter_params.pop(self.AFTER, None)
        self.after: int | None = None
        rows = super().get_queryset(request, exclude_parameters)
        ordering = list(rows.query.order_by)  # get_ordering's, as Django applied it
        self.key = _key(self.opts, ordering)
        if after is None:
            return rows
        start = self.get_query_string(remove=[PAGE_VAR])
        if self.key is None:
            raise Unkeyed(
                f"Sorted by {_ordered_by(self.opts, ordering)} the list has page numbers only (no"
                " index orders it, so a page after a row would read the whole table): shown from its"
                " first page.",
                start,
            )
        try:
            self.after = int(after)
        except ValueError:
            raise IncorrectLookupParameters(f"{self.AFTER} is an id") from None
        self.page_num = 1
        names = [name for name, _ in self.key]
        if names == [self.opts.pk.attname]:
            cursor: tuple[Any, ...] | None = (self.after,)  # any id will do, a row or not
        else:
            cursor = self.model._base_manager.filter(pk=self.after).values_list(*names).first()
        if cursor is None:
            raise Unkeyed(f"No row has the id {self.after}: shown from the first page.", start)
        return rows.filter(_beyond(self.key, cursor))

    @property
    def newest_first(self) -> bool:
        return self.key == [(self.opts.pk.attname, True)]

    @property
    def next_after_url(self) -> str | None:
        """The link to the rows after this page's last, where page numbers do not reach them."""
        if self.key is None or len(self.result_list) < self.list_per_page:
            return None
        if self.after is None and not getattr(self.paginator, "capped", False):
            return None  # every row has its page number
        last = self.result_list[len(self.result_list) - 1].pk
        return self.get_query_string({self.AFTER: last}, remove=[PAGE_VAR])


def _key(opts: Options[Any], ordering: list[Any]) -> list[tuple[str, bool]] | None:
    """The columns (attname, descending) a list's order pages by, ending at the first unique one
    (Django's ordering ends with the pk unless a unique column made it total), or None when a row
    cannot be found by them through an index: the first column must lead one (else each page would
    sort the table), and none may be NULL (a NULL compares as nothing) or another table's order."""
    key: list[tuple[str, bool]] = []
    for part in ordering:
        field = _field(opts, part.removeprefix("-")) if isinstance(part, str) else None
        if field is None or not field.concrete or field.null or field.many_to_many:
            return None  # an expression, `?`, a lookup across a relation (paper__title)
        if field.is_relation and field.related_model._meta.ordering:  # type: ignore[union-attr]
            return None  # ordered by the other table's ordering, not by this column
        if field.attname in {column for column, _ in key}:
            continue  # ordered by it already
        key.append((field.attname, part.startswith("-")))
        if field.primary_key or field.unique:
            break
    else:
        key.append((opts.pk.attname, True))
    return key if _leads_an_index(opts, key[0][0]) else None


def _field(opts: Options[Any], name: str) -> Field[Any, Any] | None:
    try:
        field = opts.pk if name == "pk" else opts.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, Field) else None


def _leads_an_index(opts: Options[Any], attname: str) -> bool:
    field = next(f for f in opts.concrete_fields if f.attname == attname)
    if field.primary_key or field.unique or getattr(field, "db_index", False):
        return True
    whole = [i.fields for i in opts.indexes if i.fields and i.condition is None] + [
        c.fields
        for c in opts.constraints
        if isinstance(c, UniqueConstraint) and c.fields and c.condition is None
    ]
    return any(fields[0].removeprefix("-") == field.name for fields in [*whole, *opts.unique_together])


def _ordered_by(opts: Options[Any], ordering: list[Any]) -> str:
    """The sort's first column as the list's header names it."""
    first = ordering[0] if ordering else None
    field = _field(opts, first.removeprefix("-")) if isinstance(first, str) else None
    return str(field.verbose_name) if field is not None else "that column"


def _beyond(key: list[tuple[str, bool]], cursor: tuple[Any, ...]) -> Q:
    """The rows after `cursor` in the order `key`: (a, id) after (x, y) is a past x, or a = x and id
    past y. The first column's own bound comes first, as the index range to read."""
    after = Q()
    for i, (name, descending) in enumerate(key):
        ties = {prior: value for (prior, _), value in zip(key[:i], cursor, strict=False)}
        after |= Q(**ties, **{f"{name}__{'lt' if descending else 'gt'}": cursor[i]})
    if len(key) == 1:
        return after
    first, descending = key[0]
    return Q(**{f"{first}__{'lte' if descending else 'gte'}": cursor[0]}) & after


class LargeTable(admin.ModelAdmin):
    """A list that grows with the site (papers, votes, comments, accounts): counted up to a cap,
    and paged on past it by the last row shown (KeysetChangeList)."""

    paginator = CappedPaginator
    show_full_result_count = False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return KeysetChangeList

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        try:
            return super().changelist_view(request, extra_context)
        except Unkeyed as e:
            self.message_user(request, str(e), messages.WARNING)
            return HttpResponseRedirect(request.path + e.query)

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any] | None:
        """The rows a search term finds by an index, or None for Django's own search (`icontains`
        on `search_fields`: every row of the table and its joins read, seconds at a field's scale)."""
        return None

    def words_search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        """Django's own search of `queryset`: each word of `term` (a quoted phrase is one) in one of
        `search_fields`, as every list's search box reads its words."""
        found, duplicates = super().get_search_results(request, queryset, term)
        return found.distinct() if duplicates else found

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        found = self.search(request, queryset, term)
        if found is None:
            return super().get_search_results(request, queryset, term)
        return found, False


class ByPaperOrUser(LargeTable):
    """Searched by the paper's arXiv id (in any form arXiv writes one, `Paper.objects.named`) or
    else by the exact username of `user_field`, each an index lookup. Django's search, `icontains`
    on the joined columns, read every row of the table and of the joins: 4 s for the votes at 1M."""

    user_field = "user"
    search_help_text = (
        "The paper's arXiv id (2401.01234, arXiv:2401.01234v2, hep-th/9901001) or a username, exactly."
    )

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        paper_ids = list(Paper.objects.named(term).values_list("pk", flat=True))
        if paper_ids:
            return queryset.filter(paper_id__in=paper_ids)
        return queryset.filter(**{f"{self.user_field}__username": term})
