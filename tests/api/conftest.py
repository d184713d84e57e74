"""The small site most API tests read: 8 papers, 5 of them submitted today by a verified curator
(who has a password and an API token), and one comment."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from paperfeed.accounts import services as accounts
from paperfeed.feed import services
from tests.sitedata import PASSWORD, load_papers, make_user


@pytest.fixture
def site() -> dict[str, Any]:
    papers = load_papers(8)
    curator = make_user("curator", password=PASSWORD)
    for p in papers[:5]:
        services.submit(p.arxiv_id, curator, timezone.localdate())
    services.add_comment(curator, papers[0], "first")
    token = accounts.create_api_token(curator).secret
    return {"papers": papers, "user": curator, "auth": {"HTTP_AUTHORIZATION": f"Bearer {token}"}}
