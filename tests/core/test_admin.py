"""The names the admin gives our models: Django adds an "s" to the verbose name, which makes
"deliverys" of a delivery; each model whose name that does not suit says its plural."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.test import Client

from paperfeed.accounts.models import User

# "-y" after a consonant, a sibilant ending, or a noun that has no plural, then Django's "s".
NAIVE = re.compile(r"([^aeiou]ys|(s|x|z|ch|sh)s|feedbacks)$")


def test_every_model_has_a_proper_plural() -> None:
    plurals = {
        m._meta.label: str(m._meta.verbose_name_plural)
        for m in apps.get_models()
        if m.__module__.startswith("paperfeed.")
    }
    assert plurals["digests.Delivery"] == "deliveries"
    assert plurals["feed.SavedSearch"] == "saved searches"
    assert plurals["papers.PaperCategory"] == "paper categories"
    assert plurals["recs.Feedback"] == "feedback"
    assert {label: p for label, p in plurals.items() if NAIVE.search(p)} == {}


@pytest.mark.django_db
def test_the_admin_index_says_deliveries() -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    page = client.get("/admin/").content.decode()
    assert ">Deliveries<" in page and "Deliverys" not in page
