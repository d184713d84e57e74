from typing import Any

from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "paperfeed.feed"
    label = "feed"

    def ready(self) -> None:
        # The hooks are the wrappers below: the feed's services (markdown, the papers' and search
        # services) load when first called, not in every process at start-up.
        from paperfeed.papers.signals import PAPER_EXTRAS

        if _paper_feed_fields not in PAPER_EXTRAS:
            PAPER_EXTRAS.append(_paper_feed_fields)
        # Search sorts by votes through a hook it exposes; it never imports the feed.
        from paperfeed.search.sorts import register_sort

        register_sort("votes", _votes_by_pk)

        # Deleting an account deletes its votes and comments: cached pages must not show them.
        from django.conf import settings
        from django.db.models.signals import post_delete

        post_delete.connect(_pages_changed, sender=settings.AUTH_USER_MODEL)
        # A day nobody submitted to lists the newest papers stored (services.new_on_arxiv): an
        # import or harvest changes it, so cached pages must not outlive one.
        from paperfeed.papers.signals import papers_ingested

        papers_ingested.connect(_pages_changed, dispatch_uid="feed.pages_after_ingest")
        # A new password is a new address for each saved search's feed (accounts.signals).
        from paperfeed.accounts.signals import password_changed

        password_changed.connect(_new_search_feed_addresses, dispatch_uid="feed.searches_after_password")


def _paper_feed_fields(paper: Any) -> dict[str, Any]:
    from paperfeed.feed.services import paper_feed_fields

    return paper_feed_fields(paper)


def _votes_by_pk(paper_ids: list[int]) -> dict[int, float]:
    from paperfeed.feed.services import votes_by_pk

    return votes_by_pk(paper_ids)


def _pages_changed(sender: object, **kwargs: object) -> None:
    from django.db import transaction

    from paperfeed.feed.services import bump_listing_version

    transaction.on_commit(bump_listing_version)


def _new_search_feed_addresses(sender: object, user: Any, **kwargs: object) -> Any:
    from django.urls import reverse

    from paperfeed.accounts.signals import Replaced
    from paperfeed.feed.models import SavedSearch

    mine = list(SavedSearch.objects.filter(user=user))
    for saved in mine:
        saved.reset_token()
    if not mine:
        return None
    what = (
        "the feed of your saved search" if len(mine) == 1 else f"the feeds of your {len(mine)} saved searches"
    )
    return Replaced(what, reverse("settings") + "#saved-searches")
