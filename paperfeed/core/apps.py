from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "paperfeed.core"
    label = "core"
    verbose_name = "paperfeed core"
