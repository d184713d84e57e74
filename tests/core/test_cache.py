"""The database cache (the default without Redis) holds a site's worth of pages: at Django's default
of 300 entries, every write past it culled a third of the table, rate-limit counters included."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rate_limit_counter_outlives_a_thousand_cached_pages() -> None:
    if "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the database cache is the one with a size limit here")
    cache.clear()
    cache.set("rl:login:1", 5, timeout=600)
    cache.set_many({f"page:paper:{n}": "<html>…</html>" for n in range(1000)}, timeout=600)
    for n in range(1000, 1010):  # single writes: each one counts the table and may cull it
        cache.set(f"page:paper:{n}", "<html>…</html>", timeout=600)
    assert cache.get("rl:login:1") == 5
    assert cache.get("page:paper:0") is not None
    cache.clear()
