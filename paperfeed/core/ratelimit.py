"""Rate limits shared by every web process and worker: counters live in the database (an atomic
upsert per hit) or, when PAPERFEED_CACHE_URL points at Redis, in Redis.

A hit is counted only if its window still has room, checked in the step that counts it (the upsert's
WHERE; one Lua script on Redis): counted after a separate look, every concurrent hit the look let
through was counted, so a client with one hit left got as many as it sent at once. A limit that
counts its refusals too (`count_denied`, the log-in limits) is decided in that step as well: the
count the upsert or script added the hit to says whether it had room.

A limit is `limit` hits per `window` seconds for one bucket. The count is a sliding-window estimate
(this window's hits plus the previous window's, weighted by how much of it still overlaps), which
has no burst at window edges and needs two counters per bucket. Time comes from core.clock (scaled),
so tests can run a five-minute window in seconds.

The estimate and the wait it gives (Retry-After) are computed in exact fractions: a client that waits
exactly the seconds it was told meets an estimate exactly at the limit, which is allowed, where a
float could land a hair above it. A window's hits weigh on into the next one, so a client that filled
this window waits past its end, until they have decayed enough (up to two windows in all).

Wall time can jump (§4c). Forward, a client meets empty windows: one fresh allowance, as after a
real pause, and the limit holds from there. Back, the counters ahead of the clock are rebased onto
this window and the previous one (`_rebased`), in the database and in Redis alike.

Counters follow their store's clock, the database's (core.clock.db_now_sql, read in the statement
that reads them) or Redis's (TIME, read with them in one round trip), so web machines whose clocks
disagree count each client in the same windows: by their own clocks, one an hour ahead met empty
windows and let the client through again; and, with counters rebased, one a moment behind would
take the others' for a jump back at every window's edge.

A database that cannot be written (a read-only SQLite file, §4c) cannot count: every hit is then
allowed, with a warning in the log, so that reads keep working; anything that writes fails anyway.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction

from paperfeed.core import clock
from paperfeed.core.commands import is_read_only

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: float  # the estimate after this hit (or before, if not counted)
    limit: int
    retry_after: int  # whole seconds until a hit would be allowed again (0 if allowed)
    reset: int = 0  # whole seconds until the estimate is back to 0: the whole limit free again

    @property
    def remaining(self) -> int:
        """Hits that would be allowed right now, one after another (0 once refused)."""
        return max(0, math.floor(self.limit - self.count)) if self.allowed else 0


def _bucket(scope: str, key: str) -> str:
    # Keys may be emails or IPs of any length: hash them to a fixed width, keep the scope readable.
    return f"{scope}:{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}"


def _look_db(bucket: str, length: int) -> tuple[float, int, int]:
    """(the database's time, this window's count, the previous window's), read in one statement:
    the clock comes with the counters at no extra round trip, so every machine's hits fall in the
    same windows, whatever its own clock says."""
    table = connection.ops.quote_name("core_ratecounter")
    now_sql, params = clock.db_now_sql(connection.vendor)
    with transaction.atomic(), connection.cursor() as cur:
        # Two windows back from the database's time holds the previous window's start.
        cur.execute(
            f"SELECT n.now, c.window_start, c.hits FROM (SELECT {now_sql} AS now) n "  # noqa: S608  # nosec B608
            f"LEFT JOIN {table} c ON c.bucket = %s AND c.window_start >= n.now - %s",
            [*params, bucket, 2 * length],
        )
        rows = cur.fetchall()
        now = float(rows[0][0])
        start = _window_start(now, length)
        counts = {w: h for _, w, h in rows if w is not None and w >= start - length}
        if max(counts, default=start) > start:
            counts = _rebased(counts, start, length)
            cur.execute(
                f"DELETE FROM {table} WHERE bucket = %s AND window_start >= %s",  # noqa: S608  # nosec B608
                [bucket, start - length],
            )
            for window_start, hits in counts.items():
                # Two processes may rebase at once (PostgreSQL): both write the same values.
                cur.execute(
                    f"INSERT INTO {table} (bucket, window_start, hits) VALUES (%s, %s, %s) "  # noqa: S608  # nosec B608
                    "ON CONFLICT (bucket, window_start) DO UPDATE SET hits = excluded.hits",
                    [bucket, window_start, hits],
                )
    return now, counts.get(start, 0), counts.get(start - length, 0)


def _incr_db(bucket: str, start: int, length: int, by: int, room: int, always: bool) -> tuple[bool, int, int]:
    """Add `by` to the counter of the window starting at `start` if it holds at most `room` hits
    (or `always`), in one statement, and say whether it held at most `room`: a concurrent hit cannot
    take the room between the look and the count, as it did when every hit the look let through was
    counted. Return (that, this window's count, the previous window's)."""
    table = connection.ops.quote_name("core_ratecounter")
    with transaction.atomic(), connection.cursor() as cur:
        # The row is locked by the upsert (PostgreSQL) or the database by the write (SQLite), and
        # the WHERE is read against the count another hit may have just committed.
        cur.execute(
            f"INSERT INTO {table} (bucket, window_start, hits) SELECT %s, %s, %s WHERE %s OR 0 <= %s "  # nosec B608
            f"ON CONFLICT (bucket, window_start) DO UPDATE SET hits = {table}.hits + excluded.hits "
            f"WHERE %s OR {table}.hits <= %s RETURNING hits",
            [bucket, start, by, always, room, always, room],
        )
        # The count this hit was added to is the one it met (concurrent hits each meet their own),
        # where a look before it may have met the same count as every other hit of the moment.
        row = cur.fetchone()
        had_room = row is not None and row[0] - by <= room
        cur.execute(
            f"SELECT window_start, hits FROM {table} WHERE bucket = %s AND window_start >= %s",  # noqa: S608  # nosec B608
            [bucket, start - length],
        )
        counts = dict(cur.fetchall())
    return had_room, counts.get(start, 0), counts.get(start - length, 0)


def _rebased(counts: dict[int, int], start: int, length: int) -> dict[int, int]:
    """The counts of this window and the previous one, given counts of windows after `start`, which
    exist only if the clock went back. Left in place, each would be met again as the clock re-reached
    it, and a client busy before the jump would stay refused for as long as the jump (an hour back:
    an hour locked out), after a fresh allowance now. The latest two windows become this one and the
    previous one instead: the client keeps what it has used, neither more nor less."""
    latest = max(counts)
    return {start: counts[latest], start - length: counts.get(latest - length, 0)}


# Redis keeps a bucket's counters in one hash (window start -> hits), so that the windows after the
# clock can be found and rebased as the database's rows are; it expires two windows of real time
# after its last write (longest_wait), when nothing in it can weigh any more.
def _cache_key(bucket: str) -> tuple[str, Any]:
    key = cache.make_and_validate_key(f"rl:{bucket}")
    return key, cache._cache.get_client(key, write=True)  # type: ignore[attr-defined]  # a RedisCache


# KEYS: the bucket's hash; ARGV: the previous window's start (its windows from it on are replaced),
# this window's start, this window's hits, the previous one's, expiry seconds.
_REBASE = """
for _, w in ipairs(redis.call('HKEYS', KEYS[1])) do
  if tonumber(w) >= tonumber(ARGV[1]) then redis.call('HDEL', KEYS[1], w) end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
"""


def _look_cache(bucket: str, length: int) -> tuple[float, int, int]:
    """_look_db's twin: Redis's time and the bucket's counters in one round trip (MULTI), those
    ahead of the clock rebased."""
    key, client = _cache_key(bucket)
    with client.pipeline() as pipe:
        reply, raw = pipe.time().hgetall(key).execute()
    now = clock.redis_wall(reply)
    start = _window_start(now, length)
    counts = {int(w): int(h) for w, h in raw.items() if int(w) >= start - length}
    if max(counts, default=start) > start:
        counts = _rebased(counts, start, length)
        # Two processes may rebase at once: both write the same values.
        client.eval(
            _REBASE,
            1,
            key,
            start - length,
            start,
            counts[start],
            counts[start - length],
            longest_wait(length),
        )
    return now, counts.get(start, 0), counts.get(start - length, 0)


# The Redis twin of _incr_db's conditional upsert, one script so that nothing runs between the
# look and the count, and one round trip that also reads both windows' counts back (and drops the
# windows that can no longer weigh).
# KEYS: the bucket's hash; ARGV: this window's start, the previous one's, by, room, always (1 or 0),
# expiry seconds.
_INCR_IF_ROOM = """
local hits = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local had_room = hits <= tonumber(ARGV[4])
if had_room or ARGV[5] == '1' then
  hits = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
end
for _, w in ipairs(redis.call('HKEYS', KEYS[1])) do
  if tonumber(w) < tonumber(ARGV[2]) then redis.call('HDEL', KEYS[1], w) end
end
return {had_room and 1 or 0, hits, tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')}
"""


def _incr_cache(
    bucket: str, start: int, length: int, by: int, room: int, always: bool
) -> tuple[bool, int, int]:
    key, client = _cache_key(bucket)
    had_room, current, previous = client.eval(
        _INCR_IF_ROOM, 1, key, start, start - length, by, room, int(always), longest_wait(length)
    )
    return bool(had_room), int(current), int(previous)


def _window_start(now: float, length: int) -> int:
    return math.floor(Fraction(now) / length) * length


def _admitted_at(start: int, window: int, limit: int, cost: int, current: int, previous: int) -> Fraction:
    """The earliest time at which a hit of `cost` fits under `limit`, if no other hit comes, given
    this window's count (`current`, the window starting at `start`) and the previous one's."""
    if current + cost <= limit:
        # This window has room: wait for the previous window's weight to fall to it.
        room = limit - cost - current
        return Fraction(start) + (1 - Fraction(room, previous)) * window if previous else Fraction(start)
    if cost > limit or not current:
        return Fraction(start + 2 * window)  # never fits; say the longest a count can weigh
    # This window alone is full. In the next, its hits are the previous window's and weigh
    # (1 - elapsed): room comes back once that has fallen to limit - cost. (Waiting only for the
    # next window, as the wait said until 2026-12, met all of them there and was refused again.)
    return Fraction(start + window) + (1 - Fraction(limit - cost, current)) * window


def longest_wait(window: int) -> int:
    """The most whole seconds a refusal by a limit of `window` seconds can say to wait: a window's
    hits weigh until the next one ends. Also how long Redis keeps a bucket after its last write."""
    return max(1, math.ceil(2 * window / clock.scale()))


def _use_cache() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def hit(
    scope: str, key: str, *, limit: int, window: int, cost: int = 1, count_denied: bool = False
) -> Decision:
    """Count one event for (scope, key) and say whether it is within `limit` per `window` seconds.

    A denied hit is not counted unless `count_denied`, so a client that waits `retry_after` gets
    through; with it, hammering keeps a client locked out (for login attempts)."""
    return _decide(scope, key, limit=limit, window=window, cost=cost, count=True, count_denied=count_denied)


def peek(scope: str, key: str, *, limit: int, window: int, cost: int = 1) -> Decision:
    """What `hit` would decide, counting nothing: for a request that meets several limits and must
    count against one only once the others have let it through."""
    return _decide(scope, key, limit=limit, window=window, cost=cost, count=False, count_denied=False)


def _decide(
    scope: str, key: str, *, limit: int, window: int, cost: int, count: bool, count_denied: bool
) -> Decision:
    bucket = _bucket(scope, key)
    look, incr = (_look_cache, _incr_cache) if _use_cache() else (_look_db, _incr_db)
    try:
        now_read, current, previous = look(bucket, window)
        now = Fraction(now_read)  # exactly the float read: no rounding from here on
        start = _window_start(now_read, window)
        elapsed = (now - start) / window
        # The most hits this window may hold before this one for it to be let through.
        room = math.floor(limit - cost - previous * (1 - elapsed))
        allowed = current <= room
        if count and (allowed or count_denied):
            # Decided again in the step that counts (counting a refusal too with count_denied): a
            # concurrent hit may have taken the room since the look, and this one is then refused.
            allowed, current, previous = incr(bucket, start, window, cost, room, count_denied)
        elif not count and allowed:
            current += cost  # as if counted: the estimate after the hit it would let through
    except DatabaseError as e:
        if not is_read_only(e):
            raise
        log.warning("rate limit %s not counted: the database is read-only", scope)
        return Decision(True, 0.0, limit, 0)
    estimate = current + previous * (1 - elapsed)
    scale = Fraction(clock.scale())
    retry_after = 0
    if not allowed:
        # The counts are this hit's (after it, if it was counted): the next hit sees the same.
        wait = _admitted_at(start, window, limit, cost, current, previous) - now
        retry_after = max(1, math.ceil(wait / scale))
    # This window's hits weigh on the estimate until the next window ends, the previous window's
    # until this one does.
    free_at = start + 2 * window if current else start + window if previous else now
    reset = math.ceil((free_at - now) / scale)
    return Decision(allowed, float(estimate), limit, retry_after, reset)


def prune(older_than_days: int = 2) -> int:
    """Delete counters that can no longer matter (called by the worker's housekeeping)."""
    from paperfeed.core.models import RateCounter

    now = clock.wall() if _use_cache() else clock.db_wall()
    deleted, _ = RateCounter.objects.filter(window_start__lt=now - older_than_days * 86_400).delete()
    return deleted
