"""Admin: the Django admin's lists at a field's scale on PostgreSQL — the 74,728 real papers with their
keyword index (every 250th withdrawn, as a withdrawal leaves it), 20,000 accounts, ~1M votes (70% on
the latest 30,000 papers) and 50,000 comments; each page loaded by a superuser's in-process client,
its time and its SQL's time (p50 of the loads after the first). With `--home` the built home and its
database are kept and a later run only measures (bench/README.md, "admin")."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from paperfeed.bench.common import SNAPSHOT, kept_env, kept_meta, kept_update, paperfeed, shell_json

# Synthetic rows by SQL (seconds, not the minutes the ORM would take for a million votes); the
# withdrawn papers get their change rows, so `paperfeed index` takes them out of the keyword index.
BUILD = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
django.setup()
from django.db import connection
from paperfeed.accounts.models import User
from paperfeed.papers.models import Paper, PaperChange
User.objects.bulk_create(
    User(username=f"user{i}", email=f"user{i}@example.org", password="!", first_name=f"First{i}",
         email_verified=True)
    for i in range(USERS)
)
withdrawn = list(Paper.objects.order_by("pk").values_list("pk", flat=True)[::250])
Paper.objects.filter(pk__in=withdrawn).update(status=Paper.Status.WITHDRAWN)
PaperChange.objects.bulk_create(PaperChange(paper_id=p) for p in withdrawn)
with connection.cursor() as c:
    c.execute("SELECT min(id), max(id) FROM accounts_user")
    u0, u1 = c.fetchone()
    c.execute("SELECT min(id), max(id) FROM papers_paper")
    p0, p1 = c.fetchone()
    c.execute("SELECT setseed(0.25)")
    c.execute(
        "INSERT INTO feed_vote (user_id, paper_id, created_at, uncounted, voter_joined)"
        " SELECT DISTINCT ON (u, p) u, p, now() - (n || ' seconds')::interval, false,"
        " now() - interval '90 days'"
        " FROM (SELECT n, %s + floor(random() * (%s - %s + 1))::int AS u,"
        "  CASE WHEN random() < 0.7 THEN greatest(%s, %s - floor(random() * 30000)::int)"
        "  ELSE %s + floor(random() * (%s - %s + 1))::int END AS p"
        "  FROM generate_series(1, %s) n) r"
        " ORDER BY u, p, n",
        [u0, u1, u0, p0, p1, p0, p1, p0, VOTES],
    )
    c.execute(
        "INSERT INTO feed_comment (paper_id, author_id, body, html, created_at, hidden)"
        " SELECT %s + floor(random() * (%s - %s + 1))::int, %s + floor(random() * (%s - %s + 1))::int,"
        " 'Seen ' || n, '<p>Seen ' || n || '</p>', now() - (n || ' seconds')::interval, false"
        " FROM generate_series(1, %s) n",
        [p0, p1, p0, u0, u1, u0, COMMENTS],
    )
    c.execute("SELECT count(*) FROM feed_vote")
    votes = c.fetchone()[0]
connection.close()
with connection.cursor() as c:
    c.execute("VACUUM ANALYZE")
print(json.dumps({"users": USERS, "votes": votes, "comments": COMMENTS, "withdrawn": len(withdrawn)}))
"""

