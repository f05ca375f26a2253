"""The Redis store (redis-py): production queue state.

Layout under ``key_prefix`` (``P``)::

    P item:<cid>                          hash: doc (JSON), revision, state, lang, pmember
    P applied:<event_id>                  idempotency record of an applied event
    P ids                                 zset (score 0): every contribution id, for export
    P idx:<state|all>:prio                zset: score priority, member "<inverted age>|<cid>"
    P idx:<state|all>:age                 zset: score created_at (ms), member cid
    P idx:<state|all>:lang:<lang>:prio    … the same per language ("und" when unknown)
    P idx:<state|all>:lang:<lang>:age
    P lease:<cid>                         moderator holding the item, with a TTL
    P cache:<namespace>:<key>             cached derived values (translations)

Every transition (item, indexes and idempotency record) is one Lua script, so it is atomic.
Scripts touch keys they compute from the prefix: run against one Redis (or a cluster slot via
a ``{hash tag}`` prefix), not a multi-slot cluster. Connection errors are retried with
exponential backoff, then surface as :class:`StoreUnavailable`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from pipeline.schemas.queue import QUEUE_STATES, QueueItem
from pipeline.store.base import Order, QueueStore, SaveResult, StoreUnavailable

T = TypeVar("T")

_SAVE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'duplicate' end
local rev = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if rev ~= tonumber(ARGV[3]) then return 'conflict' end
local p, cid = ARGV[1], ARGV[2]
local old = redis.call('HMGET', KEYS[1], 'state', 'lang', 'pmember')
if old[1] then
  for _, s in ipairs({old[1], 'all'}) do
    local base = p .. 'idx:' .. s
    redis.call('ZREM', base .. ':prio', old[3])
    redis.call('ZREM', base .. ':age', cid)
    redis.call('ZREM', base .. ':lang:' .. old[2] .. ':prio', old[3])
    redis.call('ZREM', base .. ':lang:' .. old[2] .. ':age', cid)
  end
end
redis.call('HSET', KEYS[1], 'doc', ARGV[4], 'revision', rev + 1, 'state', ARGV[5],
           'lang', ARGV[6], 'pmember', ARGV[9])
for _, s in ipairs({ARGV[5], 'all'}) do
  local base = p .. 'idx:' .. s
  redis.call('ZADD', base .. ':prio', ARGV[7], ARGV[9])
  redis.call('ZADD', base .. ':age', ARGV[8], cid)
  redis.call('ZADD', base .. ':lang:' .. ARGV[6] .. ':prio', ARGV[7], ARGV[9])
  redis.call('ZADD', base .. ':lang:' .. ARGV[6] .. ':age', ARGV[8], cid)
end
redis.call('ZADD', KEYS[3], 0, cid)
redis.call('SET', KEYS[2], '1')
return 'saved'
"""

