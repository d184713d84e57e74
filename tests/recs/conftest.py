"""A small catalogue of four clear topics, and helpers to act as a user would on the site."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.apps import apps

from paperfeed.papers.models import Category, Paper, PaperCategory, PaperChange
from paperfeed.recs import index

TOPICS = {
    "diffusion": (
        "cs.CV",
        [
            "Latent diffusion models for image synthesis",
            "Denoising diffusion samplers with fewer steps for image generation",
            "Video diffusion models with temporal denoising attention",
            "Guidance schedules for latent diffusion image generation",
            "Distilling diffusion samplers into one-step image generators",
            "Consistency training of diffusion image generators",
        ],
        "We study denoising diffusion generative models, sampler steps, latent guidance"
        " and image synthesis quality.",
    ),
    "graphs": (
        "cs.LG",
        [
            "Message passing graph neural networks for molecules",
            "Equivariant graph networks predict molecular energies",
            "Graph transformers for molecular property prediction",
            "Oversmoothing in deep message passing graph networks",
            "Pretraining graph neural networks on molecular conformers",
            "Graph neural network potentials for molecular dynamics",
        ],
        "Graph neural networks pass messages between atoms to predict molecular properties and energies.",
    ),
    "speech": (
        "cs.CL",
        [
            "Streaming speech recognition with transducers",
            "Self-supervised speech representations for low-resource recognition",
            "Multilingual speech recognition with a shared acoustic encoder",
            "Spoken language understanding from raw speech audio",
            "Speech translation with streaming acoustic encoders",
            "Robust speech recognition in noisy acoustic conditions",
        ],
        "Automatic speech recognition of spoken audio with acoustic encoders, transducers"
        " and multilingual data.",
    ),
    "robots": (
        "cs.RO",
        [
            "Reinforcement learning for robot grasping in clutter",
            "Sim-to-real transfer of robot manipulation policies",
            "Dexterous robot hands learn in-hand manipulation",
            "Robot navigation policies from reinforcement learning",
            "Language-conditioned robot manipulation from demonstrations",
            "Legged robot locomotion learned in simulation",
        ],
        "Robot manipulation and grasping policies trained with reinforcement learning"
        " in simulation and real robots.",
    ),
}


def site_model(label: str) -> Any:
    try:
        return apps.get_model(label)
    except LookupError:
        pytest.skip(f"{label} (the site's models) is not installed in this build")


@pytest.fixture
def catalogue(db: None) -> dict[str, list[Paper]]:
    """24 papers, six per topic, announced over the 24 days before 2026-06-30."""
    index.reset()
    out: dict[str, list[Paper]] = {}
    n = 0
    for topic, (cat, titles, abstract) in TOPICS.items():
        Category.objects.get_or_create(code=cat)
        out[topic] = []
        for i, title in enumerate(titles):
            n += 1
            p = Paper.objects.create(
                arxiv_id=f"2606.{n:05d}",
                title=title,
                abstract=f"{abstract} Paper {i} of {topic}.",
                authors=[{"name": f"Ada {topic.title()}{i}", "key": f"ada-{topic}{i}"}],
                primary_category_id=cat,
                announced=dt.date(2026, 6, 30) - dt.timedelta(days=n),
            )
            PaperCategory.objects.create(paper=p, category_id=cat, position=0)
            PaperChange.objects.create(paper=p)
            out[topic].append(p)
    yield out
    index.reset()


@pytest.fixture
def home(settings, tmp_path):  # type: ignore[no-untyped-def]
    """A home of this test's own: the session's is shared by every test, each with its own database."""
    settings.HOME = tmp_path / "home"
    settings.HOME.mkdir()
    index.reset()
    yield settings.HOME
    index.reset()


# For a `paperfeed shell -c` in a separate process: the topics' papers and a reader "cli" following a
# keyword (bound to `u`), for the tests that run real commands and servers on a home.
SEED_SHELL = """
import datetime as dt
from django.contrib.auth import get_user_model
from paperfeed.accounts.models import Follow
from paperfeed.papers.models import Category, Paper, PaperCategory, PaperChange
from tests.recs.conftest import TOPICS
n = 0
for topic, (cat, titles, abstract) in TOPICS.items():
    Category.objects.get_or_create(code=cat)
    for i, title in enumerate(titles):
        n += 1
        p = Paper.objects.create(arxiv_id=f"2606.{n:05d}", title=title, abstract=abstract,
            authors=[{"name": "A", "key": f"a{n}"}], primary_category_id=cat,
            announced=dt.date(2026, 6, 30) - dt.timedelta(days=n))
        PaperCategory.objects.create(paper=p, category_id=cat, position=0)
        PaperChange.objects.create(paper=p)
u = get_user_model().objects.create_user("cli", "cli@example.org", "a long enough password")
Follow.objects.create(user=u, kind=Follow.Kind.KEYWORD, value="speech recognition")
"""
