from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "paperfeed.core"
    label = "core"
    verbose_name = "paperfeed core"

    def ready(self) -> None:
        from paperfeed.core import checks, schedule  # noqa: F401  (checks: registers them)

        schedule.register("core.housekeeping", "paperfeed.core.tasks.housekeeping", every=3600)
