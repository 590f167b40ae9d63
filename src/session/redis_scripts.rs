//! The Lua scripts of the Redis store, one per operation. Redis runs each
//! script atomically, which is what makes a lease, a version check and a
//! write one step.
//!
//! Keys (`<m>` is a session's store key as 16 raw bytes, the *member*):
//! `memsess:s:<m>` a session, a hash of `d` data, `c` created ms, `v`
//! version, `o` owner, `r` remembered (`1`), `l` label, `t` last use ms and
//! `p` its tier (`f`, `a` or `o`); `memsess:l:<m>` its lease;
//! `memsess:u:<owner>` an owner's set of members; and the tiers, sorted
//! sets `memsess:fresh`, `memsess:anon` and `memsess:owned` scored by when
//! each member expires, so that a full tier evicts the session closest to
//! its end (already expired ones first).
//!
//! Every clock reading is Redis's own `TIME`, so instances whose clocks
//! disagree still agree on idle times, deadlines and eviction order.
//! Redis 7 replicates a script's effects, which is what lets a script read
//! `TIME` before it writes; on Redis 5 and 6 `redis.replicate_commands()`
//! turns that on. A nil reply reads as `false` in Redis's Lua.

/// Shared helpers, prepended to the scripts that need them. `LIMITS` is
/// the position in ARGV of four numbers: idle and absolute ms, then the
/// remembered pair.
pub(super) const HELPERS: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- ms left for a session begun at `created` and last used `now`, by the
-- ordinary or the remembered pair of timeouts at ARGV[at..at+3].
local function left(created, remembered, now, at)
  if remembered == '1' then at = at + 2 end
  return math.min(tonumber(ARGV[at]), tonumber(created) + tonumber(ARGV[at + 1]) - now)
end
local function forget(prefix, member, owner)
  redis.call('DEL', prefix .. 's:' .. member)
  redis.call('ZREM', prefix .. 'fresh', member)
  redis.call('ZREM', prefix .. 'anon', member)
  redis.call('ZREM', prefix .. 'owned', member)
  if owner and owner ~= '' then redis.call('SREM', prefix .. 'u:' .. owner, member) end
end
-- Evicts the members of a tier past `cap`, soonest to expire first.
local function evict(prefix, tier, cap)
  local over = redis.call('ZCARD', prefix .. tier) - tonumber(cap)
  if over <= 0 then return end
  local victims = redis.call('ZPOPMIN', prefix .. tier, over)
  for i = 1, #victims, 2 do
    forget(prefix, victims[i], redis.call('HGET', prefix .. 's:' .. victims[i], 'o'))
  end
end
-- Ends `owner`'s least recently used sessions past `cap`, sparing `keep`.
local function cap_owner(prefix, owner, keep, cap)
  local index = prefix .. 'u:' .. owner
  local members = redis.call('SMEMBERS', index)
  if #members <= tonumber(cap) then return end
  local live = {}
  for _, m in ipairs(members) do
    if m ~= keep then
      local seen = redis.call('HGET', prefix .. 's:' .. m, 't')
      if seen then live[#live + 1] = {m, tonumber(seen)} else redis.call('SREM', index, m) end
    end
  end
  table.sort(live, function(a, b) return a[2] < b[2] end)
  for i = 1, #live + 1 - tonumber(cap) do forget(prefix, live[i][1], owner) end
end
-- Puts `member` in `tier` (scored by when it ends) and evicts past `cap`.
local function place(prefix, member, tier, ends, cap)
  local names = {f = 'fresh', a = 'anon', o = 'owned'}
  redis.call('ZADD', prefix .. names[tier], ends, member)
  redis.call('HSET', prefix .. 's:' .. member, 'p', tier)
  evict(prefix, names[tier], cap)
end
";

/// KEYS: record, lease. ARGV: 1 token, 2 lease ms, 3..6 limits, 7 member,
/// 8 prefix, 9 anonymous cap. Reply: `{'ok', d, c, o, v, r, l}`, `{'busy'}`
/// or `{'absent'}` (which leaves no lease behind).
pub(super) const ACQUIRE: &str = r"
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'busy'} end
local r = redis.call('HMGET', KEYS[1], 'd', 'c', 'o', 'v', 'r', 'l', 'p')
if not r[4] then redis.call('DEL', KEYS[2]) return {'absent'} end
local now = now_ms()
local ms = left(r[2], r[5], now, 3)
if ms <= 0 then
  forget(ARGV[8], ARGV[7], r[3])
  redis.call('DEL', KEYS[2])
  return {'absent'}
end
redis.call('PEXPIRE', KEYS[1], ms)
redis.call('HSET', KEYS[1], 't', now)
local tier = r[7]
if tier == 'f' then
  -- The client came back with the cookie: the session moves on.
  redis.call('ZREM', ARGV[8] .. 'fresh', ARGV[7])
  tier = 'a'
