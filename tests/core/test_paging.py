"""core.paging: the site's `?page=` and `?limit=` by the API's one rule (the pages that read them:
tests/feed/test_views.py, tests/recs/test_views.py, tests/moderation/test_views.py)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from paperfeed.api import paging as api_paging
from paperfeed.core.middleware import BadParameter
from paperfeed.core.paging import HUGE, plain_digits, site_number, site_page

pytestmark = pytest.mark.database_agnostic


def limit(query: str) -> int:
    request = RequestFactory().get(f"/for-you?{query}")
    return site_number(request, "limit", default=20, low=1, high=100, what="how many")


def test_plain_digits_only_and_huge_numbers_read_as_more_than_any_maximum() -> None:
    assert plain_digits("0") == 0 and plain_digits("0042") == 42 and plain_digits(7) == 7
    assert plain_digits("9" * 5000) == HUGE
    for bad in ("", "+5", " 5", "5 ", "5.0", "5_0", "-1", "1e2", "\u0665", "\uff15"):
        with pytest.raises(ValueError, match="plain decimal digits"):
            plain_digits(bad)
    assert api_paging.PlainInt.__metadata__[0].func is plain_digits  # one rule


def test_a_number_in_range_as_given_more_as_the_most_none_as_the_default() -> None:
    assert limit("") == 20 and limit("limit=5") == 5 and limit("limit=100") == 100
    assert limit("limit=101") == 100 and limit("limit=" + "9" * 40) == 100


def test_anything_else_is_a_bad_parameter_linking_the_page_without_it() -> None:
    for bad in ("0", "abc", "2.0", "%2B2"):
        with pytest.raises(BadParameter) as caught:
            limit(f"q=x&limit={bad}")
        assert str(caught.value).startswith("limit (how many) must be a whole number from 1 to 100 in plain")
        assert caught.value.link == ("/for-you?q=x", "Show the page without limit")
    with pytest.raises(BadParameter) as caught:
        limit("limit=" + "x" * 100)
    assert str(caught.value).endswith(f"not {'x' * 40!r}")  # quoted, cut
    with pytest.raises(BadParameter) as caught:
        limit("limit=-1")
    assert caught.value.link == ("/for-you", "Show the page without limit")


def test_site_page_reads_a_page_past_the_last_as_the_last() -> None:
    rows = list(range(25))
    get = RequestFactory().get
    assert site_page(get("/papers"), rows, 10).number == 1
    assert site_page(get("/papers?page=2"), rows, 10).object_list == list(range(10, 20))
    assert site_page(get("/papers?page=" + "9" * 40), rows, 10).number == 3
    with pytest.raises(BadParameter, match=r"page \(the page, from 1\) must be a whole number from 1 up"):
        site_page(get("/papers?page=0"), rows, 10)
