from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "paperfeed.digests"
    label = "digests"

    def ready(self) -> None:
        from paperfeed.core import schedule

        # Hourly: subscribers pick their send hour; a run sends whatever is due and not too late.
        schedule.register("digests.send", "paperfeed.digests.tasks.send_due_digests", every=3600)
