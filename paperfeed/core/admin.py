"""What every app's admin shares. The core app registers no model of its own."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, ChangeList
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
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


class KeysetChangeList(ChangeList):
    """A list newest first (by id, the admin's default order) pages on past the cap by the last id
    shown: `?after=ID` lists the rows with a smaller id, an index range wherever it is. Page numbers
    stop at CappedPaginator.CAP, and a page deep in by number (OFFSET) reads every row before it."""

    AFTER = "after"

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        # Not a field lookup: taken out before Django reads the rest as filters, and left out of the
        # links a filter, a sort or a search makes (they start the list again).
        after = self.params.pop(self.AFTER, None)
        self.filter_params.pop(self.AFTER, None)
        self.after: int | None = None
        rows = super().get_queryset(request, exclude_parameters)
        self.newest_first = self.get_ordering(request, rows) == ["-pk"]
        if after is None:
            return rows
        try:
            self.after = int(after)
        except ValueError:
            raise IncorrectLookupParameters(f"{self.AFTER} is an id") from None
        self.page_num = 1
        return rows.filter(pk__lt=self.after).order_by("-pk")

    @property
    def next_after_url(self) -> str | None:
        """The link to the rows after this page's last, where page numbers do not reach them."""
        if not self.newest_first or len(self.result_list) < self.list_per_page:
            return None
        if self.after is None and not getattr(self.paginator, "capped", False):
            return None  # every row has its page number
        last = self.result_list[len(self.result_list) - 1].pk
        return self.get_query_string({self.AFTER: last}, remove=[PAGE_VAR, ORDER_VAR])


class LargeTable(admin.ModelAdmin):
    """A list that grows with the site (papers, votes, comments, accounts): counted up to a cap,
    and paged on past it by id (KeysetChangeList)."""

    paginator = CappedPaginator
    show_full_result_count = False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return KeysetChangeList

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
