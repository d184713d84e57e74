from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "paperfeed.feed"
    label = "feed"

    def ready(self) -> None:
        from paperfeed.feed.services import paper_feed_fields
        from paperfeed.papers.services import PAPER_EXTRAS

        if paper_feed_fields not in PAPER_EXTRAS:
            PAPER_EXTRAS.append(paper_feed_fields)
        # Search sorts by votes through a hook it exposes; it never imports the feed.
        from paperfeed.search import services as search

        if hasattr(search, "register_sort"):
            from paperfeed.feed.services import votes_by_pk

            search.register_sort("votes", votes_by_pk)

        # Deleting an account deletes its votes and comments: cached pages must not show them.
        from django.conf import settings
        from django.db.models.signals import post_delete

        post_delete.connect(_account_deleted, sender=settings.AUTH_USER_MODEL)


def _account_deleted(sender: object, **kwargs: object) -> None:
    from django.db import transaction

    from paperfeed.feed.services import bump_listing_version

    transaction.on_commit(bump_listing_version)
