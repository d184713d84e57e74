from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "paperfeed.digests"
    label = "digests"

    def ready(self) -> None:
        from paperfeed.core import schedule

        # Hourly: subscribers pick their send hour; a run sends whatever is due and not too late.
        schedule.register("digests.send", "paperfeed.digests.tasks.send_due_digests", every=3600)

        # A deleted account's address gets no more digests: its subscription would outlive it
        # (Subscriber.user is SET_NULL, so that deliveries keep their history).
        from django.conf import settings
        from django.db.models.signals import pre_delete

        pre_delete.connect(_unsubscribe_deleted_account, sender=settings.AUTH_USER_MODEL)


def _unsubscribe_deleted_account(sender: object, instance: object, **kwargs: object) -> None:
    from paperfeed.digests import services
    from paperfeed.digests.models import Subscriber

    pk = getattr(instance, "pk", None)
    if pk is None:
        return
    for sub in Subscriber.objects.filter(user_id=pk):
        services.unsubscribe(sub)
