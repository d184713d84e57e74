"""The rate limits' definitions (accounts.throttle.LIMITS): each says in words what it counts."""

from __future__ import annotations

from paperfeed.accounts import throttle


def test_every_limit_has_a_description_a_reader_can_take() -> None:
    for scope, lim in throttle.LIMITS.items():
        assert lim.what and scope not in lim.description, scope
        assert lim.description.startswith(f"{lim.what}: {lim.limit:,} "), lim.description
    assert throttle.LIMITS["submit:user"].description == "paper submissions: 20 an hour"
    assert throttle.LIMITS["comment:user"].description == "comments: 10 per 5 minutes"
    assert throttle.LIMITS["reset:account"].description.endswith(": 5 a day")
    assert throttle.Limit(3, 6 * 3600).description == "3 per 6 hours"  # a stand-in without words
