"""Settings for the test run: a throw-away PAPERFEED_HOME, then the real settings."""

import os

from tests import homes

# A home of this process's own, unless PAPERFEED_HOME names one. An xdist worker inherits the
# controller's environment: PAPERFEED_TESTS_HOME says that its PAPERFEED_HOME is a test settings'
# throw-away, not the user's, and the worker makes its own (both workers shared one, and the indexes
# one wrote there were the other's). THROWAWAY_HOME: tests/isolation.py may remove what a test left.
# The process removes its home when it ends, and the next run a crashed one's (tests/homes.py).
THROWAWAY_HOME = os.environ.get("PAPERFEED_HOME", "") in ("", os.environ.get("PAPERFEED_TESTS_HOME"))
if THROWAWAY_HOME:
    os.environ["PAPERFEED_HOME"] = os.environ["PAPERFEED_TESTS_HOME"] = str(homes.make())
os.environ.setdefault("PAPERFEED_SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("PAPERFEED_BASE_URL", "https://papers.example.org")
# Tests never talk to the real arXiv: its endpoints point at a closed loopback port (a look-up fails
# at once, after one attempt). Harvester tests point them at the fake arXiv (tests/fakes/arxiv.py).
for _name, _path in (("OAI_ENDPOINT", "oai"), ("ARXIV_API", "api/query"), ("ANNOUNCE_FEED", "rss/atom/")):
    os.environ.setdefault(f"PAPERFEED_{_name}", f"http://127.0.0.1:9/{_path}")
os.environ.setdefault("PAPERFEED_HTTP_RETRIES", "1")
# A hybrid search answers keyword-only when the query's embedding takes longer than the semantic
# budget (500 ms): a speed requirement a loaded test machine cannot keep, which would change what any
# search test finds. Tests of the budget set their own; this one reaches `paperfeed` children too.
os.environ.setdefault("PAPERFEED_SEARCH_SEMANTIC_BUDGET_MS", "600000")

from paperfeed.settings import *  # noqa: F403, E402
from paperfeed.settings import DATABASES, IS_POSTGRES, STATIC_ROOT  # noqa: E402

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one

# Plain storage: the manifest needs collectstatic, which tests do not run.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise looks files up when asked, not by walking STATIC_ROOT when a handler is built: that root
# is shared with the `paperfeed` children (PAPERFEED_STATIC_ROOT), and a walk while one of them
# collected into it met files deleted under it (FileNotFoundError in the first test of a CI run).
# Each test Client's handler walked it too; this process serves the sources through the finders.
WHITENOISE_AUTOREFRESH = True
if IS_POSTGRES:
    # Several test runs may share the server (e.g. two checkouts): each gets its own database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_paperfeed_{os.getpid()}"}
    # Live-server threads serve keep-alive clients: with persistent connections one of them could
    # still hold a session when the test database is dropped.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
