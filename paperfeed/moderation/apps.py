from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "paperfeed.moderation"
    label = "moderation"
