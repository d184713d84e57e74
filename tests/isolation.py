"""What a test process holds between tests, dropped or checked around each one (the runtest hooks in
tests/conftest.py). The database is emptied by pytest-django and tests/dbreset.py; this is the rest:

- the recommendations' candidate window and per-user states (paperfeed.recs.index, .services): built
  from one test's papers, they served the next test's "for you" until the window's next look at the
  change log (CHECK_EVERY_S), or for good on SQLite, where a rolled-back test's change ids come round
  again and the window's watermark matches;
- the search engine (paperfeed.search.services): its keyword index is the one of the home it was
  first asked under;
- the failpoints' hit counts (paperfeed.core.failpoints);
- the project's environment variables (PAPERFEED_*, DATABASE_URL, EMAIL_URL, FAILPOINT, DJANGO_*):
  tests/settings.py points arXiv's addresses at a closed port by setting them, and a test that
  popped one sent later tests to the real arXiv. A test that changes one without putting it back
  fails, and the value is restored;
- the session's home (settings.HOME, tests/settings.py): what a test writes there outlives it. The
  search indexes' watermarks carry their change's mark (id, time, paper), so a later test's papers
  under the same ids are indexed again from the start rather than taken as read: a slow surprise all
  the same. A test that leaves them there fails, and they are removed. The recommendations' saved
  window is removed too, silently: every "for you" saves one there, and the store checks its change
  mark the same way, so a later test rebuilds it anyway."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Environment variables the project reads (paperfeed.conf and its siblings, the test settings).
OWN_PREFIXES = ("PAPERFEED_", "DJANGO_")
OWN_NAMES = frozenset({"DATABASE_URL", "EMAIL_URL", "FAILPOINT"})
# State under a home that a later test in the same process would take for its own: the indexes'
# watermarks (opening the vector index makes its empty folder, which is no state). Removed with the
# rest of their folders and the "for you" window (recs/store.py checks its change mark), so that
# each test starts alike.
HOME_STATE = ("search/keyword/state.json", "search/vectors/state.json")
HOME_TIDY = ("search", "recs")


def _own(name: str) -> bool:
    return name.startswith(OWN_PREFIXES) or name in OWN_NAMES


def env_snapshot() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if _own(k)}


def restore_env(before: dict[str, str]) -> list[str]:
    """Put the project's variables back as in `before`; the names that had changed, sorted."""
    now = env_snapshot()
    changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    for name in changed:
        if name in before:
            os.environ[name] = before[name]
        else:
            del os.environ[name]
    return changed


def drop_process_state() -> None:
    """Forget what the process caches across requests; each is rebuilt on first use."""
    from paperfeed.core import failpoints
    from paperfeed.recs import index
    from paperfeed.recs import services as recs
    from paperfeed.search import services as search

    index.reset()
    with recs._states_lock:
        recs._states.clear()
    search.use_engine(None)
    failpoints._hits.clear()


def home_state(home: Path) -> set[str]:
    return {name for name in HOME_STATE if (home / name).exists()}


def remove_home_state(home: Path, before: set[str]) -> list[str]:
    """The index states written under `home` since `before`, sorted; they and the rest of HOME_TIDY
    are removed when the home is the test process's own (tests/settings.py made it), not one that
    PAPERFEED_HOME names."""
    from django.conf import settings

    found = sorted(home_state(home) - before)
    if getattr(settings, "THROWAWAY_HOME", False):
        for name in HOME_TIDY:
            shutil.rmtree(home / name, ignore_errors=True)
    return found
