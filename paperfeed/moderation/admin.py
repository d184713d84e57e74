"""Reports and the log in the admin, read-only: a change made here would bypass the log, so staff
act from /moderation (or `paperfeed moderate`), which records who did what."""

from __future__ import annotations

from django.contrib import admin

from paperfeed.core.admin import ReadOnly
from paperfeed.moderation.models import Action, Report


@admin.register(Report)
class ReportAdmin(ReadOnly):
    list_display = ("created_at", "status", "reason", "reporter", "submission", "comment")
    list_filter = ("status", "reason")


@admin.register(Action)
class ActionAdmin(ReadOnly):
    list_display = ("created_at", "by", "kind", "target", "reason", "reports")
    list_filter = ("kind",)
