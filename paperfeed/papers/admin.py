from django.contrib import admin

from paperfeed.papers.models import Author, Category, HarvestState, Paper, PaperLink


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