# Each page: REPEAT loads, the first dropped (it warms the process's caches), p50 of the rest.
MEASURE = """
import json, os, statistics, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment
setup_test_environment()  # the client keeps each response's context (its list), as in the tests
from paperfeed.accounts.models import User
from paperfeed.feed.models import Comment, Vote
from paperfeed.papers.models import Paper
root = User.objects.filter(username="benchroot").first() or User.objects.create_superuser(
    "benchroot", "benchroot@example.org", "x" * 20)
client = Client()
client.force_login(root)
def nth(qs, n):
    return qs.values_list("pk", flat=True)[n]
def column(path, name):
    # The `o` a click on the column's header makes: its place in the list's columns.
    return str(client.get(path).context["cl"].list_display.index(name))
# A withdrawn paper by two words of its title not side by side, and by a title word and an author's
# surname: each word is looked up by itself (out of the keyword index, by Django's search of the
# withdrawn papers); `listed` says whether the list has that paper.
withdrawn = Paper.objects.hidden().order_by("pk").first()
title = withdrawn.title.split()
surname = withdrawn.authors_text.split(",")[0].split()[-1]
by_user = column("/admin/feed/vote/", "user")
by_created = column("/admin/feed/vote/", "created_at")
user_after = User.objects.order_by("username").values_list("pk", flat=True)[10_000]
pages = {
    "/healthz": "/healthz",
    "votes": "/admin/feed/vote/",
    "votes ?p=2": "/admin/feed/vote/?p=2",
    "votes ?p=50": "/admin/feed/vote/?p=50",
    "votes ?p=100": "/admin/feed/vote/?p=100",
    "votes ?after= the 100,001st": f"/admin/feed/vote/?after={nth(Vote.objects.order_by('-pk'), 100_000)}",
    "votes by user ?p=100": f"/admin/feed/vote/?o={by_user}&p=100",
    "votes by user ?after= the 100,001st": (
        f"/admin/feed/vote/?o={by_user}&after={nth(Vote.objects.order_by('user_id', '-pk'), 100_000)}"
    ),
    "votes by date ?after= the 100,001st": (
        f"/admin/feed/vote/?o={by_created}&after={nth(Vote.objects.order_by('created_at', '-pk'), 100_000)}"
    ),
    "votes by date, newest first, ?after= the 100,001st": (
        f"/admin/feed/vote/?o=-{by_created}&after={nth(Vote.objects.order_by('-created_at', '-pk'), 100_000)}"
    ),
    "comments ?p=100": "/admin/feed/comment/?p=100",
    "papers ?p=100": "/admin/papers/paper/?p=100",
    "users ?p=100": "/admin/accounts/user/?p=100",
    "users ?after= the 10,001st": f"/admin/accounts/user/?after={user_after}",
    "papers ?q= a withdrawn title's last and first words": f"/admin/papers/paper/?q={title[-1]} {title[0]}",
    "papers ?q= a withdrawn paper's author and title word": f"/admin/papers/paper/?q={surname} {title[0]}",
    "papers ?q=diffusion": "/admin/papers/paper/?q=diffusion",
}
out = {}
for name, url in pages.items():
    total, sql, rows, status, listed = [], [], None, None, None
    for i in range(REPEAT):
        with CaptureQueriesContext(connection) as q:
            t = time.perf_counter()
            r = client.get(url)
            total.append((time.perf_counter() - t) * 1000)
        sql.append(sum(float(x["time"]) for x in q.captured_queries) * 1000)
        status = r.status_code
        if r.context and "cl" in r.context:
            rows = len(r.context["cl"].result_list)
            if "withdrawn" in name:
                listed = r.context["cl"].queryset.filter(pk=withdrawn.pk).exists()  # on any page
    out[name] = {
        "url": url,
        "status": status,
        "rows": rows,
        **({} if listed is None else {"listed": listed}),
        "p50_ms": round(statistics.median(total[1:]), 1),
        "sql_p50_ms": round(statistics.median(sql[1:]), 1),
    }
print(json.dumps(out))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home", type=Path, help="build into this home and keep it; a later run only measures"
    )
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument(
        "--votes", type=int, default=1_100_000, help="drawn; repeats of a (user, paper) dropped"
    )
    parser.add_argument("--comments", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=6, help="loads of each page (the first is dropped)")


def run(options: dict[str, Any]) -> dict[str, Any]:
    with kept_env("postgres", options.get("home")) as env:
        built = kept_meta(env).get("admin")
        if built is None:
            for args in (["init"], ["import", str(SNAPSHOT)], ["index", "--keyword-only"]):
                paperfeed(args, env)
            script = BUILD
            for name in ("users", "votes", "comments"):
                script = script.replace(name.upper(), str(int(options[name])))
            built = shell_json(script, env)
            paperfeed(["index", "--keyword-only"], env)  # the withdrawn papers leave it
            kept_update(env, admin=built)
        repeat = max(2, int(options["repeat"]))
        pages = shell_json(MEASURE.replace("REPEAT", str(repeat)), env)
        return {"built": built, "repeat": repeat, "pages": pages}
