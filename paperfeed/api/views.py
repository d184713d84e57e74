"""The JSON API: Hugging Face's papers API paths and fields (`/api/daily_papers`,
`/api/papers/{id}`, `/api/papers/search`), the JSON twins of the other lists, and write endpoints
(upvote, submit, comment, report; a moderator's purge and its undo) behind bearer tokens. Every
list reads the same feed.services query as its HTML page and pages by api.paging's one rule (limit
1-100, p from 0; larger values are clamped, other values are a 400); a query parameter an operation
does not take is a 400 too (known_parameters_only); each address gets 300 requests per 5 min.
Every answer is compact JSON (core.http.dumps), its keys camelCase."""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import math
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db.models import Count, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, QueryDict
from django.urls import register_converter
from django.utils import timezone
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle
from pydantic import TypeAdapter

from paperfeed.accounts import services as accounts
from paperfeed.accounts import throttle
from paperfeed.accounts.middleware import rate_limited_json
from paperfeed.accounts.models import User
from paperfeed.api import middleware
from paperfeed.api.paging import MAX_LIMIT, Paging, SearchPaging, bad_paging, link_pages
from paperfeed.api.schemas import (
    CitationOut,
    CollectionOut,
    CommentIn,
    CommentOut,
    DailyPaperOut,
    ErrorOut,
    PaperOut,
    PurgeIn,
    PurgeOut,
    RateLimitedOut,
    ReportIn,
    ReportOut,
    RetryLaterOut,
    SearchHitOut,
    SubmitIn,
    UndoIn,
    UserPageOut,
    ValidationErrorOut,
    VoteOut,
)
from paperfeed.core.http import dumps, json_answer, retry_later
from paperfeed.feed import periods, searching, services
from paperfeed.feed.models import Collection, Comment, Submission, Vote
from paperfeed.moderation import services as moderation
from paperfeed.papers import citations
from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.models import Author, Category, Paper, PaperLink
from paperfeed.search.query import InvalidFilter, date_range

LIST_CACHE_SECONDS = 30  # bounds how stale trending's ages get; any vote, submission or comment
# bumps the feed's version, which is part of the key, so those show at once
_LISTS = TypeAdapter(list[DailyPaperOut])


class PaperIdConverter:
    """The {id} of /api/papers/{id}: one path segment, or two when the second is an old-style id's
    number (cs/0101001, math.GT/0309136v2), as the API returns such ids. Only a seven-digit number
    may follow the slash, so `/comments` or `/upvote` never becomes part of an id and the sub-routes
    resolve whatever order they are declared in. `cs%2F0101001` arrives decoded, like any path."""

    regex = r"[^/]+(?:/\d{7}(?:v\d+)?)?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PaperIdConverter, "paper_id")


def count_request(request: HttpRequest) -> None:
    """Count the request against the address's limit once, raising throttle.RateLimited over it."""
    if not getattr(request, "_api_counted", False):
        request._api_counted = True  # type: ignore[attr-defined]
        throttle.check("api:ip", throttle.client_ip(request))


class ApiThrottle(BaseThrottle):
    """300 requests per 5 minutes per client address, counted by core.ratelimit (shared by all
    processes), answered by ninja with 429 and Retry-After; api.middleware reports the count in
    RateLimit headers (throttle.recording). A request with authentication was counted by TokenAuth
    already, before its token was looked up, and is not counted twice."""

    _local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        try:
            count_request(request)
        except throttle.RateLimited as e:
            self._local.wait = e.retry_after
            return False
        return True

    def wait(self) -> float | None:
        return float(getattr(self._local, "wait", 1))


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        # ninja authenticates before it throttles, so a refused token (a 401) used to cost nothing
        # and tokens could be guessed at full speed: the address's limit is met here first, before
        # the look-up, and counts the request once whatever the answer (a valid one no more than before).
        count_request(request)
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        # Looked up once a request: bad_tokens_refused has looked before ninja's auth.
        if not hasattr(request, "_token_user"):
            # RFC 7235 allows one or more spaces after the scheme; ninja keeps all but the first.
            request._token_user = accounts.user_for_token(token.strip()[:200])  # type: ignore[attr-defined]
        user: User | None = request._token_user  # type: ignore[attr-defined]
        return user


class BodyNotJson(ValueError):
    """What was wrong with a body that is not JSON, in the words of the 400 that answers it."""


class JsonBody(Parser):
    """ninja's parser, with a reason: ninja answers every failure with "Cannot parse request body"."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            return json.loads(request.body)
        except RecursionError:
            raise BodyNotJson("the request body is JSON nested too deeply") from None
        except ValueError as e:  # invalid JSON or not UTF-8
            raise BodyNotJson(
                f"the request body is not JSON ({str(e)[:100]}): "
                "send a JSON object with Content-Type: application/json"
            ) from None


class CompactJson(JSONRenderer):
    """ninja's answers rendered as every other JSON answer is (core.http.dumps): ninja's own renderer
    spaced them while the cached lists came compact."""

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return dumps(data, self.encoder_class)


class DocumentedApi(NinjaAPI):
    """The OpenAPI document also says what api.middleware does (headers, 304, 503): a client reads
    every answer it can get there."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return middleware.document(super().get_openapi_schema(**kwargs))


