"""A child process for tests/core/test_copydb.py, run in the environment of one site (PAPERFEED_HOME,
DATABASE_URL): `python -m tests.core.copydb_site migrate URL|populate|dump|check [JSON]`, printing one
JSON document. `migrate URL` migrates the database at URL as copydb migrates its target and prints the
statements that ran on the site's own database meanwhile; `populate` gives every model rows (with the
awkward values: a JSON null beside an SQL NULL, microseconds, binaries, a UUID key, a deleted last
row); `dump` prints every row of every copied table; `check` uses the site the way its users and the
site itself would."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
import django

django.setup()

from django.contrib.admin.models import CHANGE, LogEntry  # noqa: E402
from django.contrib.auth.models import Group, Permission  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import models  # noqa: E402
from django.db.models.functions import Cast  # noqa: E402
from django.test import Client  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from paperfeed.accounts.models import ApiToken, Follow, User  # noqa: E402
from paperfeed.accounts.services import create_api_token, user_for_token  # noqa: E402
from paperfeed.core.dbcopy import copied_models  # noqa: E402
from paperfeed.core.models import Lease, RateCounter, ScheduledRun  # noqa: E402
from paperfeed.digests.models import (  # noqa: E402
    Bounce,
    Delivery,
    Digest,
    MailtoUnsubscribe,
    SendSlot,
    Subscriber,
)
from paperfeed.feed.models import Collection, CollectionItem, Comment, SavedSearch, Submission, Vote  # noqa: E402
from paperfeed.moderation import services as moderation  # noqa: E402
from paperfeed.moderation.models import Report  # noqa: E402
from paperfeed.papers.models import (  # noqa: E402
    AuthorAlias,
    Category,
    HarvestState,
    Paper,
    PaperChange,
    PaperLink,
)
from paperfeed.recs.models import Feedback, FeedToken, Profile, ProfileChange  # noqa: E402
from paperfeed.search.models import Embedding  # noqa: E402
from paperfeed.search.tasks import index_papers  # noqa: E402
from tests.sitedata import PASSWORD, load_papers, make_user  # noqa: E402

HOST = {"HTTP_HOST": "127.0.0.1"}
WHEN = dt.datetime(2026, 3, 2, 7, 30, 15, 123456, tzinfo=dt.UTC)


def populate() -> dict[str, Any]:
    import numpy as np

    papers = load_papers(6)
    alice = make_user("alice", password=PASSWORD)
    bob = make_user("bob", password=PASSWORD, staff=True)
    moderators = Group.objects.create(name="moderators")
    moderators.permissions.add(Permission.objects.get(codename="change_comment"))
    alice.groups.add(moderators)
    bob.user_permissions.add(Permission.objects.get(codename="view_paper"))
    for kind, value in (
        ("category", "cs.CL"),
        ("author", papers[0].authors[0]["key"]),
        ("keyword", "décodage"),
    ):
        Follow.objects.create(user=alice, kind=kind, value=value)
    token = create_api_token(alice, "laptop").secret
    Lease.objects.create(name="digest", holder="old-host:12:34", expires_at=1234.5)
    RateCounter.objects.create(bucket="login:ip:192.0.2.1", window_start=1_700_000_000, hits=3)
    ScheduledRun.objects.create(job="index", slot=1_700_000_040, task_id="t-1")
    sub = Subscriber.objects.create(
        email="alice@example.org",
        user=alice,
        status=Subscriber.Status.CONFIRMED,
        frequency="weekly",
        send_hour=9,
        trending=False,
        send_empty=True,
        categories=["cs.CL", "cs.LG"],
        searches=["ti:ünïcode «quotes»"],
        confirmed_at=WHEN,
        source="web",
    )
    digest = Digest.objects.create(
        frequency="weekly", period=dt.date(2026, 3, 2), status="complete", completed_at=WHEN
    )
    delivery = Delivery.objects.create(
        digest=digest,
        subscriber=sub,
        status="sent",
        message_id="<d1@papers.example.org>",
        papers=[[papers[0].pk, "trending"]],
        attempts=1,
        due_at=0.25,
        sent_at=WHEN,
    )
    Bounce.objects.create(
        key="b1", subscriber=sub, delivery=delivery, kind="soft", day=WHEN.date(), status="4.2.2"
    )
    MailtoUnsubscribe.objects.create(key="m1", subscriber=sub)
    SendSlot.objects.create(at=1_700_000_000.125)
    LogEntry.objects.create(
        user=bob,
        content_type=ContentType.objects.get_for_model(Paper),
        object_id=str(papers[0].pk),
        object_repr=str(papers[0])[:200],
        action_flag=CHANGE,
        change_message="[]",
    )
    # A log-in: a session row, whose cookie must still work on the copy.
    client = Client(**HOST)
    assert client.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 302
    session = client.cookies["sessionid"].value
    # A queued job, and a finished one whose return value is JSON null (not SQL NULL).
    index_papers.enqueue()
    done = index_papers.enqueue()
    DBTaskResult.objects.filter(pk=done.id).update(
        status="SUCCESSFUL", return_value=models.Value(None, models.JSONField()), finished_at=WHEN
    )
    collection = Collection.objects.create(user=alice, name="Thesis", slug="thesis", public=False)
    CollectionItem.objects.create(collection=collection, paper=papers[1])
    Comment.objects.create(
        paper=papers[0], author=bob, body="$x^2$ **bold** ✓", html="<p>x</p>", hidden=True, hidden_by=alice
    )
    SavedSearch.objects.create(user=alice, query="speculative decoding", category="cs.CL")
    # A key an author had before the key rule changed (papers 0006): its address still leads there.
    AuthorAlias.objects.create(key="matthias-niener", author=papers[0].authorships.first().author)  # type: ignore[union-attr]
    for p in papers[:3]:
        Submission.objects.create(paper=p, day=p.announced or WHEN.date(), submitted_by=alice)
    # Moderation: a report, and a removal in the log (the submission stays removed on the copy).
    reported = Submission.objects.get(paper=papers[2])
    Report.objects.create(reporter=alice, submission=reported, reason="spam", text="an ad ✓")
    moderation.remove_submission(bob, reported, "advertising")
    for p in papers[:3]:
        Vote.objects.create(user=alice, paper=p, created_at=WHEN)
    Vote.objects.create(user=bob, paper=papers[0])
    # The last vote and the last paper change deleted: their ids must not be given out again.
    deleted_vote = Vote.objects.create(user=bob, paper=papers[1]).pk
    Vote.objects.filter(pk=deleted_vote).delete()
    deleted_change = PaperChange.objects.create(paper=papers[2]).pk
    PaperChange.objects.filter(pk=deleted_change).delete()
    Feedback.objects.create(user=alice, paper=papers[4], kind="not_interested")
    FeedToken.objects.of(alice)
    Profile.objects.update_or_create(  # votes made one already
        user=alice,
        defaults={
            "features": "tfidf-v1",
            "positive": Profile.pack(np.array([0, 1.5, 0, -2.0])),
            "as_of": WHEN,
        },
    )
    ProfileChange.objects.create(  # a vote logged since
        user=alice, sign=1, at=WHEN, row=Profile.pack(np.array([0, 0, 0.25])), fingerprint="s2:1:0:0:0"
    )
    Embedding.objects.create(
        paper=papers[0], model="minilm", text_hash="abc", vector=Embedding.pack(np.linspace(-1, 1, 384))
    )
    if not PaperLink.objects.exists():
        PaperLink.objects.create(
            paper=papers[0], kind="github", url="https://github.com/o/r", source="abstract"
        )
    # A class code as imports before papers 0002 stored them: migrating the copy's target (0002 drops
    # such rows) must not touch the site's own database.
    Category.objects.create(code="68T05,")
    HarvestState.objects.get_or_create(name="test-state", defaults={"state": {"token": None, "n": 1}})
    empty = [m._meta.db_table for m in copied_models() if not m._base_manager.exists()]
    return {
        "empty": empty,
        "session": session,
        "token": token,
        "deleted_vote": deleted_vote,
        "deleted_change": deleted_change,
        "alice_votes": sorted(Vote.objects.filter(user=alice).values_list("paper__arxiv_id", flat=True)),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return "bytes:" + bytes(value).hex()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def migrate_elsewhere(url: str) -> list[str]:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from paperfeed.core.dbcopy import connect_target
    from paperfeed.core.schema import migrate

    alias = connect_target(url)
    with CaptureQueriesContext(connections["default"]) as ran:
        migrate(alias)
    return [q["sql"] for q in ran.captured_queries]


def dump() -> dict[str, list[list[Any]]]:
    """Every row of every copied table, as Python values (JSON parsed, SQL NULL kept apart)."""
    out = {}
    for model in copied_models():
        fields = list(model._meta.local_concrete_fields)
        columns = [
            Cast(f.attname, models.TextField()) if isinstance(f, models.JSONField) else f.attname
            for f in fields
        ]
        rows = []
        for row in model._base_manager.order_by("pk").values_list(*columns):
            rows.append(
                [
                    ("json", json.loads(v))
                    if isinstance(f, models.JSONField) and v is not None
                    else _plain(v)
                    for f, v in zip(fields, row, strict=True)
                ]
            )
        out[model._meta.db_table] = rows
    return out


def check(site: dict[str, Any]) -> dict[str, Any]:
    alice = User.objects.get(username="alice")
    client = Client(**HOST)
    logged_in = client.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 302
    kept = Client(**HOST)
    kept.cookies["sessionid"] = site["session"]
    sub = Subscriber.objects.get(user=alice)
    before = {
        "vote": Vote.objects.order_by("-pk").values_list("pk", flat=True).first(),
        "paper": Paper.objects.order_by("-pk").values_list("pk", flat=True).first(),
        "user": User.objects.order_by("-pk").values_list("pk", flat=True).first(),
    }
    # New rows, the way the site makes them.
    bob = User.objects.get(username="bob")
    unvoted = Paper.objects.exclude(votes__user=bob).order_by("pk").first()
    assert unvoted is not None
    vote = Vote.objects.create(user=bob, paper=unvoted)
    paper = Paper.objects.create(arxiv_id="2612.99999", title="A paper after the move")
    change = PaperChange.objects.create(paper=paper)
    carol = make_user("carol", password=PASSWORD)
    return {
        "login": logged_in,
        "settings_page": client.get("/settings").status_code,
        "old_session_page": kept.get("/settings").status_code,
        "token_user": getattr(user_for_token(site["token"]), "username", None),
        "tokens": ApiToken.objects.filter(user=alice).count(),
        "alice_votes": sorted(Vote.objects.filter(user=alice).values_list("paper__arxiv_id", flat=True)),
        "follows": sorted(Follow.objects.of(alice).values_list("kind", flat=True)),
        "digest": [sub.frequency, sub.send_hour, sub.trending, sub.send_empty, sub.categories, sub.status],
        "before": before,
        "new": {"vote": vote.pk, "paper": paper.pk, "user": carol.pk, "change": change.pk},
    }


if __name__ == "__main__":
    action = sys.argv[1]
    if action == "populate":
        result: Any = populate()
    elif action == "migrate":
        result = migrate_elsewhere(sys.argv[2])
    elif action == "dump":
        result = dump()
    else:
        result = check(json.loads(sys.argv[2]))
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
