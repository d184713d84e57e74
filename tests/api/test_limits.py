"""The rate limits an API operation can meet, found where they are applied, against api.schemas'
API_LIMITS (which bounds a 429's retryAfter in the document and lists the limits its `limit` can
name). The checks are made in the services the operations call, so the list cannot be derived at
the routes: this walks, from every operation (its view, the API's throttle and authentication), the
functions of paperfeed it calls, down to each throttle.check, and fails when an operation can meet a
limit the list lacks, or the list names one no operation meets. A check reached only through an
object's method is out of its sight: the contract test reads the RateLimit-Policy of every answer
it gets as the run-time complement."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from paperfeed import urls
from paperfeed.accounts import throttle
from paperfeed.api import views
from paperfeed.api.schemas import API_LIMITS
from paperfeed.feed import services


def _resolved(expr: ast.expr, names: dict[str, Any]) -> Any:
    """What a called name or dotted name stands for, when a module or class holds it; else None."""
    if isinstance(expr, ast.Name):
        return names.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = _resolved(expr.value, names)
        if inspect.ismodule(base) or inspect.isclass(base):
            return getattr(base, expr.attr, None)
    return None


def scopes_met(func: Callable[..., Any], seen: set[Any] | None = None) -> set[str]:
    """The scopes of the throttle.check calls `func` makes, itself or through paperfeed's functions."""
    seen = set() if seen is None else seen
    func = inspect.unwrap(func)
    if func in seen or not getattr(func, "__module__", "").startswith("paperfeed."):
        return set()
    seen.add(func)
    found: set[str] = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(func)))):
        if not isinstance(node, ast.Call):
            continue
        called = _resolved(node.func, func.__globals__)
        if called is throttle.check:
            scope = node.args[0] if node.args else None
            assert isinstance(scope, ast.Constant) and isinstance(scope.value, str), (
                f"{func.__module__}.{func.__qualname__} checks a limit named at run time: name it literally"
            )
            found.add(scope.value)
        elif inspect.isfunction(called) or inspect.ismethod(called):
            found |= scopes_met(called, seen)
    return found


def _operations() -> dict[str, set[str]]:
    """Each API operation (`METHOD path`) and the scopes it can meet."""
    out = {}
    for prefix, router in views.api._routers:
        for path, path_view in router.path_operations.items():
            for op in path_view.operations:
                # The throttles and authentication run before the view (ApiThrottle, TokenAuth); an
                # operation without throttles of its own has the API's.
                throttles = op.throttle_objects or views.api.throttle
                roots = [op.view_func, *(t.allow_request for t in throttles)]
                roots += [a if inspect.isfunction(a) else type(a).__call__ for a in op.auth_callbacks]
                met = set().union(*(scopes_met(r) for r in roots))
                for method in op.methods:
                    out[f"{method} /{(prefix + path).lstrip('/')}"] = met
    return out


def test_every_limit_an_operation_can_meet_is_in_api_limits_and_each_one_there_is_met() -> None:
    operations = _operations()
    assert urls.urlpatterns  # the site's URLs mount every app's router on the API (recs' too)
    assert len(operations) >= 20 and "GET /recommendations" in operations, sorted(operations)
    met = set().union(*operations.values())
    missing = {op: sorted(s - set(API_LIMITS)) for op, s in operations.items() if s - set(API_LIMITS)}
    assert not missing, f"limits met by API operations, missing from api.schemas.API_LIMITS: {missing}"
    assert set(API_LIMITS) <= met, f"in API_LIMITS but met by no operation: {set(API_LIMITS) - met}"
    assert set(API_LIMITS) <= set(throttle.LIMITS)
    # Every operation is counted against the address's limit, a read as much as a write.
    assert all("api:ip" in s for s in operations.values()), operations


def test_the_walk_finds_a_limit_met_on_a_branch_only() -> None:
    # An upvote on a paper on no list submits it (feed.services._submit_with_first_vote), so an
    # upvote can meet the submissions' limit: a request to a listed paper never shows it.
    assert scopes_met(services.upvote) == {"vote:user", "submit:user"}
    assert scopes_met(views.upvote) >= {"vote:user", "submit:user"}