def compact_document(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """ninja's /api/openapi.json (and /api/docs, which is HTML and passes through) as every other
    JSON answer is rendered: ninja writes the document with its own spaced JsonResponse."""

    @wraps(view)
    def rendered(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if not response.get("Content-Type", "").startswith("application/json"):
            return response
        return json_answer(json.loads(response.content), response.status_code)

    return rendered


api = DocumentedApi(
    title="paperfeed API",
    version="1",
    description=__doc__ or "",
    throttle=[ApiThrottle()],
    urls_namespace="api",
    parser=JsonBody(),
    renderer=CompactJson(),
    docs_decorator=compact_document,
)


# Every operation can answer these: a query parameter it does not take (known_parameters_only), a
# method its path does not take (api.middleware), the address's limit (ApiThrottle), and a bearer
# token not accepted (bad_tokens_refused). 503 (the database down) is added to every path by
# middleware.document.
_ALWAYS = (400, 401, 405, 429)


def _is_client_own(name: str) -> bool:
    """A parameter no operation reads and every one lets through: a cache buster (jQuery's `_=`, a
    CDN's `_t=`) names itself with a leading underscore, which no parameter of this API has."""
    return name.startswith("_")


def known_parameters_only(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Each operation's run, refusing a query parameter it does not take with a 400 naming it and
    those it does: a typo (`?catgory=cs.LG`) was silently ignored and answered with everything.
    Counted against the address's limit like any answer (a refusal is not free to repeat)."""
    # ninja's "view" mode wraps the bound run (under the decorators added before this one)
    operation = inspect.unwrap(run).__self__
    known = sorted(
        name
        for m in operation.models
        if m.__ninja_param_source__ == "query"
        for name in m.__ninja_flatten_map__
    )

    @wraps(run)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            unknown = [n for n in request.GET if n not in known and not _is_client_own(n)]
        except TooManyFieldsSent:
            unknown = None
        if unknown == []:
            return run(request, *args, **kwargs)
        try:
            count_request(request)
        except throttle.RateLimited as e:
            # The throttle's 429, as for any request over the limit. Said here: `run` would meet the
            # throttle with the request counted already, let it through, and answer it in full.
            return rate_limited_json(e)
        if unknown is None:
            message = f"too many query parameters (more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,})"
        else:
            names = ", ".join(repr(n[:40]) for n in unknown[:10]) + (", …" if len(unknown) > 10 else "")
            takes = f"it takes {', '.join(known)}" if known else "it takes none"
            message = (
                f"unknown query parameter{'s' if len(unknown) > 1 else ''} {names}: {takes}"
                " (names starting with _, such as a cache buster, are ignored)"
            )
        return api.create_response(request, {"error": message}, status=400)

    return checked


def bearer_credential(request: HttpRequest) -> str | None:
    """The credential of the one scheme this API reads (RFC 6750), as ninja's HttpBearer parses it;
    None without one. Another scheme (Basic, which a browser resends to every address of a site
    behind a password-protecting proxy) is no token of ours: the reads anyone may call answer as to
    anyone, and the operations that need a token ask for one without calling it refused."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


def sends_our_token(request: HttpRequest) -> bool:
    """Whether the bearer credential is meant for us: empty, or one of our tokens' form (their
    prefix). huggingface_hub's HfApi sends a reader's saved Hugging Face token ("hf_…") with every
    request, including to an endpoint pointed at us: refusing it would shut out every reader who
    has logged in to the Hub, so the reads anyone may call answer them as to anyone."""
    credential = bearer_credential(request)
    return credential is not None and (not credential or credential.startswith(accounts.TOKEN_PREFIX))


def bad_tokens_refused(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Each operation's run, refusing a bearer token that signs in no one (revoked, mistyped, or its
    account deactivated, which the message says) with a 401 and `error="invalid_token"`, on every
    operation alike: the reads anyone may call ignored a token naming nothing and answered as to
    anyone, so a client never learnt that its token had stopped working. No token sent, they answer
    as before."""

    @wraps(run)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if sends_our_token(request):
            try:
                if TokenAuth()(request) is None:  # counted against the address's limit before the look-up
                    raise AuthenticationError
            except (AuthenticationError, accounts.TokenOfDeactivatedAccount, throttle.RateLimited) as e:
                # The limit is met here too: `run` would find the request counted and let it through.
                return api.on_exception(request, e)
        return run(request, *args, **kwargs)

    return checked


# Applied in this order, so each wraps the one before: the unknown-parameter check comes first.
api.add_decorator(bad_tokens_refused, mode="view")
api.add_decorator(known_parameters_only, mode="view")


def with_errors(schema: Any, *errors: int, status: int = 200) -> dict[Any, Any]:
    """A success schema plus the errors this operation can answer, and no others (a client reads
    the document to learn what to handle): `{"error"}` for each 4xx, with the validation problems'
    `detail` on a 422, RateLimitedOut (`retryAfter` and the `limit` met) on a 429, RetryLaterOut on
    a 503 of the operation's own. tests/api/test_contract.py produces each documented status and
    fails on one it cannot. An endpoint's own `Status(4xx, …)` is serialised through these too, so
    nothing there may default to null."""
    out: dict[Any, Any] = {status: schema}
    for code in sorted({*errors, *_ALWAYS}):
        out[code] = {422: ValidationErrorOut, 429: RateLimitedOut, 503: RetryLaterOut}.get(code, ErrorOut)
    return out


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__  # ninja wraps the parser's error in its own, which does not say what was wrong
    message = str(cause) if isinstance(cause, BodyNotJson) else str(exc)
    if exc.status_code == 403 and message == "CSRF check Failed":  # ninja's SessionAuth, in its words
        message = _NO_CSRF
    return api.create_response(request, {"error": message}, status=exc.status_code)


_NO_CSRF = (
    "a request signed in by the session cookie must carry the CSRF token (X-CSRFToken header); "
    "a client outside the browser sends Authorization: Bearer <token> instead"
)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Django's own answer is a 400 "bad request"; RFC 9110 §15.5.14 has a status for it.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"the request body is larger than this API takes ({limit:,} bytes)"
    return api.create_response(request, {"error": message}, status=413)


def _address_limited(wait: float | None) -> HttpResponse:
    """The address's 429 where only its wait is known (ninja's throttle): said as every limit's is
    (accounts.middleware.rate_limited_json: the wait held to two of the limit's windows, the limit
    named in `error` and `limit`)."""
    return rate_limited_json(throttle.RateLimited("api:ip", math.ceil(wait or 1)))


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    # ninja says only "Too many requests." (and adds Retry-After): say which limit and when.
    return _address_limited(exc.wait)


@api.exception_handler(AuthenticationError)
@api.exception_handler(accounts.TokenOfDeactivatedAccount)
def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    # RFC 6750 §3: a 401 names the scheme it wants, and whether the token sent was refused.
    if isinstance(exc, accounts.TokenOfDeactivatedAccount):
        message, challenge = (
            "this token's account is deactivated: its tokens are refused until a site administrator"
            " reactivates it",
            'Bearer realm="paperfeed", error="invalid_token"',
        )
    elif sends_our_token(request):
        message, challenge = (
            "the token was not accepted (revoked or mistyped): make a new one on /settings",
            'Bearer realm="paperfeed", error="invalid_token"',
        )
    elif bearer_credential(request):
        message, challenge = (
            f"this is not a paperfeed API token (ours begin with {accounts.TOKEN_PREFIX}):"
            " make one on /settings",
            'Bearer realm="paperfeed", error="invalid_token"',
        )
    else:
        message = "this needs an API token: send Authorization: Bearer <token> (tokens are made on /settings)"
        challenge = 'Bearer realm="paperfeed"'
    resp = api.create_response(request, {"error": message}, status=401)
    resp["WWW-Authenticate"] = challenge
    return resp


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"error": str(exc) or "not found"}, status=404)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    bad = bad_paging(list(exc.errors), request.GET) or _bad_choice(list(exc.errors), request.GET)
    if bad is not None:
        return api.create_response(request, {"error": bad}, status=400)
    return api.create_response(request, {"error": "invalid request", "detail": exc.errors}, status=422)


