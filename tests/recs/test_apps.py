"""A new web worker's warm-up readies "for you", so its first visitor does not wait for the window."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model

from paperfeed.core import warmup
from paperfeed.recs import index, services
from tests.recs.conftest import site_model
from tests.recs.test_store import saved_windows


@pytest.fixture
def builds(monkeypatch):
    """Every window built from the database in this test (the real build, counted)."""
    made: list[index.Candidates] = []
    real = index.build

    def counted(*args, **kwargs):
        made.append(out := real(*args, **kwargs))
        return out

    monkeypatch.setattr(index, "build", counted)
    return made


def test_the_warm_up_builds_the_window_once_then_each_new_worker_maps_it(catalogue, home, builds, caplog):
    user = get_user_model().objects.create_user("reader", "reader@example.org", "a long enough password")
    coll = site_model("feed.Collection").objects.create(user=user, name="Reading", slug="reading")
    for p in catalogue["diffusion"][:3]:
        site_model("feed.CollectionItem").objects.create(collection=coll, paper=p)

    with caplog.at_level(logging.INFO):
        took = warmup.warm_up()
    assert took["recs"] is not None and took["urls"] is not None, caplog.text
    assert index.loaded() and len(builds) == 1  # no saved window yet: this worker built and saved it
    [saved] = saved_windows(home)

    index.reset()  # a new worker on the same home
    warmup.warm_up()
    assert index.loaded() and len(builds) == 1
    assert index.candidates().source == saved.name  # mapped, not built
    recs = services.recommend(user, limit=3)
    assert len(builds) == 1  # the first recommendation only scored
    assert {r.paper.arxiv_id for r in recs} == {p.arxiv_id for p in catalogue["diffusion"][3:]}
