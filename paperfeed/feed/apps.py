from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "paperfeed.feed"
    label = "feed"

    def ready(self) -> None:
        from paperfeed.feed.services import paper_feed_fields
        from paperfeed.papers.services import PAPER_EXTRAS

        if paper_feed_fields not in PAPER_EXTRAS:
            PAPER_EXTRAS.append(paper_feed_fields)
