from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from paperfeed.core.admin import LargeTable
from paperfeed.papers.models import Author, Category, HarvestState, Paper, PaperChange, PaperLink
from paperfeed.papers.signals import papers_ingested


class PaperLinkInline(admin.TabularInline):
    model = PaperLink
    extra = 0


class SourceFilter(admin.SimpleListFilter):
    """The sources the site's ingestors write (Ingestor(...) in the import command, the harvests and
    the lookup), named here: Django's filter for a plain column asked the table for its DISTINCT
    values on every view, a scan of every paper (85-190 ms at 74,728 on PostgreSQL)."""

    title = "source"
    parameter_name = "source"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(s, s) for s in ("snapshot", "oai", "rss", "api")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        return queryset.filter(source=self.value()) if self.value() else queryset


@admin.register(Paper)
class PaperAdmin(LargeTable):
    list_display = ["arxiv_id", "title", "primary_category", "announced", "status"]
    # The announced date as a filter of fixed periods: `date_hierarchy` listed the years of every
    # paper (a DISTINCT over the whole table, 35-60 ms at 74,728) on each view.
    list_filter = ["status", SourceFilter, ("announced", admin.DateFieldListFilter), "primary_category"]
    search_fields = ["=arxiv_id", "title", "authors_text"]  # as get_search_results goes about it
    search_help_text = (
        "An arXiv id, or words: the keyword index's best 100 papers, as the site's search finds them,"
        " and the withdrawn or deleted papers with the words in their title or authors."
    )
    readonly_fields = ["created_at", "modified_at", "content_hash"]
    raw_id_fields = ["primary_category"]
    inlines = [PaperLinkInline]

    def search(self, request: HttpRequest, queryset: QuerySet[Paper], term: str) -> QuerySet[Paper] | None:
        """An arXiv id (any form arXiv writes one) finds its paper by the unique index; words go to
        the keyword index, as the site's search does (its best SEARCHED hits). Django's search,
        `icontains` on title and authors, read all 74,728 papers' text three times (the count, the
        dates, the page): 1 s on PostgreSQL. The withdrawn and deleted papers have left the keyword
        index: they are searched by Django's search over those few rows alone (`Paper.objects.hidden`,
        a partial index), each of its words in the title or the authors as in any list's search box (the
        term taken as one string found no paper for two words of a title not side by side, or for a
        title word and an author). Only when the index is not built does Django's search answer, slowly."""
        # Here, not at the top: Django imports every admin module at setup, and every `paperfeed`
        # command would then load the search service (tests/core/test_apps.py).
        from paperfeed.search.services import MAX_LIMIT as SEARCHED
        from paperfeed.search.services import search

        named = queryset.named(term)  # type: ignore[attr-defined]  # a PaperQuerySet
        if named.exists():
            return named
        found = search(term, mode="keyword", limit=SEARCHED)
        if not found.indexed:
            return None
        hidden = self.words_search(request, Paper.objects.hidden(), term)
        ids = [h.paper_id for h in found.hits] + list(hidden.values_list("pk", flat=True)[:SEARCHED])
        return queryset.filter(pk__in=ids)

    def has_delete_permission(self, request: HttpRequest, obj: Paper | None = None) -> bool:
        # Papers are never hard-deleted (docs/harvest.md): deleting one took its votes, comments,
        # submissions and saves with it, and its change rows, so the search indexes kept it.
        # Withdrawn or deleted status hides it and keeps all of that.
        return False

    def save_model(self, request: HttpRequest, obj: Paper, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The search indexes and the "for you" window follow PaperChange, as after an import: a
        # paper set to withdrawn here stayed in search and recommendations, a corrected title too.
        PaperChange.objects.create(paper_id=obj.pk)
        papers_ingested.send(
            sender=type(self), counts={"created": 0 if change else 1, "updated": int(change)}
        )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "key"]
    search_fields = ["name", "key"]
    show_full_result_count = False


@admin.register(HarvestState)
class HarvestStateAdmin(admin.ModelAdmin):
    list_display = ["name", "updated_at"]
