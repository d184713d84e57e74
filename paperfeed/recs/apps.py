import contextlib
from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_delete, post_save


class RecsConfig(AppConfig):
    name = "paperfeed.recs"
    label = "recs"

    def ready(self) -> None:
        from paperfeed.papers.signals import papers_ingested
        from paperfeed.recs.tasks import on_papers_ingested

        # Beside the search index's job: the saved "for you" window follows the same imports.
        papers_ingested.connect(on_papers_ingested, dispatch_uid="recs.window_after_ingest")
        from paperfeed.accounts.signals import password_changed

        password_changed.connect(_new_feed_address, dispatch_uid="recs.feed_after_password_change")
        self._connect_hooks()

    def warm_up(self) -> None:
        """Map the saved "for you" window, or, when there is none fit to use, wait for it to be
        built and saved (in a web worker by a child process the first worker starts, never in this
        one: index.py), and catch up on the papers changed since; a new worker's first "for you"
        then only scores. Without it, that request waited for the window and the imports (~10 s on
        a loaded machine at 5,000 papers; at a million, a build past the request timeout)."""
        from django.template.loader import get_template

        from paperfeed.recs import index, model

        index.wait_until_ready()
        model.counts(["warm up"])  # the stop words, read once per process
        get_template("recs/for_you.html")  # compiled once per process, kept by the cached loader

    def mount_api(self, api: Any, auth: Any, with_errors: Any) -> None:
        """/api/recommendations on the site's API: called by the API's URL configuration, so a
        command-line run that never routes a request does not build the API at start-up."""
        from paperfeed.recs.api import router

        api.add_router("/", router(auth, with_errors))

    def _connect_hooks(self) -> None:
        # The profile follows the user's votes, saves and "not interested" marks as they happen.
        from paperfeed.recs.models import NOT_INTERESTED, Feedback

        hooks: list[tuple[Any, str, str, str, str]] = [
            (Feedback, "user_id", "paper_id", "at", NOT_INTERESTED),
        ]
        for label, user, at, how in (
            ("feed.Vote", "user_id", "created_at", "upvoted"),
            ("feed.CollectionItem", None, "added_at", "saved"),
        ):
            with contextlib.suppress(LookupError):  # the site's models are not installed in this build
                hooks.append((apps.get_model(label), user or "collection__user_id", "paper_id", at, how))
        for model, user_field, paper_field, at_field, how in hooks:
            for signal, sign in ((post_save, 1), (post_delete, -1)):
                signal.connect(
                    _hook(user_field, paper_field, at_field, how, sign),
                    sender=model,
                    weak=False,
                    dispatch_uid=f"recs-{model._meta.label}-{sign}",
                )


def _hook(user_field: str, paper_field: str, at_field: str, how: str, sign: int) -> Any:
    def receiver(sender: Any, instance: Any, created: bool = True, **kwargs: Any) -> None:
        from paperfeed.recs.models import Feedback
        from paperfeed.recs.services import on_signal

        if sign > 0 and not created:
            return
        if isinstance(instance, Feedback) and instance.kind != Feedback.Kind.NOT_INTERESTED:
            return
        if user_field == "collection__user_id":
            user_id = instance.collection.user_id
        else:
            user_id = getattr(instance, user_field)
        on_signal(
            user_id,
            getattr(instance, paper_field),
            how=how,
            at=getattr(instance, at_field),
            sign=sign,
        )

    return receiver


def _new_feed_address(sender: Any, user: Any, **kwargs: Any) -> Any:
    # A new password is a new "for you" feed address: the old one may be known to whoever had it.
    from django.urls import reverse

    from paperfeed.accounts.signals import Replaced
    from paperfeed.recs.models import FeedToken

    if not FeedToken.objects.rotate_if_any(user):
        return None
    return Replaced("your “for you” feed", reverse("for-you"))
