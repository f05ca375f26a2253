"""Scorer state in Redis: one Lua script call per poll batch, so replicas see one index.

Layout under ``P`` (the store's key prefix + ``scorer:``)::

    P seq                 counter: the order in which keys were first observed
    P seen                hash: member key → its recorded facts (JSON), for replays
    P seen:seq            zset: member key → seq (the newest ``flood_window`` are kept)
    P authors             hash: author → contributions observed
    P burst:<author>      zset: member key → creation time (ms), trimmed to the window
    P idx                 zset: indexed member key → seq (at most ``flood_window``)
    P mc                  hash: indexed member key → its cluster id ("" when none)
    P mb                  hash: indexed member key → its LSH band keys, space-separated
    P b:<band>            set: member keys with that band
    P v:<stem>            set: indexed versions of one contribution
    P c:<cluster>         zset: member key → seq

The script is the algorithm of :mod:`pipeline.store.scorer_state` (the SQLite implementation
is its other half; the contract suite holds them to the same answers). Redis runs a script
atomically, so two scorers' batches never interleave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import redis

from pipeline.store.base import StoreUnavailable
from pipeline.store.scorer_state import (
    Facts,
    Observation,
    ScorerLimits,
    ScorerState,
    facts_from_json,
)

_OBSERVE = """
local P = ARGV[1]
local window, min_size = tonumber(ARGV[2]), tonumber(ARGV[3])
local burst_ms = tonumber(ARGV[4])
local function stem_of(key) return string.match(key, '^(.*#)[^#]*$') or (key .. '#') end
local function drop(key)
  local cluster = redis.call('HGET', P .. 'mc', key)
  if not cluster then return end
  local bands = redis.call('HGET', P .. 'mb', key) or ''
  for band in string.gmatch(bands, '%S+') do redis.call('SREM', P .. 'b:' .. band, key) end
  redis.call('HDEL', P .. 'mc', key)
  redis.call('HDEL', P .. 'mb', key)
  redis.call('ZREM', P .. 'idx', key)
  redis.call('SREM', P .. 'v:' .. stem_of(key), key)
  if cluster ~= '' then redis.call('ZREM', P .. 'c:' .. cluster, key) end
