"""The Redis store (redis-py): production queue state.

Layout under ``key_prefix`` (``P``)::

    P item:<cid>                          hash: doc (JSON), revision, state, lang, pmember
    P applied:<event_id>                  idempotency record of an applied event
    P ids                                 zset (score 0): every contribution id, for export
    P idx:<state|all>:prio                zset: score priority, member "<inverted age>|<inverted
                                          cid, hex>g" (ties: oldest, then lowest id, first)
    P idx:<state|all>:age                 zset: score created_at (ms), member cid
    P idx:<state|all>:lang:<lang>:prio    … the same per language ("und" when unknown)
    P idx:<state|all>:lang:<lang>:age
    P idx:<state|all>:pcid                zset: score priority, member cid (for intersections)
    P idx:<state|all>:f:<facet>:<value>   zset: score created_at, member cid (space, kind, …)
    P idx:<state|all>:cat:<category>      zset: score the category's value, member cid
    P tok:<word>                          zset: score created_at, member cid (free-text search:
                                          the words of ids, texts and translations)
    P audit                               stream: the append-only audit log
    P lease:<cid>                         moderator holding the item, with a TTL
    P cache:<namespace>:<key>             cached derived values (translations)

Every transition (item, indexes and idempotency record) is one Lua script, so it is atomic.
Scripts touch keys they compute from the prefix: run against one Redis (or a cluster slot via
a ``{hash tag}`` prefix), not a multi-slot cluster. Connection errors are retried with
exponential backoff, then surface as :class:`StoreUnavailable`.
"""

from __future__ import annotations

import functools
import heapq
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from pipeline.outage import KnownDown
from pipeline.schemas.queue import QUEUE_STATES, QueueItem
from pipeline.store.base import (
    UNKNOWN_LANGUAGE,
    Order,
    QueuePage,
    QueueQuery,
    QueueStore,
    SaveResult,
    StoreUnavailable,
    Write,
    item_categories,
    item_facets,
    item_search_text,
    search_tokens,
)
from pipeline.store.namespaces import Namespace

T = TypeVar("T")

_SAVE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 'duplicate' end
for i = 12, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. 'applied:' .. ARGV[i]) == 1 then return 'duplicate' end
end
local rev = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if rev ~= tonumber(ARGV[3]) then return 'conflict' end
local p, cid = ARGV[1], ARGV[2]
local old = redis.call('HMGET', KEYS[1], 'state', 'lang', 'pmember', 'facets')
if old[1] then
  local oldf = cjson.decode(old[4] or '{"f":{},"c":{}}')
  for _, s in ipairs({old[1], 'all'}) do
    local base = p .. 'idx:' .. s
    redis.call('ZREM', base .. ':prio', old[3])
    redis.call('ZREM', base .. ':age', cid)
    redis.call('ZREM', base .. ':lang:' .. old[2] .. ':prio', old[3])
    redis.call('ZREM', base .. ':lang:' .. old[2] .. ':age', cid)
    redis.call('ZREM', base .. ':pcid', cid)
    for name, value in pairs(oldf.f) do
      redis.call('ZREM', base .. ':f:' .. name .. ':' .. value, cid)
    end
    for cat, _ in pairs(oldf.c) do redis.call('ZREM', base .. ':cat:' .. cat, cid) end
  end
  for _, word in ipairs(oldf.t or {}) do redis.call('ZREM', p .. 'tok:' .. word, cid) end
end
local newf = cjson.decode(ARGV[10])
for _, word in ipairs(newf.t or {}) do redis.call('ZADD', p .. 'tok:' .. word, ARGV[8], cid) end
redis.call('HSET', KEYS[1], 'doc', ARGV[4], 'revision', ARGV[11], 'state', ARGV[5],
           'lang', ARGV[6], 'pmember', ARGV[9], 'facets', ARGV[10])
