from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "paperfeed.feed"
    label = "feed"
