"""GET /api/papers/{id}/citation: one paper in BibTeX, RIS or CSL-JSON, as the site serves it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from paperfeed.papers import citations

pytestmark = pytest.mark.django_db


def test_each_format(site: dict[str, Any]) -> None:
    p = site["papers"][0]
    key = citations.citation_keys([p])[0]
    r = Client().get(f"/api/papers/{p.arxiv_id}/citation")
    assert r.status_code == 200
    assert r.json() == {
        "id": p.arxiv_id,
        "format": "bibtex",
        "key": key,
        "citation": citations.export([p], "bibtex"),
        "mediaType": "application/x-bibtex",
    }
    ris = Client().get(f"/api/papers/arXiv:{p.arxiv_id}v1/citation?format=ris").json()
    assert ris["citation"] == Client().get(f"/papers/{p.arxiv_id}.ris").content.decode()
    csl = Client().get(f"/api/papers/{p.arxiv_id}/citation?format=csl-json").json()
    assert json.loads(csl["citation"])[0]["id"] == key


def test_errors(site: dict[str, Any]) -> None:
    r = Client().get("/api/papers/2501.99999/citation")
    assert r.status_code == 404 and r.json() == {"error": "paperfeed has no paper 2501.99999"}
    r = Client().get(f"/api/papers/{site['papers'][0].arxiv_id}/citation?format=endnote")
    assert r.status_code == 400
    assert r.json() == {"error": "format must be bibtex, ris or csl-json, not 'endnote'"}