for _, s in ipairs({ARGV[5], 'all'}) do
  local base = p .. 'idx:' .. s
  redis.call('ZADD', base .. ':prio', ARGV[7], ARGV[9])
  redis.call('ZADD', base .. ':age', ARGV[8], cid)
  redis.call('ZADD', base .. ':lang:' .. ARGV[6] .. ':prio', ARGV[7], ARGV[9])
  redis.call('ZADD', base .. ':lang:' .. ARGV[6] .. ':age', ARGV[8], cid)
  redis.call('ZADD', base .. ':pcid', ARGV[7], cid)
  for name, value in pairs(newf.f) do
    redis.call('ZADD', base .. ':f:' .. name .. ':' .. value, ARGV[8], cid)
  end
  for cat, value in pairs(newf.c) do redis.call('ZADD', base .. ':cat:' .. cat, value, cid) end
end
redis.call('ZADD', KEYS[3], 0, cid)
redis.call('SET', KEYS[2], '1')
for i = 12, #ARGV do redis.call('SET', ARGV[1] .. 'applied:' .. ARGV[i], '1') end
return 'saved'
"""

# Intersect, per state, the order index with the filters' indexes (weight 0, so the score
# stays the order key), union the states, then read one page and the total. The priority order
# walks the groups of equal priority from the highest, each read oldest first (intersected with
# the age index; equal ages by id). Scratch keys are deleted before returning.
_QUERY = """
local p, order, off, lim, tmp = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local spec = cjson.decode(ARGV[6])
local scratch, parts = {}, {}
if spec.walk then
  -- Words only, in one state, each word in many items: intersecting would build sets as large
  -- as the state; instead walk the state's order index, keep the items holding every word
  -- until the page is full, and count the matches without storing them.
  local base = p .. 'idx:' .. spec.states[1]
  local words = {}
  for i, word in ipairs(spec.words) do words[i] = p .. 'tok:' .. word end
  local index, step = base .. ':age', 'ZRANGE'
  if order == 'priority' then index, step = base .. ':prio', 'ZREVRANGE' end
  if order == 'newest' then step = 'ZREVRANGE' end
  local page, skipped, pos, chunk = {}, 0, 0, 500
  while #page < lim do
    local members = redis.call(step, index, pos, pos + chunk - 1)
    if #members == 0 then break end
    for _, m in ipairs(members) do
      local cid = m
      if order == 'priority' then
        local tail = string.sub(m, string.find(m, '|', 1, true) + 1)
        if string.match(tail, '^[0-9a-f]*g$') then
          cid = string.gsub(string.sub(tail, 1, -2), '..', function(h)
            return string.char(255 - tonumber(h, 16))
          end)
        else
          cid = tail
        end
      end
      local all = true
      for _, key in ipairs(words) do
        if not redis.call('ZSCORE', key, cid) then all = false break end
      end
      if all then
        if skipped < off then skipped = skipped + 1 else page[#page + 1] = cid end
        if #page >= lim then break end
      end
    end
    pos = pos + chunk
  end
  local args = {1 + #words, base .. ':age'}
  for _, key in ipairs(words) do args[#args + 1] = key end
  table.insert(page, 1, redis.call('ZINTERCARD', unpack(args)))
  return page
end
for i, s in ipairs(spec.states) do
  local base = p .. 'idx:' .. s
  local keys = {}
  if order == 'priority' then keys[1] = base .. ':pcid' else keys[1] = base .. ':age' end
  for _, f in ipairs(spec.facets) do keys[#keys + 1] = base .. ':f:' .. f[1] .. ':' .. f[2] end
  if spec.langs and #spec.langs == 1 then
    keys[#keys + 1] = base .. ':lang:' .. spec.langs[1] .. ':age'
  elseif spec.langs then
    local k = tmp .. ':l:' .. i
    local args = {k, #spec.langs}
    for _, l in ipairs(spec.langs) do args[#args + 1] = base .. ':lang:' .. l .. ':age' end
    redis.call('ZUNIONSTORE', unpack(args))
    keys[#keys + 1] = k
    scratch[#scratch + 1] = k
  end
  for _, word in ipairs(spec.words or {}) do keys[#keys + 1] = p .. 'tok:' .. word end
  if spec.cat then
    local k = tmp .. ':c:' .. i
    redis.call('ZRANGESTORE', k, base .. ':cat:' .. spec.cat, spec.min, spec.max, 'BYSCORE')
    keys[#keys + 1] = k
    scratch[#scratch + 1] = k
  end
  if spec.after then
    local k = tmp .. ':a:' .. i
    redis.call('ZRANGESTORE', k, base .. ':age', spec.after, spec.before, 'BYSCORE')
    keys[#keys + 1] = k
    scratch[#scratch + 1] = k
  end
  local out = tmp .. ':s:' .. i
  local args = {out, #keys}
  for _, k in ipairs(keys) do args[#args + 1] = k end
  args[#args + 1] = 'WEIGHTS'
  for j = 1, #keys do args[#args + 1] = (j == 1) and 1 or 0 end
  redis.call('ZINTERSTORE', unpack(args))
  scratch[#scratch + 1] = out
  parts[#parts + 1] = out
end
local result = parts[1]
if #parts > 1 then
  local args = {tmp, #parts}
  for _, k in ipairs(parts) do args[#args + 1] = k end
  redis.call('ZUNIONSTORE', unpack(args))
  scratch[#scratch + 1] = tmp
  result = tmp
end
local total = redis.call('ZCARD', result)
local page = {}
if order == 'oldest' then
  page = redis.call('ZRANGE', result, off, off + lim - 1)
elseif order == 'newest' then
  page = redis.call('ZREVRANGE', result, off, off + lim - 1)
else
  local age, group, aged = p .. 'idx:all:age', tmp .. ':g', tmp .. ':ga'
  local pos, top = 0, '+inf'
  while #page < lim do
    local head = redis.call('ZREVRANGEBYSCORE', result, top, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if #head == 0 then break end
    local score = head[2]
    local n = redis.call('ZCOUNT', result, score, score)
    if pos + n > off then
      local from = math.max(0, off - pos)
      if n == 1 then
        page[#page + 1] = head[1]
      else
        local source = result
        if n < total then
          redis.call('ZRANGESTORE', group, result, score, score, 'BYSCORE')
          source = group
        end
        redis.call('ZINTERSTORE', aged, 2, source, age, 'WEIGHTS', 0, 1)
        for _, m in ipairs(redis.call('ZRANGE', aged, from, from + lim - #page - 1)) do
          page[#page + 1] = m
        end
        redis.call('DEL', group, aged)
      end
    end
    pos = pos + n
    top = '(' .. score
  end
end
redis.call('DEL', unpack(scratch))
table.insert(page, 1, total)
return page
"""

_CLAIM = """
local current = redis.call('GET', KEYS[1])
if (not current) or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return current
"""

# The first lease key free or already ARGV[1]'s is taken: its 1-based index, 0 if none.
_CLAIM_FIRST = """
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if (not current) or current == ARGV[1] then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    return i
  end
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_UNKNOWN_LANGUAGE = UNKNOWN_LANGUAGE
_CHUNK = 1000  # keys per MGET or pipeline of SETs
_AGE_SPAN_MS = 10**15
# A search whose rarest word is in at least this many items walks the order index instead.
WALK_ABOVE = 2_000
_INVERTED_ID = re.compile(r"[0-9a-f]*g")


def priority_member(created_ms: int, cid: str) -> str:
    """The priority index's member: a descending read gives the oldest, then the lowest id.

    The id's bytes are inverted (255 - b) and hex-encoded with a ``g`` terminator (greater than
    any hex digit), so byte order reverses exactly, prefixes included.
    """
    inverted = bytes(255 - b for b in cid.encode()).hex()
    return f"{_AGE_SPAN_MS - created_ms:015d}|{inverted}g"


def member_id(member: str) -> str:
    """The contribution id of a priority index member (either layout: old ones hold it plain)."""
    tail = member.split("|", 1)[1]
    if _INVERTED_ID.fullmatch(tail):
        return bytes(255 - b for b in bytes.fromhex(tail[:-1])).decode()
    return tail


def _members(reply: object) -> list[bytes]:
    """A sorted-set range reply as typed: its members, bytes (responses are not decoded)."""
    return cast(list[bytes], reply)


def _unavailable(fn: Callable[..., T]) -> Callable[..., T]:
    """Connection failures become :class:`StoreUnavailable`; while Redis is known down (a
    failure less than ``down_s`` ago) calls fail at once instead of waiting out timeouts."""

    @functools.wraps(fn)
    def wrapper(self: RedisStore, *args: Any, **kwargs: Any) -> T:
        reason = self.down.reason()
        if reason is not None:
            raise StoreUnavailable(f"Redis unreachable: {reason}")
        try:
            return fn(self, *args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.down.trip(exc)
            raise StoreUnavailable(f"Redis unreachable: {exc}") from exc

    return wrapper


class RedisStore(QueueStore):
    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "hemicycle:",
        retries: int = 3,
        connect_timeout_s: float = 1.0,
        down_s: float = 2.0,
    ) -> None:
        self.prefix = key_prefix
        # A blip (a failover, a dropped connection) is retried within about 0.35 s; a longer
        # outage surfaces as StoreUnavailable: the API answers 503, workers wait and retry.
        self._redis = redis.Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            socket_timeout=10,
            socket_connect_timeout=connect_timeout_s,
            health_check_interval=30,
        )
        self.down = KnownDown(down_s)
        self._save = self._redis.register_script(_SAVE)
        self._claim = self._redis.register_script(_CLAIM)
        self._release = self._redis.register_script(_RELEASE)
        self._claim_first = self._redis.register_script(_CLAIM_FIRST)
        self._query = self._redis.register_script(_QUERY)

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
    def get_many(self, contribution_ids: Iterable[str]) -> dict[str, QueueItem]:
        ids = list(dict.fromkeys(contribution_ids))
        pipe = self._redis.pipeline(transaction=False)
        for cid in ids:
            pipe.hget(self._key("item", cid), "doc")
        docs = pipe.execute()
        pairs = zip(ids, docs, strict=True)
        return {cid: QueueItem.model_validate_json(doc) for cid, doc in pairs if doc}

    @_unavailable
    def save(
        self,
        item: QueueItem,
        *,
        event_id: str,
        expected_revision: int,
        also_applied: Sequence[str] = (),
    ) -> SaveResult:
        return self.save_many([Write(item, event_id, expected_revision, also_applied)])[0]

    @_unavailable
    def save_many(self, writes: Sequence[Write]) -> list[SaveResult]:
        """One script call per item (each atomic), all in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for write in writes:
            self._save_call(pipe, write)
        return [SaveResult(r.decode() if isinstance(r, bytes) else r) for r in pipe.execute()]

    def _save_call(self, client: Any, write: Write) -> None:
        item, expected = write.item, write.expected_revision
        stored = item.model_copy(update={"revision": max(item.revision, expected + 1)})
        cid = stored.contribution_id
        created = self._created_ms(stored)
        pmember = priority_member(created, cid)
        self._save(
            keys=[self._key("item", cid), self._key("applied", write.event_id), self._key("ids")],
            args=[
                self.prefix,
                cid,
                expected,
                stored.model_dump_json(),
                stored.state,
                stored.language_code or _UNKNOWN_LANGUAGE,
                stored.priority,
                created,
                pmember,
                json.dumps(
                    {
                        "f": item_facets(stored),
                        "c": item_categories(stored),
                        "t": search_tokens(item_search_text(stored)),
                    }
                ),
                stored.revision,
                *write.also_applied,
            ],
            client=client,
        )

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
            members = _members(self._redis.zrevrange(base + ":prio", offset, offset + limit - 1))
            ids = [member_id(m.decode()) for m in members]
        else:
            ids = [
                m.decode()
                for m in _members(self._redis.zrange(base + ":age", offset, offset + limit - 1))
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
    def query(self, query: QueueQuery) -> QueuePage:
        states: list[str] = list(query.states) or ["all"]
        if not query.filtered:
            return self._query_states(states, query)

        def ms(value: datetime) -> int:
            return int(value.timestamp() * 1000)

        spec = {
            "states": states,
            "facets": [[k, v] for k, v in query.facets().items()],
            "langs": list(query.wanted_languages) or None,
            "words": query.words or None,
            "cat": query.category,
            "min": query.min_score,
            "max": query.max_score,
            "after": None,
            "before": None,
        }
        if query.created_after or query.created_before:
            spec["after"] = ms(query.created_after) if query.created_after else "-inf"
            spec["before"] = ms(query.created_before) if query.created_before else "+inf"
        spec["walk"] = self._walk_words(states, query) or None
        reply = self._query(
            args=[
                self.prefix,
                query.order,
                query.offset,
                query.limit,
                self._key("tmp", uuid.uuid4().hex),
                json.dumps({k: v for k, v in spec.items() if v is not None}),
            ]
        )
        return QueuePage(self._load([m.decode() for m in reply[1:]]), int(reply[0]))

    def _walk_words(self, states: list[str], query: QueueQuery) -> bool:
        """Whether a search is answered by walking the order index (see ``_QUERY``).

        Only words narrow one state, and even the rarest word is in many items: then a page is
        found within the first few hundred items walked, while intersecting would build sets as
        large as the state.
        """
        only_words = query.words and not (
            query.facets()
            or query.wanted_languages
            or query.category
            or query.created_after
            or query.created_before
        )
        if not only_words or len(states) != 1:
            return False
        pipe = self._redis.pipeline(transaction=False)
        for word in query.words:
            pipe.zcard(self._key("tok", word))
        return bool(min(pipe.execute()) >= WALK_ABOVE)

    def _query_states(self, states: list[str], query: QueueQuery) -> QueuePage:
        """Unfiltered: one state's index directly; several are merged from their heads."""
        end = query.offset + query.limit - 1
        if len(states) == 1:  # one index: read the page itself
            base = self._key("idx", states[0])
            pipe = self._redis.pipeline(transaction=False)
            if query.order == "priority":
                pipe.zrevrange(base + ":prio", query.offset, end)
            elif query.order == "oldest":
                pipe.zrange(base + ":age", query.offset, end)
            else:
                pipe.zrevrange(base + ":age", query.offset, end)
            pipe.zcard(base + ":age")
            members, total = pipe.execute()
            ids = [m.decode() for m in members]
            if query.order == "priority":
                ids = [member_id(m) for m in ids]
            return QueuePage(self._load(ids), total)
        pipe = self._redis.pipeline(transaction=False)
        for state in states:
            base = self._key("idx", state)
            if query.order == "priority":
                pipe.zrevrange(base + ":prio", 0, end, withscores=True)
            elif query.order == "oldest":
                pipe.zrange(base + ":age", 0, end, withscores=True)
            else:
                pipe.zrevrange(base + ":age", 0, end, withscores=True)
            pipe.zcard(base + ":age")
        replies = pipe.execute()
        heads, total = replies[0::2], sum(replies[1::2])
        rows = [(m.decode(), score) for head in heads for m, score in head]
        if query.order == "priority":  # as one ZREVRANGE would: score, then member, descending
            rows.sort(key=lambda r: (r[1], r[0]), reverse=True)
            ids = [member_id(member) for member, _ in rows]
        elif query.order == "oldest":
            ids = [m for m, _ in heapq.nsmallest(end + 1, rows, key=lambda r: (r[1], r[0]))]
        else:
            ids = [m for m, _ in heapq.nlargest(end + 1, rows, key=lambda r: (r[1], r[0]))]
        return QueuePage(self._load(ids[query.offset : end + 1]), total)

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
                m.decode()
                for m in _members(self._redis.zrange(self._key("ids"), start, start + chunk - 1))
            ]
            yield from self._load(ids)
            if len(ids) < chunk:
                return
            start += chunk

    @_unavailable
    def clear(self) -> None:
        cache, audit = self._key("cache", ""), self._key("audit")
        scorer = self._key("scorer", "")  # pipeline.store.scorer_state_redis: not a projection
        batch: list[bytes] = []
        for key in self._redis.scan_iter(match=self.prefix + "*", count=1000):
            name = key.decode()
            if not name.startswith((cache, scorer)) and name != audit:
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
    def claim_first(self, contribution_ids: Sequence[str], holder: str, ttl_s: float) -> int | None:
        if not contribution_ids:
            return None
        got = self._claim_first(
            keys=[self._key("lease", cid) for cid in contribution_ids],
            args=[holder, max(1, int(ttl_s * 1000))],
        )
        return int(got) - 1 if int(got) else None

    @_unavailable
    def release(self, contribution_id: str, holder: str) -> bool:
        return bool(self._release(keys=[self._key("lease", contribution_id)], args=[holder]))

    @_unavailable
    def lease_holder(self, contribution_id: str) -> str | None:
        holder = cast(bytes | None, self._redis.get(self._key("lease", contribution_id)))
        return holder.decode() if holder else None

    @_unavailable
    def audit_append(self, entry: str) -> str:
        entry_id = self._redis.xadd(self._key("audit"), {"entry": entry})
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    @_unavailable
    def audit_read(self, *, before: str | None = None, limit: int = 500) -> list[tuple[str, str]]:
        rows = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            self._redis.xrevrange(
                self._key("audit"), max=f"({before}" if before else "+", min="-", count=limit
            ),
        )
        return [(i.decode(), fields[b"entry"].decode()) for i, fields in rows]

    @_unavailable
    def cache_get(self, namespace: Namespace, key: str) -> str | None:
        value = cast(bytes | None, self._redis.get(self._key("cache", namespace, key)))
        return value.decode() if value is not None else None

    @_unavailable
    def cache_set(
        self, namespace: Namespace, key: str, value: str, ttl_s: float | None = None
    ) -> None:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        self._redis.set(self._key("cache", namespace, key), value, px=px)

    @_unavailable
    def cache_add(self, namespace: Namespace, key: str, value: str) -> str:
        name = self._key("cache", namespace, key)
        self._redis.set(name, value, nx=True)
        held = cast(bytes | None, self._redis.get(name))
        return held.decode() if held is not None else value

    @_unavailable
    def cache_clear(self, namespace: Namespace) -> None:
        batch: list[Any] = []
        for name in self._redis.scan_iter(match=self._key("cache", namespace, "*"), count=1000):
            batch.append(name)
            if len(batch) >= _CHUNK:
                self._redis.delete(*batch)
                batch = []
        if batch:
            self._redis.delete(*batch)

    @_unavailable
    def cache_delete(self, namespace: Namespace, keys: Iterable[str]) -> None:
        names = [self._key("cache", namespace, k) for k in keys]
        for start in range(0, len(names), _CHUNK):
            self._redis.delete(*names[start : start + _CHUNK])

    @_unavailable
    def cache_get_many(self, namespace: Namespace, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            values = cast(
                list[bytes | None],
                self._redis.mget([self._key("cache", namespace, k) for k in chunk]),
            )
            pairs = zip(chunk, values, strict=True)
            found.update((k, v.decode()) for k, v in pairs if v is not None)
        return found

    @_unavailable
    def cache_set_many(
        self, namespace: Namespace, items: Mapping[str, str], ttl_s: float | None = None
    ) -> None:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        pairs = list(items.items())
        for start in range(0, len(pairs), _CHUNK):
            pipe = self._redis.pipeline(transaction=False)
            for key, value in pairs[start : start + _CHUNK]:
                pipe.set(self._key("cache", namespace, key), value, px=px)
            pipe.execute()

    def close(self) -> None:
        self._redis.close()