_CLAIM = """
local current = redis.call('GET', KEYS[1])
if (not current) or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return current
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_UNKNOWN_LANGUAGE = "und"
_AGE_SPAN_MS = 10**15


def _unavailable(fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"Redis unreachable: {exc}") from exc

    return wrapper


class RedisStore(QueueStore):
    def __init__(self, url: str, *, key_prefix: str = "hemicycle:", retries: int = 6) -> None:
        self.prefix = key_prefix
        self._redis = redis.Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), retries),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=30,
        )
        self._save = self._redis.register_script(_SAVE)
        self._claim = self._redis.register_script(_CLAIM)
        self._release = self._redis.register_script(_RELEASE)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @staticmethod
    def _created_ms(item: QueueItem) -> int:
        return max(0, int(item.contribution.created_at.timestamp() * 1000))

    @_unavailable
    def ping(self) -> bool:
        return bool(self._redis.ping())

    @_unavailable
    def get(self, contribution_id: str) -> QueueItem | None:
        doc = self._redis.hget(self._key("item", contribution_id), "doc")
        return QueueItem.model_validate_json(doc) if doc else None

    @_unavailable
    def save(self, item: QueueItem, *, event_id: str, expected_revision: int) -> SaveResult:
        stored = item.model_copy(update={"revision": expected_revision + 1})
        cid = stored.contribution_id
        created = self._created_ms(stored)
        pmember = f"{_AGE_SPAN_MS - created:015d}|{cid}"
        result = self._save(
            keys=[self._key("item", cid), self._key("applied", event_id), self._key("ids")],
            args=[
                self.prefix,
                cid,
                expected_revision,
                stored.model_dump_json(),
                stored.state,
                stored.language_code or _UNKNOWN_LANGUAGE,
                stored.priority,
                created,
                pmember,
            ],
        )
        return SaveResult(result.decode() if isinstance(result, bytes) else result)

    @_unavailable
    def mark_applied(self, event_id: str) -> bool:
        return bool(self._redis.set(self._key("applied", event_id), "1", nx=True))

    @_unavailable
    def was_applied(self, event_id: str) -> bool:
        return bool(self._redis.exists(self._key("applied", event_id)))

    @_unavailable
    def list_items(
        self,
        *,
        state: str | None = None,
        language: str | None = None,
        order: Order = "priority",
        limit: int = 50,
        offset: int = 0,
    ) -> list[QueueItem]:
        base = self._key("idx", state or "all")
        if language is not None:
            base += f":lang:{language}"
        if order == "priority":
            members = self._redis.zrevrange(base + ":prio", offset, offset + limit - 1)
            ids = [m.decode().split("|", 1)[1] for m in members]
        else:
            ids = [
                m.decode() for m in self._redis.zrange(base + ":age", offset, offset + limit - 1)
            ]
        return self._load(ids)

    def _load(self, ids: list[str]) -> list[QueueItem]:
        if not ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for cid in ids:
            pipe.hget(self._key("item", cid), "doc")
        return [QueueItem.model_validate_json(doc) for doc in pipe.execute() if doc]

    @_unavailable
    def counts(self) -> dict[str, int]:
        pipe = self._redis.pipeline(transaction=False)
        for state in QUEUE_STATES:
            pipe.zcard(self._key("idx", state, "age"))
        return {s: n for s, n in zip(QUEUE_STATES, pipe.execute(), strict=True) if n}

    @_unavailable
    def iter_items(self) -> Iterator[QueueItem]:
        start, chunk = 0, 500
        while True:
            ids = [
                m.decode() for m in self._redis.zrange(self._key("ids"), start, start + chunk - 1)
            ]
            yield from self._load(ids)
            if len(ids) < chunk:
                return
            start += chunk

    @_unavailable
    def clear(self) -> None:
        cache = self._key("cache", "")
        batch: list[bytes] = []
        for key in self._redis.scan_iter(match=self.prefix + "*", count=1000):
            if not key.decode().startswith(cache):
                batch.append(key)
            if len(batch) >= 1000:
                self._redis.unlink(*batch)
                batch = []
        if batch:
            self._redis.unlink(*batch)

    @_unavailable
    def claim(self, contribution_id: str, holder: str, ttl_s: float) -> str:
        got = self._claim(
            keys=[self._key("lease", contribution_id)], args=[holder, max(1, int(ttl_s * 1000))]
        )
        return got.decode() if isinstance(got, bytes) else str(got)

    @_unavailable
    def release(self, contribution_id: str, holder: str) -> bool:
        return bool(self._release(keys=[self._key("lease", contribution_id)], args=[holder]))

    @_unavailable
    def lease_holder(self, contribution_id: str) -> str | None:
        holder = self._redis.get(self._key("lease", contribution_id))
        return holder.decode() if holder else None

    @_unavailable
    def cache_get(self, namespace: str, key: str) -> str | None:
        value = self._redis.get(self._key("cache", namespace, key))
        return value.decode() if value is not None else None

    @_unavailable
    def cache_set(self, namespace: str, key: str, value: str, ttl_s: float | None = None) -> None:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        self._redis.set(self._key("cache", namespace, key), value, px=px)

    def close(self) -> None:
        self._redis.close()