def _bad_choice(errors: list[dict[str, Any]], query: QueryDict) -> str | None:
    """The 400 message when a query parameter is not one of its values (`mode=bogus`), naming them as
    /daily_papers's `sort` does, else None: such a parameter was a 422 "invalid request" whose
    detail only a program reads."""
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "literal_error" and len(loc) == 2 and loc[0] == "query":
            allowed = str(err.get("ctx", {}).get("expected", "")).replace("'", "")
            return f"{loc[1]} must be {allowed}, not {query.get(str(loc[1]), '')[:40]!r}"
    return None


@api.exception_handler(throttle.RateLimited)
def _rate_limited(request: HttpRequest, exc: throttle.RateLimited) -> HttpResponse:
    # api:ip's too (met in TokenAuth, before ninja's throttle): said as the throttle says it.
    return rate_limited_json(exc)


@api.exception_handler(services.FeedError)
def _feed_error(request: HttpRequest, exc: services.FeedError) -> HttpResponse:
    if isinstance(exc, services.ArxivUnreachable):  # not the paper's absence: a 404 would say it is
        return retry_later(str(exc), exc.retry_after)
    status = (
        409
        if isinstance(exc, services.AlreadySubmitted | moderation.AlreadyReported | moderation.NothingChanged)
        else 404
        if isinstance(exc, services.PaperNotFound)
        else 403
        if isinstance(exc, services.NotAllowed)
        else 400
    )
    return api.create_response(request, {"error": str(exc)}, status=status)


# --- serialisation -------------------------------------------------------------------------------


