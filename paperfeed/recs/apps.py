from django.apps import AppConfig


class RecsConfig(AppConfig):
    name = "paperfeed.recs"
    label = "recs"
