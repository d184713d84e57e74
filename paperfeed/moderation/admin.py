"""Reports and the log in the admin, read-only: a change made here would bypass the log, so staff
act from /moderation (or `paperfeed moderate`), which records who did what. Both lists grow with the
site, so they are counted up to a cap (core.admin.LargeTable). Django joins the rows list_display
names itself (no query per row), as it does for the other admins."""

from __future__ import annotations

from django.contrib import admin

from paperfeed.core.admin import LargeTable, ReadOnly
from paperfeed.moderation.models import Action, Report


@admin.register(Report)
class ReportAdmin(LargeTable, ReadOnly):
    list_display = ("created_at", "status", "reason", "reporter", "submission", "comment")
    list_filter = ("status", "reason")


@admin.register(Action)
class ActionAdmin(LargeTable, ReadOnly):
    list_display = ("created_at", "by", "kind", "target", "reason", "reports")
    list_filter = ("kind",)
