from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from paperfeed.papers.models import Author, Category, HarvestState, Paper, PaperChange, PaperLink
from paperfeed.papers.signals import papers_ingested


class PaperLinkInline(admin.TabularInline):
    model = PaperLink
    extra = 0


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ["arxiv_id", "title", "primary_category", "announced", "status"]
    list_filter = ["status", "source", "primary_category"]
    search_fields = ["arxiv_id", "title", "authors_text"]
    date_hierarchy = "announced"
    readonly_fields = ["created_at", "modified_at", "content_hash"]
    raw_id_fields = ["primary_category"]
    inlines = [PaperLinkInline]
    show_full_result_count = False

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