end
place(ARGV[8], ARGV[7], tier, now + ms, tier == 'a' and ARGV[9] or math.huge)
return {'ok', r[1], r[2], r[3] or '', r[4], r[5] or '', r[6] or ''}
";

/// Writes the record in ARGV into `rec`; `was` is the owner it had.
/// ARGV: 2 data, 3 created, 4 owner, 5 version, 6 remembered, 7 label,
/// 8..11 limits, 12 member, 13 prefix, then 14 fresh, 15 anonymous,
/// 16 owned and 17 per-user caps. Returns when it ends, or false if its
/// time is up.
pub(super) const WRITE: &str = r"
local function write(rec, was, now)
  local ms = left(ARGV[3], ARGV[6], now, 8)
  if ms <= 0 then return false end
  redis.call('HSET', rec, 'd', ARGV[2], 'c', ARGV[3], 'v', ARGV[5], 't', now)
  for field, value in pairs({o = ARGV[4], r = ARGV[6], l = ARGV[7]}) do
    if value == '' then redis.call('HDEL', rec, field) else redis.call('HSET', rec, field, value) end
  end
  redis.call('PEXPIRE', rec, ms)
  if was and was ~= ARGV[4] then redis.call('SREM', ARGV[13] .. 'u:' .. was, ARGV[12]) end
  if ARGV[4] ~= '' then
    local index = ARGV[13] .. 'u:' .. ARGV[4]
    redis.call('SADD', index, ARGV[12])
    -- The index outlives every session in it.
    redis.call('PEXPIRE', index, math.max(tonumber(ARGV[9]), tonumber(ARGV[11])))
  end
  return now + ms
end
local function owned_place(was, ends)
  place(ARGV[13], ARGV[12], 'o', ends, ARGV[16])
  if ARGV[4] ~= '' and was ~= ARGV[4] then cap_owner(ARGV[13], ARGV[4], ARGV[12], ARGV[17]) end
end
";

/// KEYS: record. ARGV: 1 expected version ('' = none), then as WRITE.
/// Returns 1 written, 0 gone, 2 conflict.
pub(super) const SAVE: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'o', 'p')
if ARGV[1] == '' then
  if cur[1] then return 2 end
elseif not cur[1] then
  return 0
elseif cur[1] ~= ARGV[1] then
  return 2
end
local ends = write(KEYS[1], cur[2], now_ms())
if not ends then forget(ARGV[13], ARGV[12], cur[2]) return 0 end
if ARGV[4] ~= '' or cur[3] == 'o' then
  if cur[3] and cur[3] ~= 'o' then
    redis.call('ZREM', ARGV[13] .. (cur[3] == 'f' and 'fresh' or 'anon'), ARGV[12])
  end
  owned_place(cur[2], ends)
elseif not cur[1] then
  place(ARGV[13], ARGV[12], 'f', ends, ARGV[14])
else
  place(ARGV[13], ARGV[12], cur[3], ends, math.huge)
end
return 1
";

/// KEYS: old record, new record. ARGV: 1 expected version, then as WRITE
/// (member is the new one), 18 old member. Returns 1 written, 0 gone,
/// 2 conflict; on 0 or 2 neither key changed.
pub(super) const ROTATE: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'o', 'p')
if not cur[1] then return 0 end
if cur[1] ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
local now = now_ms()
if left(ARGV[3], ARGV[6], now, 8) <= 0 then return 0 end
forget(ARGV[13], ARGV[18], cur[2])
local ends = write(KEYS[2], nil, now)
if ARGV[4] ~= '' or cur[3] == 'o' then
  owned_place(nil, ends)
else
  -- A rotated session has a client that came back.
  place(ARGV[13], ARGV[12], 'a', ends, ARGV[15])
end
return 1
";

/// KEYS: record. ARGV: member, prefix.
pub(super) const REMOVE: &str = r"
forget(ARGV[2], ARGV[1], redis.call('HGET', KEYS[1], 'o'))
return 1
";

/// KEYS: the owner's index. ARGV: prefix. Reply: member, created, last
/// use, remembered, label for each live session, flat; drops members
/// whose session has expired. Reads nothing that restarts a clock.
pub(super) const LIST: &str = r"
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local r = redis.call('HMGET', ARGV[1] .. 's:' .. m, 'c', 't', 'r', 'l')
  if r[1] then
    for _, v in ipairs({m, r[1], r[2] or r[1], r[3] or '', r[4] or ''}) do out[#out + 1] = v end
  else
    redis.call('SREM', KEYS[1], m)
  end
end
return out
";

/// KEYS: lease. ARGV: token.
pub(super) const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// KEYS: leases. ARGV: lease ms, then one token per lease. Extends each
/// lease that is still held by its token.
pub(super) const RENEW: &str = r"
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 0
";