end
local out = {}
local i = 5
while i <= #ARGV do
  local key, author = ARGV[i], ARGV[i + 1]
  local at, nb = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local bands = {}
  for j = 1, math.max(nb, 0) do bands[j] = ARGV[i + 3 + j] end
  i = i + 4 + math.max(nb, 0)
  local recorded = redis.call('HGET', P .. 'seen', key)
  if recorded then
    out[#out + 1] = recorded
  else
    local seq = redis.call('INCR', P .. 'seq')
    local prior = redis.call('HINCRBY', P .. 'authors', author, 1) - 1
    local bk = P .. 'burst:' .. author
    redis.call('ZADD', bk, at, key)
    redis.call('ZREMRANGEBYSCORE', bk, '-inf', '(' .. string.format('%d', at - burst_ms))
    local burst = redis.call('ZCOUNT', bk, string.format('%d', at - burst_ms), '+inf')
    redis.call('PEXPIRE', bk, burst_ms)
    local cluster, size, notify = '', 0, {}
    if nb >= 0 then
      local stem = stem_of(key)
      for _, old in ipairs(redis.call('SMEMBERS', P .. 'v:' .. stem)) do drop(old) end
      local found, neighbours = {}, {}
      for _, band in ipairs(bands) do
        for _, n in ipairs(redis.call('SMEMBERS', P .. 'b:' .. band)) do
          if not found[n] then
            found[n] = true
            neighbours[#neighbours + 1] = {n, tonumber(redis.call('ZSCORE', P .. 'idx', n))}
          end
        end
      end
      table.sort(neighbours, function(a, b) return a[2] < b[2] end)
      redis.call('ZADD', P .. 'idx', seq, key)
      redis.call('HSET', P .. 'mc', key, '')
      redis.call('HSET', P .. 'mb', key, table.concat(bands, ' '))
      redis.call('SADD', P .. 'v:' .. stem, key)
      for _, band in ipairs(bands) do redis.call('SADD', P .. 'b:' .. band, key) end
      if #neighbours > 0 then
        local clusters, listed = {}, {}
        local best, before = nil, 0
        for _, n in ipairs(neighbours) do
          local c = redis.call('HGET', P .. 'mc', n[1])
          n[3] = c
          if c ~= '' and not listed[c] then
            listed[c] = true
            clusters[#clusters + 1] = c
            local s = redis.call('ZCARD', P .. 'c:' .. c)
            if best == nil or s > before then best, before = c, s end
          end
        end
        if best then
          cluster = best
        else
          cluster = 'c-' .. string.sub(redis.sha1hex(neighbours[1][1]), 1, 8)
        end
        local joined = {}
        for _, n in ipairs(neighbours) do
          if n[3] == '' then joined[#joined + 1] = n[1] end
        end
        for _, c in ipairs(clusters) do
          if c ~= cluster then
            for _, m in ipairs(redis.call('ZRANGE', P .. 'c:' .. c, 0, -1)) do
              joined[#joined + 1] = m
            end
            redis.call('DEL', P .. 'c:' .. c)
          end
        end
        local ck = P .. 'c:' .. cluster
        for _, m in ipairs(joined) do
          redis.call('HSET', P .. 'mc', m, cluster)
          redis.call('ZADD', ck, redis.call('ZSCORE', P .. 'idx', m), m)
        end
        redis.call('HSET', P .. 'mc', key, cluster)
        redis.call('ZADD', ck, seq, key)
        size = redis.call('ZCARD', ck)
        if before < min_size and size >= min_size then
          for _, m in ipairs(redis.call('ZRANGE', ck, 0, -1)) do
            if m ~= key then notify[#notify + 1] = m end
          end
        else
          notify = joined
        end
      end
      local excess = redis.call('ZCARD', P .. 'idx') - window
      if excess > 0 then
        for _, old in ipairs(redis.call('ZRANGE', P .. 'idx', 0, excess - 1)) do drop(old) end
      end
    end
    local facts = cjson.encode({p = prior, u = burst, c = cluster, n = size, j = notify})
    redis.call('HSET', P .. 'seen', key, facts)
    redis.call('ZADD', P .. 'seen:seq', seq, key)
    local expired = redis.call('ZRANGEBYSCORE', P .. 'seen:seq', '-inf', seq - window)
    for _, k in ipairs(expired) do redis.call('HDEL', P .. 'seen', k) end
    if #expired > 0 then redis.call('ZREMRANGEBYSCORE', P .. 'seen:seq', '-inf', seq - window) end
    out[#out + 1] = facts
  end
end
return out
"""


class RedisScorerState(ScorerState):
    """Built from the Redis store's client (``RedisStore._redis``) and a key prefix."""

    def __init__(self, client: redis.Redis, prefix: str, limits: ScorerLimits) -> None:
        super().__init__(limits)
        self._redis = client
        self.prefix = prefix
        self._observe = client.register_script(_OBSERVE)

    def observe(self, observations: Sequence[Observation]) -> list[Facts]:
        if not observations:
            return []
        args: list[str | int] = [
            self.prefix,
            self.limits.flood_window,
            self.limits.flood_min_size,
            self.limits.burst_window_ms,
        ]
        for o in observations:
            bands = o.bands or ()
            args += [o.key, o.author, o.at_ms, -1 if o.bands is None else len(bands), *bands]
        try:
            recorded = self._observe(keys=[], args=args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"Redis unreachable: {exc}") from exc
        return [facts_from_json(doc) for doc in recorded]

    def members(self, cluster_id: str) -> tuple[str, ...]:
        try:
            keys = cast(list[bytes], self._redis.zrange(self.prefix + "c:" + cluster_id, 0, -1))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"Redis unreachable: {exc}") from exc
        return tuple(k.decode() for k in keys)
