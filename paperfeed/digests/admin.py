from django.contrib import admin

from paperfeed.digests.models import Bounce, Delivery, Digest, Subscriber


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "frequency", "send_hour", "suppressed_at", "created_at"]
    list_filter = ["status", "frequency", "source"]
    search_fields = ["email"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at", "token_version"]
    show_full_result_count = False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["period", "frequency", "status", "held_for_complaints", "pause_reason", "completed_at"]
    list_filter = ["frequency", "status"]
    readonly_fields = ["uid", "created_at", "completed_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    # The outbox is written by the sender only: read it here, never edit it.
    list_display = ["digest", "subscriber", "status", "attempts", "last_error", "sent_at"]
    list_filter = ["status", "digest"]
    search_fields = ["subscriber__email", "message_id"]
    raw_id_fields = ["digest", "subscriber"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Bounce)
class BounceAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "kind", "status", "day", "detail"]
    list_filter = ["kind"]
    search_fields = ["subscriber__email"]
    raw_id_fields = ["subscriber", "delivery"]