def _ts(value: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and Z, the one format huggingface_hub parses."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _user(u: User | None) -> dict[str, Any] | None:
    if u is None:
        return None
    return {"user": u.username, "fullname": u.get_full_name() or u.username, "avatarUrl": "", "type": "user"}


def _paper(p: Paper, *, votes: int, comments: int, submission: Submission | None = None) -> dict[str, Any]:
    links = list(p.links.all())
    code = next((lk.url for lk in links if lk.kind in (PaperLink.Kind.GITHUB, PaperLink.Kind.GITLAB)), None)
    project = next((lk.url for lk in links if lk.kind == PaperLink.Kind.PROJECT), None)
    return {
        "id": p.arxiv_id,
        "title": p.title,
        "summary": p.abstract,
        "authors": [{"name": a.get("name", ""), "hidden": False, "key": a.get("key", "")} for a in p.authors],
        "publishedAt": _ts(p.published or p.announced),
        "submittedOnDailyAt": _ts(submission.created_at) if submission else None,
        "submittedOnDailyBy": _user(submission.submitted_by) if submission else None,
        "upvotes": votes,
        "numComments": comments,
        "discussionId": p.arxiv_id,
        "githubRepo": code,
        "projectPage": project,
        "categories": p.category_codes(),
        "primaryCategory": p.primary_category_id,
        "announcedAt": p.announced.isoformat() if p.announced else None,
        "version": p.version,
        "doi": p.doi or None,
        "arxivUrl": p.abs_url,
        "pdfUrl": p.pdf_url,
    }


def _entry(e: services.Entry, trending: bool = False) -> dict[str, Any]:
    s = e.submission
    out = {
        "paper": _paper(e.paper, votes=e.votes, comments=e.comments, submission=s),
        "publishedAt": _ts(s.created_at),
        "title": e.paper.title,
        "summary": e.paper.abstract,
        "numComments": e.comments,
        "submittedBy": _user(s.submitted_by),
    }
    if trending:
        out["trending"] = {
            "rank": e.rank,
            "score": e.score,
            "countedUpvotes": e.counted,
            "ageHours": round(e.age_hours, 2),
            "reason": e.reason,
        }
    return out


def _counts(papers: list[Paper]) -> tuple[dict[int, int], dict[int, int]]:
    ids = [p.pk for p in papers]
    votes = dict(
        Vote.objects.counted()
        .filter(paper_id__in=ids)
        .values("paper_id")
        .annotate(c=Count("*"))
        .values_list("paper_id", "c")
    )
    comments = dict(
        Comment.objects.visible()
        .filter(paper_id__in=ids)
        .values("paper_id")
        .annotate(c=Count("*"))
        .values_list("paper_id", "c")
    )
    return votes, comments


def _first_submissions(papers: list[Paper]) -> dict[int, Submission]:
    """Each paper's first submission to the daily list, as /api/papers/{id} gives it: so a paper
    reads the same in every list (its submittedOnDaily fields included), in one query. One that
    moderators removed is not named (who submitted spam is not the paper's to show)."""
    first: dict[int, Submission] = {}
    rows = (
        Submission.objects.filter(paper_id__in=[p.pk for p in papers])
        .standing()
        .select_related("submitted_by")
        .order_by("day", "created_at")
    )
    for sub in rows:
        first.setdefault(sub.paper_id, sub)
    return first


def _papers(papers: list[Paper]) -> list[dict[str, Any]]:
    prefetch_related_objects(papers, "links", "paper_categories")  # none that for_listing() fetched
    votes, comments = _counts(papers)
    subs = _first_submissions(papers)
    return [
        _paper(p, votes=votes.get(p.pk, 0), comments=comments.get(p.pk, 0), submission=subs.get(p.pk))
        for p in papers
    ]


def listed(papers: list[Paper]) -> list[dict[str, Any]]:
    """Papers as the entries of a ranked list that is no day's list (search, recommendations):
    Hugging Face's list entry around the paper as /api/papers/{id} gives it; the caller adds its
    score and says why."""
    return [
        {
            "paper": pp,
            "publishedAt": pp["publishedAt"],
            "title": p.title,
            "summary": p.abstract,
            "numComments": pp["numComments"],
        }
        for p, pp in zip(papers, _papers(papers), strict=True)
    ]


def _cached_list(
    request: HttpRequest, paging: Paging, key: tuple[Any, ...], build: Callable[[], list[dict[str, Any]]]
) -> HttpResponse:
    """A public list as JSON, shared by every process through the cache: the daily list is the
    most requested document and building it (50 papers with their authors, votes and comments)
    took 66-107 ms, capping the API near 22 requests/s. Serialised through the declared schema,
    as ninja would."""
    digest = hashlib.sha1(repr((services.listing_version(), *key)).encode(), usedforsecurity=False)
    name = "api:list2:" + digest.hexdigest()  # 2: (body, rows) since the Link header; was body
    cached = cache.get(name)
    if cached is None:
        rows = build()
        cached = (dumps(_LISTS.dump_python(_LISTS.validate_python(rows), mode="json")), len(rows))
        cache.set(name, cached, LIST_CACHE_SECONDS)
    body, returned = cached
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    link_pages(request, response, paging, returned)
    return response


class PeriodParams(Schema):
    date: str | None = None
    week: str | None = None
    month: str | None = None


def _period(q: PeriodParams, default: periods.Period | None = None) -> periods.Period:
    try:
        found = periods.parse(q.date, q.week, q.month)
    except periods.BadPeriod as e:
        raise HttpError(400, str(e)) from None
    if found is not None:
        return found
    if default is not None:
        return default
    latest = services.latest_day()
    return periods.day(latest or timezone.localdate())


def stored_paper(arxiv_id: str, *, as_versioned: bool = False) -> Paper:
    """The stored paper an {id} names (in any form arXiv writes one), else a 404 that says why.
    `as_versioned`: for the reads that describe the stored version (the paper, its citation), an id
    with a version other than the one stored is a 404 too, naming the version held, rather than
    that version passed off as the one asked for. A vote, comment or report is on the paper,
    whichever version the id names; a stored version nobody knows (the snapshot's null) is served,
    its null `version` saying so."""
    try:
        ident = parse_arxiv_id(arxiv_id)
    except InvalidArxivId as e:
        raise HttpError(404, str(e)) from None
    pp = _named_or_404(Paper.objects.for_listing(), f"paper {ident.id}", arxiv_id=ident.id)
    held, asked = pp.version, ident.version
    if as_versioned and asked is not None and held is not None and asked != held:
        listed = ", ".join(f"v{v['version']}" for v in pp.versions if isinstance(v, dict) and "version" in v)
        raise HttpError(
            404,
            f"paperfeed has {pp.arxiv_id} only as v{held} (the latest version it has seen"
            + (f"; arXiv listed {listed}" if listed else "")
            + f"), not v{asked}: ask for {pp.arxiv_id} without a version for v{held}; v{asked}"
            + (" may be" if asked > held else " is")
            + f" on arXiv: {pp.abs_url}v{asked}",
        )
    return pp


def _named_or_404(qs: Any, what: str, **lookup: Any) -> Any:
    """The row, or a 404 that names what is missing ("paperfeed has no category xx.YY"), not the
    ORM's "No Category matches the given query."."""
    found = qs.filter(**lookup).first()
    if found is None:
        raise HttpError(404, f"paperfeed has no {what[:250]}")
    return found


# --- reads ------------------------------------------------------------------------------------------


@api.get("/daily_papers", response=with_errors(list[DailyPaperOut], 400), tags=["papers"])
def daily_papers(
    request: HttpRequest,
    period: Query[PeriodParams],
    paging: Query[Paging],
    submitter: str | None = None,
    sort: str = "publishedAt",
) -> list[dict[str, Any]]:
    """The papers submitted on a day (`date=YYYY-MM-DD`, default: the latest day with submissions),
    an ISO week (`week=YYYY-Www`) or a month (`month=YYYY-MM`); `sort=publishedAt|trending|votes`."""
    if sort not in ("publishedAt", "trending", "votes"):
        raise HttpError(400, "sort must be publishedAt, trending or votes")
    when, who, (a, b) = _period(period), (submitter or "")[:150] or None, paging.window()

    def build() -> list[dict[str, Any]]:
        entries = services.listing(when, sort=sort, submitter=who, loaded=False)
        return [_entry(e, trending=sort == "trending") for e in services.load(entries[a:b])]

    return _cached_list(request, paging, ("daily", str(when), who, sort, a, b), build)  # type: ignore[return-value]


@api.get("/trending", response=with_errors(list[DailyPaperOut], 400), tags=["papers"])
def trending(
    request: HttpRequest, period: Query[PeriodParams], paging: Query[Paging]
) -> list[dict[str, Any]]:
    """Trending papers of a period (default: this ISO week): those with at least one upvote, as on
    the page and in its feeds, each with its score and the reason."""
    when, (a, b) = _period(period, services.trending_period()), paging.window()

    def build() -> list[dict[str, Any]]:
        entries = services.trending(when, limit=MAX_LIMIT * 10)
        return [_entry(e, trending=True) for e in entries[a:b]]

    return _cached_list(request, paging, ("trending", str(when), a, b), build)  # type: ignore[return-value]


def _maybe(description: str) -> dict[str, Any]:
    return {"description": description, "required": False, "schema": {"type": "string"}}


_SEARCH_HEADERS = {
    "X-Search-Summary": _maybe('what was found: "635 matches", "top 100 by meaning"'),
    "X-Total-Count": {
        **_maybe("the matches, where they are counted (not in semantic mode)"),
        "schema": {"type": "integer"},
    },
    "X-Search-Dropped": _maybe(
        "present when parts of the query were left out (a field with nothing after it, a piece with no"
        " letter or digit such as `(((`, empty quotes, `-cat:` or a category that is no category name):"
        ' those parts as typed, a JSON array of strings in ASCII (`["(((", "-cat:cs.CL"]`)'
    ),
    "X-Search-Unknown-Fields": _maybe(
        "present when a `name:` in the query is no field (`foo:bar`): it was searched as words, not left"
        ' out; those names, a JSON array of strings in ASCII (`["foo:"]`); the fields are ti: au: abs: cat:'
    ),
    "X-Search-Suggestion": _maybe(
        "present when words of the query look misspelt and the query respelt matches more papers"
        ' ("did you mean"): that query, a JSON string in ASCII (`"diffusion models"`); fielded parts'
        " (`au:`, `cat:`), phrases and excluded words are kept as typed"
    ),
    "X-Search-Degraded": _maybe(
        "present when the answer is not the index's whole one, and why: keyword matches only (the"
        " semantic leg slow or failing), or the database's word match (the index not built or failing);"
        " never for a search that simply found nothing"
    ),
}


@api.get(
    "/papers/search",
    response=with_errors(list[SearchHitOut], 400, 422),  # 422: a date that is no date
    tags=["papers"],
    openapi_extra={"responses": {200: {"headers": _SEARCH_HEADERS}}},
)
def search(
    request: HttpRequest,
    response: HttpResponse,
    paging: Query[SearchPaging],
    q: str = "",
    mode: Literal["hybrid", "keyword", "semantic"] = "hybrid",
    category: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    author: str | None = None,
    sort: Literal["relevance", "date", "votes"] = "relevance",
) -> list[dict[str, Any]]:
    """Search (the same engine and fallback as the search page); empty or unusable queries give [];
    a query that is an arXiv id or link stored here gives that paper alone.
    Headers: `X-Search-Summary` says what was found ("635 matches", "top 100 by meaning"),
    `X-Total-Count` the matches where they are counted (not in semantic mode), `X-Search-Dropped` the
    parts of the query left out (a JSON array), `X-Search-Unknown-Fields` the `name:`s that are no field
    and were searched as words (a JSON array), `X-Search-Suggestion` the query with misspelt words
    respelt when that finds more (a JSON string)."""
    try:  # before the search: its fallback to the database match would not check them
        date_range(since, until)
    except InvalidFilter as e:
        raise HttpError(400, str(e)) from None
    a, b = paging.window()
    named = _named_paper(q)
    if named is not None:  # as the search page takes a pasted id or arXiv link to that paper
        response["X-Search-Summary"], response["X-Total-Count"] = "1 match", "1"
        entries = listed([named])[a:b]
        link_pages(request, response, paging, len(entries))
        return [e | {"score": 1.0, "highlight": ""} for e in entries]
    res = searching.run_search(
        q,  # cut by run_search, at the search service's one limit
        mode=mode,
        limit=b - a,
        offset=a,
        category=(category or "")[:40] or None,
        since=since,
        until=until,
        author=(author or "")[:200] or None,
        sort=sort,
    )
    if res.error:
        raise HttpError(400, res.error)
    # The body keeps Hugging Face's shape (a plain list): what it is, and a degraded answer (keyword
    # matches only, RELIABILITY L7), are said in headers.
    if res.summary:
        response["X-Search-Summary"] = res.summary.encode("ascii", "replace").decode()
        if res.total is not None and res.counted:
            response["X-Total-Count"] = str(res.total)
    if res.dropped:
        # JSON: pieces may hold commas and quotes; ensure_ascii keeps any text a valid header.
        response["X-Search-Dropped"] = json.dumps(res.dropped, ensure_ascii=True)
    if res.unknown_fields:
        response["X-Search-Unknown-Fields"] = json.dumps(res.unknown_fields, ensure_ascii=True)
    if res.suggestion:
        response["X-Search-Suggestion"] = json.dumps(res.suggestion, ensure_ascii=True)
    if res.degraded:
        note = res.message or "keyword matches only"
        response["X-Search-Degraded"] = note.encode("ascii", "replace").decode()
    entries = listed([h.paper for h in res.hits])
    link_pages(request, response, paging, len(entries))
    return [
        e | {"score": h.score, "highlight": str(h.snippet)} for h, e in zip(res.hits, entries, strict=True)
    ]


def _named_paper(q: str) -> Paper | None:
    """The stored paper a query that is nothing but an arXiv id or link names (any form arXiv writes
    one: a version, `arXiv:`, an old-style id), else None: the words are searched. The index has
    no ids, so such a query found nothing at all."""
    try:
        ident = parse_arxiv_id(q.strip()[:300])
    except InvalidArxivId:
        return None
    return Paper.objects.for_listing().filter(arxiv_id=ident.id).first()


@api.post(
    "/papers/submit",
    auth=TokenAuth(),
    response=with_errors(DailyPaperOut, 400, 401, 403, 404, 409, 413, 422, 503, status=201),
    tags=["write"],
    openapi_extra={
        "responses": {
            404: {"description": "Not Found: arXiv answered and has no such paper"},
            503: {
                "description": "Service Unavailable: the paper is not stored here and arXiv could not be"
                " asked for it (down, slow or answering nonsense), or the database is down; try again"
                " after Retry-After"
            },
        }
    },
)
def submit(request: HttpRequest, body: SubmitIn) -> Status[dict[str, Any]]:
    """Put a paper on today's list by arXiv id or URL, looking it up on arXiv when it is not stored:
    404 when arXiv has no such paper, 503 with Retry-After when arXiv could not be asked."""
    user = _caller(request)
    if not user.email_verified:
        return Status(403, {"error": "verify your email address before submitting"})
    day = None
    if body.date:
        try:
            day = dt.date.fromisoformat(body.date)
        except ValueError:
            return Status(400, {"error": f"date must be YYYY-MM-DD, not {body.date!r}"})
        if abs((day - timezone.localdate()).days) > 1:
            return Status(400, {"error": "submissions go on today's list (give no date)"})
    sub = services.submit(body.id, user, day)
    st = services.stats(sub.paper)
    return Status(201, _entry(services.Entry(sub, votes=st["votes"], comments=st["comments"])))


@api.get("/papers/{paper_id:arxiv_id}", response=with_errors(PaperOut, 404), tags=["papers"])
def paper(request: HttpRequest, arxiv_id: str) -> dict[str, Any]:
    """One paper, with its upvotes, comment count and first submission to the daily list. An id with
    a version (2501.01234v2) answers only when that is the version stored (or the stored version is
    not known: `version` null); another version is a 404 naming the one held."""
    pp = stored_paper(arxiv_id, as_versioned=True)
    st = services.stats(pp)
    first = _first_submissions([pp]).get(pp.pk)
    return _paper(pp, votes=st["votes"], comments=st["comments"], submission=first)


@api.get("/papers/{paper_id:arxiv_id}/citation", response=with_errors(CitationOut, 400, 404), tags=["papers"])
def citation(
    request: HttpRequest, arxiv_id: str, format: Literal["bibtex", "ris", "csl-json"] = "bibtex"
) -> dict[str, Any]:
    """How to cite one paper: BibTeX (@misc, or @article with its journal reference), RIS or
    CSL-JSON, as /papers/{id}.bib, .ris and .csl.json serve them (papers.citations); an id with a
    version other than the one stored is a 404, as for the paper."""
    pp = stored_paper(arxiv_id, as_versioned=True)
    fmt = citations.FORMATS[format]
    return {
        "id": pp.arxiv_id,
        "format": fmt.name,
        "key": citations.citation_keys([pp])[0],
        "citation": citations.export([pp], fmt.name),
        "mediaType": fmt.media_type,
    }


@api.get(
    "/papers/{paper_id:arxiv_id}/comments",
    response=with_errors(list[CommentOut], 400, 404),
    tags=["comments"],
)
def comments(
    request: HttpRequest, response: HttpResponse, arxiv_id: str, paging: Query[Paging]
) -> list[dict[str, Any]]:
    """A paper's comments, oldest first, a page at a time (the paper's `numComments` counts them)."""
    pp = stored_paper(arxiv_id)
    a, b = paging.window()
    rows = Comment.objects.visible().filter(paper=pp).select_related("author").order_by("created_at", "pk")
    shown = list(rows[a:b])
    Comment.objects.store_renderings(shown)  # stale ones come rendered again: kept so
    page = [_comment(c, pp) for c in shown]
    link_pages(request, response, paging, len(page))
    return page


def _comment(c: Comment, pp: Paper) -> dict[str, Any]:
    return {
        "id": c.pk,
        "paper": pp.arxiv_id,
        "author": _user(c.author),
        "body": c.body,
        "html": c.html,
        "createdAt": _ts(c.created_at),
        "editedAt": _ts(c.edited_at),
    }


@api.get("/categories/{code}/papers", response=with_errors(list[PaperOut], 400, 404), tags=["lists"])
def category_papers(
    request: HttpRequest,
    response: HttpResponse,
    code: str,
    period: Query[PeriodParams],
    paging: Query[Paging],
) -> list[dict[str, Any]]:
    """New papers of a category on a day (default: its latest day), week or month."""
    cat = _named_or_404(Category.objects, f"category {code[:40]!r}", code=code[:40])
    qs = Paper.objects.active().in_category(cat.code)
    latest = qs.order_by("-announced").values_list("announced", flat=True).first()
    per = _period(period, periods.day(latest or timezone.localdate()))
    a, b = paging.window()
    rows = list(
        qs.announced_between(per.first, per.last).order_by("-announced", "-arxiv_id").for_listing()[a:b]
    )
    link_pages(request, response, paging, len(rows))
    return _papers(rows)


_MOVED = {
    "description": "Moved Permanently: the key is one the author had before a re-key; Location is the"
    " list under the current key, the query kept (no body)",
    "headers": {
        "Location": {"description": "the author's list now", "required": True, "schema": {"type": "string"}}
    },
}


@api.get(
    "/authors/{key}/papers",
    response=with_errors(list[PaperOut], 400, 404),
    tags=["lists"],
    openapi_extra={"responses": {301: _MOVED}},
)
def author_papers(
    request: HttpRequest, response: HttpResponse, key: str, paging: Query[Paging]
) -> list[dict[str, Any]] | HttpResponse:
    """An author's papers, newest first; an old key (from before a re-key) answers 301 to the
    current one."""
    author = Author.objects.keyed(key[:200])
    if author is None:
        raise HttpError(404, f"paperfeed has no author {key[:200]!r}")
    if author.key != key:  # a key the author had before a re-key: answer where it lives now
        query = request.META.get("QUERY_STRING", "")
        moved = HttpResponsePermanentRedirect(
            f"{request.path.removesuffix(f'/authors/{key}/papers')}/authors/{quote(author.key)}/papers"
            + (f"?{query}" if query else "")
        )
        del moved["Content-Type"]  # no body (Django's default label says text/html)
        return moved
    a, b = paging.window()
    rows = list(
        Paper.objects.active().by_author(author.key).order_by("-announced", "-arxiv_id").for_listing()[a:b]
    )
    link_pages(request, response, paging, len(rows))
    return _papers(rows)


def _named_user(username: str) -> User:
    found: User = _named_or_404(
        User.objects.of_active_accounts(), f"user {username[:150]!r}", username__iexact=username[:150]
    )
    return found


@api.get("/users/{username}", response=with_errors(UserPageOut, 404), tags=["lists"])
def user_page(request: HttpRequest, username: str) -> dict[str, Any]:
    """A user's page: the 50 newest submissions and the 100 papers upvoted last (each upvote, paged:
    /api/users/{username}/upvotes), and the public collections."""
    u = _named_user(username)
    subs = list(
        Submission.objects.filter(submitted_by=u)
        .visible()
        .with_counts()
        .for_listing()
        .order_by("-created_at")[:50]
    )
    entries = [services.Entry(s, votes=s.n_votes or 0, comments=s.n_comments or 0) for s in subs]  # type: ignore[attr-defined]
    upvoted = list(Paper.objects.upvoted_by(u).values_list("arxiv_id", flat=True)[:100])
    colls = Collection.objects.filter(user=u, public=True).annotate(n=Count("items"))
    return {
        "user": _user(u),
        "bio": u.bio,
        "submissions": [_entry(e) for e in entries],
        "upvoted": upvoted,
        "collections": [{"name": c.name, "slug": c.slug, "papers": c.n} for c in colls],
    }


@api.get("/users/{username}/upvotes", response=with_errors(list[PaperOut], 400, 404), tags=["lists"])
def user_upvotes(
    request: HttpRequest, response: HttpResponse, username: str, paging: Query[Paging]
) -> list[dict[str, Any]]:
    """Every paper a user upvoted, the last upvoted first, a page at a time: the user page's
    "Upvoted" list (30 a page there), papers on no list included, as there."""
    u = _named_user(username)
    a, b = paging.window()
    rows = list(Paper.objects.upvoted_by(u).for_listing()[a:b])
    link_pages(request, response, paging, len(rows))
    return _papers(rows)


def _optional_caller(request: HttpRequest) -> User | None:
    """The caller of an operation anyone may call, whose own token shows them more: None without a
    bearer token. One not accepted never gets here: bad_tokens_refused answered it 401."""
    user = TokenAuth()(request) if sends_our_token(request) else None
    return user if isinstance(user, User) else None


def _collections_seen(request: HttpRequest, username: str) -> Any:
    """The user's collections the caller may see: the public ones, and every one for its owner."""
    u = _named_user(username)
    colls = Collection.objects.filter(user=u)
    caller = _optional_caller(request)
    return colls if caller is not None and caller.pk == u.pk else colls.filter(public=True)


_PRIVATE_TO_OWNER = (
    " Anyone may call it; with the owner's token (Authorization: Bearer) their private collections"
    " are included, and a token not accepted is a 401."
)


@api.get(
    "/users/{username}/collections",
    response=with_errors(list[CollectionOut], 401, 404),
    tags=["lists"],
    description="A user's collections, by name (not paged: a user has a few)." + _PRIVATE_TO_OWNER,
)
def user_collections(request: HttpRequest, username: str) -> list[dict[str, Any]]:
    colls = _collections_seen(request, username).annotate(n=Count("items")).order_by("name", "slug")
    return [{"name": c.name, "slug": c.slug, "public": c.public, "papers": c.n} for c in colls]


@api.get(
    "/users/{username}/collections/{slug}",
    response=with_errors(list[PaperOut], 400, 401, 404),
    tags=["lists"],
    description="A collection's papers, the last saved first, a page at a time, as the collection's"
    " page lists them. A private collection is a 404 for anyone but its owner." + _PRIVATE_TO_OWNER,
)
def collection_papers(
    request: HttpRequest, response: HttpResponse, username: str, slug: str, paging: Query[Paging]
) -> list[dict[str, Any]]:
    coll = _named_or_404(
        _collections_seen(request, username),
        f"collection {slug[:100]!r} of {username[:150]!r} that you can see",
        slug=slug[:100],
    )
    a, b = paging.window()
    ids = list(coll.items.order_by("-added_at", "-pk").values_list("paper_id", flat=True)[a:b])
    found = Paper.objects.filter(pk__in=ids).for_listing().in_bulk()
    rows = [found[i] for i in ids]
    link_pages(request, response, paging, len(rows))
    return _papers(rows)


# --- writes (bearer token) ------------------------------------------------------------------------


def _caller(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


@api.post(
    "/papers/{paper_id:arxiv_id}/upvote",
    auth=TokenAuth(),
    response=with_errors(VoteOut, 401, 404),
    tags=["write"],
)
def upvote(request: HttpRequest, arxiv_id: str) -> dict[str, Any]:
    """Upvote a paper (once; again is a no-op). A paper on no list is put on today's list by this
    vote, submitted by the caller, under the submit rules (a verified address, else 403)."""
    pp = stored_paper(arxiv_id)
    return {"id": pp.arxiv_id, "upvotes": services.upvote(_caller(request), pp), "voted": True}


@api.delete(
    "/papers/{paper_id:arxiv_id}/upvote",
    auth=TokenAuth(),
    response=with_errors(VoteOut, 401, 404),
    tags=["write"],
)
def remove_upvote(request: HttpRequest, arxiv_id: str) -> dict[str, Any]:
    pp = stored_paper(arxiv_id)
    return {"id": pp.arxiv_id, "upvotes": services.unvote(_caller(request), pp), "voted": False}


@api.post(
    "/papers/{paper_id:arxiv_id}/comments",
    auth=TokenAuth(),
    response=with_errors(CommentOut, 400, 401, 403, 404, 413, 422, status=201),
    tags=["write"],
)
def add_comment(request: HttpRequest, arxiv_id: str, body: CommentIn) -> Status[dict[str, Any]]:
    pp = stored_paper(arxiv_id)
    c = services.add_comment(_caller(request), pp, body.body)
    return Status(201, _comment(c, pp))


def _creates(path: str, schema: Any, tag: str) -> Callable[..., Any]:
    """A POST by bearer token that answers 201 with what it made, or a write's refusals: 403 not
    allowed, 404 no such thing, 409 made already (or nothing left to change), 400, 413 and 422 for
    what was sent."""
    return api.post(
        path,
        auth=TokenAuth(),
        response=with_errors(schema, 400, 401, 403, 404, 409, 413, 422, status=201),
        tags=[tag],
    )


def _report(r: Any) -> dict[str, Any]:
    return {
        "id": r.pk,
        "target": moderation.describe(r.item),
        "reason": r.reason,
        "text": r.text,
        "status": r.status,
        "createdAt": _ts(r.created_at),
    }


@_creates("/papers/{paper_id:arxiv_id}/report", ReportOut, "write")
def report_submission(request: HttpRequest, arxiv_id: str, body: ReportIn) -> Status[dict[str, Any]]:
    """Report a paper's submission to the moderators (spam, off-topic, ...): one open report per
    reader and item; 404 when the paper is not on the feed, 409 when this reader's report is open."""
    pp = stored_paper(arxiv_id)
    sub = moderation.submission_of(pp.arxiv_id)
    if sub is None or sub.removed_at is not None:
        raise Http404(f"{pp.arxiv_id} is not on the feed")
    return Status(201, _report(moderation.file_report(_caller(request), sub, body.reason, body.text)))


@_creates("/comments/{comment_id}/report", ReportOut, "write")
def report_comment(request: HttpRequest, comment_id: int, body: ReportIn) -> Status[dict[str, Any]]:
    """Report a comment to the moderators; the ids are those of /api/papers/{id}/comments."""
    c = None
    if 0 < comment_id < 2**63:  # a larger number is no row's id, and no database integer either
        c = Comment.objects.visible().select_related("paper", "author").filter(pk=comment_id).first()
    if c is None:
        raise Http404(f"no comment {comment_id}")
    return Status(201, _report(moderation.file_report(_caller(request), c, body.reason, body.text)))


# --- moderation (a moderator's bearer token) ------------------------------------------------------


def _moderator(request: HttpRequest) -> User:
    """The caller if a moderator may act now, else a 403, before anything is looked up: to anyone
    else every name and id answers alike, whether it exists or not."""
    staff = moderation.moderator(_caller(request))
    assert staff is not None
    return staff


@_creates("/moderation/users/{name}/purge", PurgeOut, "moderation")
def purge(request: HttpRequest, name: str, body: PurgeIn) -> Status[dict[str, Any]]:
    """Suspend a spammer and take down everything they posted, as one logged action: their
    submissions still on the feed removed, their comments still shown hidden, the open reports about
    them resolved (the account's moderation page and `paperfeed moderate purge` do the same). `name`
    is a username or an email address, any case. 403 unless the token's account is a moderator (staff,
    active, not suspended); 400 without a reason or for one's own account; 409 when the account is
    suspended already and has nothing left on show."""
    staff = _moderator(request)
    user = User.objects.named(name[:254]).first()
    if user is None:
        raise Http404(f"no user {name[:150]!r}")
    return Status(201, moderation.purge_json(moderation.purge(staff, user, body.reason)))


@_creates("/moderation/actions/{action_id}/undo", PurgeOut, "moderation")
def undo_purge(request: HttpRequest, action_id: int, body: UndoIn | None = None) -> Status[dict[str, Any]]:
    """Undo one purge (`action_id`: its `purge` in the answer that made it, or its id in `paperfeed
    moderate log`): the suspension lifted if that purge made it, the submissions and comments it
    took down put back, the reports it closed reopened. 404 for an id that is no purge, 409 when it
    is undone already; the body may be `{}`."""
    staff = _moderator(request)
    done = moderation.purge_action(action_id) if 0 < action_id < 2**63 else None
    if done is None:
        raise Http404(f"no purge with id {action_id}")
    return Status(201, moderation.purge_json(moderation.unpurge(staff, done, body.reason if body else "")))
