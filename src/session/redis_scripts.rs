//! The Lua scripts of the Redis store, one per operation. Redis runs each
//! script atomically, which is what makes a lease, a version check and a
//! write one step. Keys: `memsess:s:<hex>` a session (hash: `d` data, `c`
//! created ms, `o` owner, `v` version, `t` last seen ms), `memsess:l:<hex>`
//! its lease, `memsess:u:<owner>` an owner's set of members, and the sorted
//! sets `memsess:fresh` and `memsess:settled` (member: hex key, score: last
//! use in ms). A nil reply reads as `false` in Redis's Lua.

/// Evicts the least recently used members of sorted set `zset` past `cap`,
/// with their records and owner-index entries. Shared by the scripts.
pub(super) const EVICT: &str = r"
local function evict(prefix, zset, cap)
  local over = redis.call('ZCARD', zset) - tonumber(cap)
  if over <= 0 then return end
  local victims = redis.call('ZPOPMIN', zset, over)
  for i = 1, #victims, 2 do
    local rec = prefix .. 's:' .. victims[i]
    local owner = redis.call('HGET', rec, 'o')
    redis.call('DEL', rec)
    if owner then redis.call('SREM', prefix .. 'u:' .. owner, victims[i]) end
  end
end
local function ttl(created, now, idle, absolute)
  return math.min(tonumber(idle), tonumber(created) + tonumber(absolute) - tonumber(now))
end
local function settle(prefix, fresh, settled, member, now, cap)
  redis.call('ZREM', fresh, member)
  redis.call('ZADD', settled, now, member)
  evict(prefix, settled, cap)
end
";

/// KEYS: record, lease, fresh, settled.
/// ARGV: token, lease ms, now, idle ms, absolute ms, member, prefix, settled cap.
pub(super) const ACQUIRE: &str = r"
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'busy'} end
local r = redis.call('HMGET', KEYS[1], 'd', 'c', 'o', 'v')
if not r[4] then redis.call('DEL', KEYS[2]) return {'absent'} end
local left = ttl(r[2], ARGV[3], ARGV[4], ARGV[5])
if left <= 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {'absent'}
end
redis.call('PEXPIRE', KEYS[1], left)
redis.call('HSET', KEYS[1], 't', ARGV[3])
settle(ARGV[7], KEYS[3], KEYS[4], ARGV[6], ARGV[3], ARGV[8])
return {'ok', r[1], r[2], r[3] or '', r[4]}
";

/// Writes the record from ARGV into KEYS[1] and indexes it; `cur_owner` is
/// the owner it had. ARGV: 2 data, 3 created, 4 owner, 5 version, 6 now,
/// 7 idle, 8 absolute, 9 member, 10 prefix.
pub(super) const WRITE: &str = r"
local function write(rec, cur_owner)
  local left = ttl(ARGV[3], ARGV[6], ARGV[7], ARGV[8])
  if left <= 0 then return false end
  redis.call('HSET', rec, 'd', ARGV[2], 'c', ARGV[3], 'v', ARGV[5], 't', ARGV[6])
  if ARGV[4] == '' then redis.call('HDEL', rec, 'o') else redis.call('HSET', rec, 'o', ARGV[4]) end
  redis.call('PEXPIRE', rec, left)
  if cur_owner and cur_owner ~= ARGV[4] then redis.call('SREM', ARGV[10] .. 'u:' .. cur_owner, ARGV[9]) end
  if ARGV[4] ~= '' then
    local index = ARGV[10] .. 'u:' .. ARGV[4]
    redis.call('SADD', index, ARGV[9])
    redis.call('PEXPIRE', index, ARGV[8])
  end
  return true
end
";

/// KEYS: record, fresh, settled. ARGV: 1 expected version ('' = none),
/// then as WRITE, then 11 fresh cap, 12 settled cap.
/// Returns 1 written, 0 gone, 2 conflict.
pub(super) const SAVE: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'o')
if ARGV[1] == '' then
  if cur[1] then return 2 end
elseif not cur[1] then
  return 0
elseif cur[1] ~= ARGV[1] then
  return 2
end
if not write(KEYS[1], cur[2]) then return 0 end
if not cur[1] and ARGV[4] == '' then
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[9])
  evict(ARGV[10], KEYS[2], ARGV[11])
elseif ARGV[4] ~= '' or not redis.call('ZSCORE', KEYS[2], ARGV[9]) then
  settle(ARGV[10], KEYS[2], KEYS[3], ARGV[9], ARGV[6], ARGV[12])
end
return 1
";

/// KEYS: old record, new record, fresh, settled. ARGV: 1 expected version,
/// then as WRITE (member is the new one), 11 old member, 12 settled cap.
/// Returns 1 written, 0 gone, 2 conflict; on 0 or 2 neither key changed.
pub(super) const ROTATE: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'o')
if not cur[1] or ttl(ARGV[3], ARGV[6], ARGV[7], ARGV[8]) <= 0 then return 0 end
if cur[1] ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[11])
redis.call('ZREM', KEYS[4], ARGV[11])
if cur[2] then redis.call('SREM', ARGV[10] .. 'u:' .. cur[2], ARGV[11]) end
if not write(KEYS[2], nil) then return 0 end
settle(ARGV[10], KEYS[3], KEYS[4], ARGV[9], ARGV[6], ARGV[12])
return 1
";

/// KEYS: record, fresh, settled. ARGV: member, prefix.
pub(super) const REMOVE: &str = r"
local owner = redis.call('HGET', KEYS[1], 'o')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if owner then redis.call('SREM', ARGV[2] .. 'u:' .. owner, ARGV[1]) end
return 1
";

/// KEYS: lease. ARGV: token.
pub(super) const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";
