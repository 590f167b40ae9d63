//! The Lua scripts of the Redis store, one per operation. Redis runs each
//! script atomically, which is what makes a lease, a version check and a
//! write one step.
//!
//! Keys (`<m>` is a session's store key as 16 raw bytes, the *member*):
//! `memsess:s:<m>` a session, a hash of `d` data, `c` created ms, `v`
//! version, `o` owner, `r` remembered (`1`), `l` label, `t` last use ms,
//! `p` its tier (`f`, `a` or `o`), `e` when its expiry and tier score were
//! last set, `n` the origin (16 bytes) of a new session until its client
//! comes back, and, while a request holds its lease,
//! `k` the lease's token and `x` when the lease lapses (ms), and while a
//! request of another instance waits for it, `w` that request's token and
//! `y` when it last asked (ms);
//! `memsess:u:<owner>` an owner's set of members; the tiers, sorted
//! sets `memsess:fresh`, `memsess:anon` and `memsess:owned` scored by when
//! each member expires, so that a full tier evicts the session closest to
//! its end (already expired ones first); `memsess:f:<origin>` and
//! `memsess:a:<origin>`, the lists of the members one client address began
//! in the fresh and the anonymous tier, oldest first, for its share of
//! each; and `memsess:origins:f` and `memsess:origins:a`, sorted sets of
//! the addresses with such a list, by last arrival (or last look), which
//! keep the lists within about twice the tier's sessions; `memsess:over:f` and
//! `memsess:over:a`, sorted sets of the addresses whose list went past
//! their share, by when each last made way, so that while the tier is
//! crowded they take turns making way for everybody's arrivals.
//!
//! The lease lives in the session's own hash rather than a key of its own:
//! taking it is one more field in the write the load makes anyway, an
//! unknown session costs one read and no write, and Redis keeps no extra
//! key per request. A request costs Redis two scripts: the load (lease,
//! read, idle clock, tier) and, if it writes, the save; the release is a
//! two-command script whose reply nobody waits for.
//!
//! **Expiry with slack.** Redis keeps a session a little past its idle
//! timeout (a sixteenth of it, at most a minute): a load that comes within
//! that slack of the last refresh leaves the key's expiry and its tier
//! score alone and only records the use (`t`), which saves two of the
//! load's five commands for a session in steady use. Every read checks the
//! last use against the idle timeout, so a session is gone on time all the
//! same; the absolute deadline is never stretched; a tier evicts by scores
//! that may be that slack behind.
//!
//! What is the same for every call of a store (the key prefix, the
//! timeouts, the caps) is written into the scripts' text when the store is
//! made ([`preamble`]), so a call carries only what changes: Redis builds a
//! Lua string for every argument of every call.
//!
//! Every clock reading is Redis's own `TIME`, so instances whose clocks
//! disagree still agree on idle times, deadlines, eviction order and when
//! a lease lapses. Redis 7 replicates only a script's effects, which is
//! what lets a script read `TIME` before it writes; the scripts call
//! `redis.replicate_commands()` where it exists, which asks for the same
//! on Redis 6.2, the oldest the scripts run on (a share's queue is
//! checked with `ZMSCORE`). A nil reply reads as `false` in Redis's Lua.

use std::time::Duration;

use super::limits::Limits;

/// The constants of one store, as Lua, put before each of its scripts:
/// `P` the key prefix, the four timeouts in ms, the slack of each idle
/// timeout, `LEASE` how long a lease lasts unrenewed, `WAITED` how long a
/// waiting request keeps its place in line without asking again, `CAP` each tier's
/// cap, `PER_USER` the sessions one owner may hold, and `SHARE` and
/// `RSHARE` the sessions one client address may hold in the fresh and the
/// anonymous tier once that tier is `CROWDED` ([`Limits::crowded_at`]).
pub(super) fn preamble(prefix: &str, limits: &Limits, lease: Duration, waited: Duration) -> String {
    let ms = |d: Duration| d.as_millis() as u64;
    let slack = |idle: Duration| (ms(idle) / 16).min(60_000);
    let tiers = limits.tiers();
    format!(
        "local P = '{prefix}'\n\
         local IDLE, ABS, RIDLE, RABS = {}, {}, {}, {}\n\
         local SLACK, RSLACK = {}, {}\n\
         local LEASE, WAITED = {}, {}\n\
         local CAP = {{f = {}, a = {}, o = {}}}\n\
         local CROWDED = {{f = {}, a = {}}}\n\
         local PER_USER, SHARE, RSHARE = {}, {}, {}\n",
        ms(limits.idle),
        ms(limits.absolute),
        ms(limits.remember_idle),
        ms(limits.remember_absolute),
        slack(limits.idle),
        slack(limits.remember_idle),
        ms(lease),
        ms(waited),
        tiers.fresh,
        tiers.anonymous,
        tiers.owned,
        Limits::crowded_at(tiers.fresh),
        Limits::crowded_at(tiers.anonymous),
        limits.max_sessions_per_user,
        limits.fresh_per_origin(),
        limits.returning_per_origin(),
    )
}

/// Shared helpers, after the preamble and before each script that needs
/// them.
pub(super) const HELPERS: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local NAMES = {f = 'fresh', a = 'anon', o = 'owned'}
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- The member in a session's key.
local function member(key) return string.sub(key, #P + 3) end
-- ms left for a session begun at `created` and last used `now`, by the
-- ordinary or the remembered pair of timeouts.
local function left(created, remembered, now)
  if remembered == '1' then return math.min(RIDLE, tonumber(created) + RABS - now) end
  return math.min(IDLE, tonumber(created) + ABS - now)
end
-- Whether a session last used at `seen` has idled out by `now`.
local function idled(seen, remembered, now)
  return seen and now - tonumber(seen) >= (remembered == '1' and RIDLE or IDLE)
end
-- How long Redis keeps a session used `now`: its idle timeout and slack,
-- never past its absolute deadline.
local function keep(created, remembered, now)
  if remembered == '1' then return math.min(RIDLE + RSLACK, tonumber(created) + RABS - now) end
  return math.min(IDLE + SLACK, tonumber(created) + ABS - now)
end
-- Deletes a session: its hash, its place in `tier` (`''` if it has none,
-- false if not known: all three) and in its owner's index.
local function forget(m, owner, tier)
  redis.call('DEL', P .. 's:' .. m)
  if tier then
    if tier ~= '' then redis.call('ZREM', P .. NAMES[tier], m) end
  else
    for _, name in pairs(NAMES) do redis.call('ZREM', P .. name, m) end
  end
  if owner and owner ~= '' then redis.call('SREM', P .. 'u:' .. owner, m) end
end
-- Evicts the members of a tier past its cap, soonest to expire first;
-- `count` is how many it holds, if the caller has just counted them.
local function evict(tier, count)
  local over = (count or redis.call('ZCARD', P .. NAMES[tier])) - CAP[tier]
  if over <= 0 then return end
  local victims = redis.call('ZPOPMIN', P .. NAMES[tier], over)
  for i = 1, #victims, 2 do
    forget(victims[i], redis.call('HGET', P .. 's:' .. victims[i], 'o'), '')
  end
end
-- Takes up to 16 members off the front of an address's `queue` of `len`
-- in `tier` (sorted set `zset`): those that left the tier, and, while the
-- tier is `crowded`, live ones for as long as more than `share` remain,
-- each forgotten. Returns the queue's new length and how many made way.
-- The front is read in one command, checked in one (ZMSCORE, Redis 6.2)
-- and cut in one: a member at a time (LINDEX, ZSCORE, LPOP) made the
-- sweep that clears departed members on every eighth arrival about a
-- sixth of all the commands Redis ran.
-- A queue over its share first loses the members among its first 16
-- that left, not only those at its very front, so that a session that
-- stays does not keep those behind it counted toward the share (as in
-- `shares.rs`); the live ones before the last dropped are put back, in
-- their order. `share` is at least 16 (`Limits`), so a queue over it is
-- longer than the 16 read, and the cut never empties it (an emptied list
-- would come back from LPUSH without its expiry).
local function make_way(queue, zset, tier, len, share, crowded)
  local front = redis.call('LRANGE', queue, 0, 15)
  if #front == 0 then return len, 0 end
  local scores = redis.call('ZMSCORE', zset, unpack(front))
  local past, live, met, seen = len > share, {}, {}, 0
  for i, m in ipairs(front) do
    seen = i
    -- A member queued twice (never expected) counts once.
    live[i] = scores[i] ~= false and not met[m]
    met[m] = true
    if live[i] and not past then break end
    if not live[i] then len = len - 1 end
  end
  local kept, cut, gone = {}, 0, 0
  for i = 1, seen do
    if live[i] then
      if crowded and len > share then
        forget(front[i], nil, tier)
        gone, len, cut = gone + 1, len - 1, i
      else
        kept[#kept + 1] = i
      end
    else
      cut = i
    end
  end
  if cut > 0 then
    redis.call('LTRIM', queue, cut, -1)
    local back = {}
    for j = #kept, 1, -1 do
      if kept[j] < cut then back[#back + 1] = front[kept[j]] end
    end
    if #back > 0 then redis.call('LPUSH', queue, unpack(back)) end
  end
  return len, gone
end
-- Member `m`, a session that client address `origin` began and that just
-- joined `tier`, which now holds `count` sessions, joins that address's
-- queue for the tier (oldest first). While the tier is crowded, the
-- address's own oldest sessions still in it make way, up to 16 a call,
-- until it holds no more than `share`; below that, nobody does (see the
-- memory store's `shares.rs`). Returns how many sessions made way.
local function take_share(origin, tier, m, share, now, count)
  local queue, zset = P .. tier .. ':' .. origin, P .. NAMES[tier]
  -- The addresses with a queue, by last arrival (or last look). Past the
  -- tier's size, a new one has the two least recently seen looked at: one
  -- whose queue holds no session still in the tier goes (the first only,
  -- unless there are twice the tier's size of them); one that does is
  -- cleared of those that left, kept, and goes to the back. Were its
  -- queue dropped, its sessions would count toward no share, and its
  -- next arrivals would take a new one (the memory store never forgets
  -- an address with a session in the tier). As in `shares.rs`, whose
  -- sweep this is, the addresses kept stay within about twice the tier:
  -- those with a session in it (no more than it holds), and those yet to
  -- be looked at.
  local seen, over = P .. 'origins:' .. tier, P .. 'over:' .. tier
  local known = redis.call('ZADD', seen, now, origin) == 1 and redis.call('ZCARD', seen)
  if known and known > CAP[tier] then
    local drops = known > 2 * CAP[tier] and 2 or 1
    for _, other in ipairs(redis.call('ZRANGE', seen, 0, 1)) do
      if other ~= origin then
        local theirs = P .. tier .. ':' .. other
        local front, departed = redis.call('LRANGE', theirs, 0, 15), 0
        for _, k in ipairs(front) do
          if redis.call('ZSCORE', zset, k) then break end
          departed = departed + 1
        end
        if departed == #front and departed < 16 then
          -- All of it left the tier.
          if departed > 0 then redis.call('DEL', theirs) end
          redis.call('ZREM', seen, other)
          redis.call('ZREM', over, other)
          drops = drops - 1
          if drops == 0 then break end
        else
          if departed > 0 then redis.call('LTRIM', theirs, departed, -1) end
          redis.call('ZADD', seen, now, other)
        end
      end
    end
  end
  local len = redis.call('RPUSH', queue, m)
  -- The queue lasts as long as its members can stay in the tier: a new
  -- session leaves the fresh tier within its idle timeout, but one that
  -- came back lives on while it is used, up to its absolute timeout.
  -- Were the queue to expire first, those sessions would count toward no
  -- share, and an address that keeps them in use would take a new share
  -- with each idle timeout.
  redis.call('PEXPIRE', queue, tier == 'a' and math.max(ABS, RABS) or IDLE)
  local crowded, gone = count >= CROWDED[tier], 0
  -- While the tier has room nobody makes way, and sessions that left it
  -- (moved on, or ended) are cleared off the front on every eighth
  -- arrival only: a queue carries a few of them, and most arrivals cost
  -- three commands fewer. A queue past the tier's size is brought back
  -- towards it by every arrival (below), so its length no longer counts
  -- arrivals: it is cleared on each.
  if crowded or len % 8 == 0 or len > CAP[tier] then
    -- At most 16 off the front per call, so no script runs long: sessions
    -- that left the tier, and while it is crowded, the address's oldest
    -- past its share.
    len, gone = make_way(queue, zset, tier, len, share, crowded)
  end
  -- A queue longer than the tier holds members that left it, behind live
  -- ones at the front: the live ones go to the back (never out: a member
  -- dropped while in the tier would never make way), up to 16 a call,
  -- and the first member that left goes (as in `shares.rs`).
  if len > CAP[tier] then
    for _ = 1, 16 do
      local oldest = redis.call('LPOP', queue)
      if not oldest then break end
      if oldest ~= m and not redis.call('ZSCORE', zset, oldest) then break end
      redis.call('RPUSH', queue, oldest)
    end
  end
  -- An address over its share is listed (by when it last made way, so
  -- they take turns; only addresses the origins: set holds).
  -- While the tier is crowded, each arrival makes the first listed
  -- address other than its own make way too, up to 16 (as in
  -- `shares.rs`): one that took the room while the tier had it and then
  -- stopped arriving would otherwise keep it while others fill the tier,
  -- until the tier's own eviction took anybody's session.
  if len > share then redis.call('ZADD', over, 'NX', now, origin) end
  if crowded then
    local other = redis.call('ZRANGE', over, 0, 0)[1]
    if other and other ~= origin then
      local theirs = P .. tier .. ':' .. other
      -- First the members at the back that left the tier (visitors who
      -- came back or signed in since): the length counts them, and an
      -- address must not make way for sessions it no longer has.
      for _ = 1, 16 do
        local newest = redis.call('LINDEX', theirs, -1)
        if not newest or redis.call('ZSCORE', zset, newest) then break end
        redis.call('RPOP', theirs)
      end
      local held = redis.call('LLEN', theirs)
      local made
      held, made = make_way(theirs, zset, tier, held, share, true)
      gone = gone + made
      if held > share then redis.call('ZADD', over, now, other) else redis.call('ZREM', over, other) end
    elseif other then
      if len > share then redis.call('ZADD', over, now, origin) else redis.call('ZREM', over, origin) end
    end
  end
  return gone
end
-- Ends `owner`'s least recently used sessions past PER_USER, sparing `keep`.
local function cap_owner(owner, keep)
  local index = P .. 'u:' .. owner
  local members = redis.call('SMEMBERS', index)
  if #members <= PER_USER then return end
  local live = {}
  for _, m in ipairs(members) do
    if m ~= keep then
      local seen = redis.call('HGET', P .. 's:' .. m, 't')
      if seen then live[#live + 1] = {m, tonumber(seen)} else redis.call('SREM', index, m) end
    end
  end
  table.sort(live, function(a, b) return a[2] < b[2] end)
  for i = 1, #live + 1 - PER_USER do forget(live[i][1], owner, 'o') end
end
";

/// KEYS: record. ARGV: 1 token, 2 the token of a lease this process gave
/// back but has not told Redis of yet (`''`: none), which this request
/// may take over. A request that finds the lease held by another waits
/// its turn here, as `w`: while it keeps asking, nobody else takes the
/// lease, not even over a token given back, so that the requests of one
/// process, which hand a session to each other in the process, cannot
/// keep another instance's request out until it gives up. A waiter that
/// stops asking (cancelled, or its process died) holds nobody up past
/// `WAITED` ms. Reply: `busy`, `absent`, or the record in one string
/// (one reply to parse, not seven): `<c> <v> <r> <owner length> <label
/// length> ` and then owner, label and data, back to back. Takes the lease, restarts the idle clock and moves the
/// session's tier score along; a session whose client came back leaves the
/// fresh tier, and joins its origin's share of the anonymous tier.
pub(super) const ACQUIRE: &str = r"
local r = redis.call('HMGET', KEYS[1], 'd', 'c', 'o', 'v', 'r', 'l', 'p', 'k', 'x', 't', 'e', 'n', 'w', 'y')
if not r[4] then return 'absent' end
local now = now_ms()
-- Held by another request, unless it is this one's own token (a retry
-- after a dropped connection) or one this process gave back.
local held = r[8] and r[8] ~= ARGV[1] and r[8] ~= ARGV[2] and tonumber(r[9]) > now
-- Another request waits for its turn, and asked lately. (A waiter that
-- stopped waiting is cleared by the release of its token, or goes stale.)
local waiting = r[13] and r[13] ~= ARGV[1] and now - tonumber(r[14]) < WAITED
-- Behind it, unless this request's own token holds the lease already: a
-- load sent again after its reply was lost takes its lease back.
local queued = waiting and r[8] ~= ARGV[1]
if held or queued then
  if not queued then redis.call('HSET', KEYS[1], 'w', ARGV[1], 'y', now) end
  return 'busy'
end
if r[13] and not waiting then redis.call('HDEL', KEYS[1], 'w', 'y') end
local m = member(KEYS[1])
if left(r[2], r[5], now) <= 0 or idled(r[10], r[5], now) then
  forget(m, r[3], r[7])
  return 'absent'
end
local tier = r[7] or 'a'
local slack = r[5] == '1' and RSLACK or SLACK
local refresh = tier == 'f' or not r[11] or now - tonumber(r[11]) >= slack
if tier == 'f' then
  -- The client came back with the cookie: the session moves on.
  redis.call('HSET', KEYS[1], 'k', ARGV[1], 'x', now + LEASE, 't', now, 'e', now, 'p', 'a')
  if r[12] then redis.call('HDEL', KEYS[1], 'n') end
  redis.call('ZREM', P .. 'fresh', m)
  tier = 'a'
elseif refresh then
  redis.call('HSET', KEYS[1], 'k', ARGV[1], 'x', now + LEASE, 't', now, 'e', now)
else
  redis.call('HSET', KEYS[1], 'k', ARGV[1], 'x', now + LEASE, 't', now)
end
if refresh then
  local ms = keep(r[2], r[5], now)
  redis.call('PEXPIRE', KEYS[1], ms)
  -- Only a member new to its tier can take the tier past its cap.
  if redis.call('ZADD', P .. NAMES[tier], now + ms, m) == 1 and tier == 'a' then
    local count = redis.call('ZCARD', P .. 'anon')
    -- A returning visitor: its address's share of the anonymous tier.
    if r[7] == 'f' and r[12] then count = count - take_share(r[12], 'a', m, RSHARE, now, count) end
    evict('a', count)
  end
end
local owner, label = r[3] or '', r[6] or ''
return table.concat({r[2], r[4], r[5] == '1' and '1' or '0', #owner, #label, owner .. label .. r[1]}, ' ')
";

/// Writes the record in ARGV (2 data, 3 created, 4 owner, 5 version,
/// 6 remembered, 7 label) into `rec`, member `m`, in `tier`, with its idle
/// clock restarted; `existed` if `rec` was there, `was` the owner it had.
/// Returns when it ends, or false if its time is up. The caller puts it in
/// its tier's sorted set.
pub(super) const WRITE: &str = r"
local function write(rec, m, existed, was, now, tier)
  if left(ARGV[3], ARGV[6], now) <= 0 then return false end
  local ms = keep(ARGV[3], ARGV[6], now)
  local set, unset = {'d', ARGV[2], 'c', ARGV[3], 'v', ARGV[5], 't', now, 'e', now, 'p', tier}, {}
  -- A new session keeps its client's origin until the client comes back.
  if tier == 'f' and (ARGV[8] or '') ~= '' then
    set[#set + 1] = 'n'
    set[#set + 1] = ARGV[8]
  end
  for _, field in ipairs({{'o', ARGV[4]}, {'r', ARGV[6]}, {'l', ARGV[7]}}) do
    if field[2] ~= '' then
      set[#set + 1] = field[1]
      set[#set + 1] = field[2]
    else
      unset[#unset + 1] = field[1]
    end
  end
  redis.call('HSET', rec, unpack(set))
  if existed and #unset > 0 then redis.call('HDEL', rec, unpack(unset)) end
  redis.call('PEXPIRE', rec, ms)
  if was and was ~= ARGV[4] then redis.call('SREM', P .. 'u:' .. was, m) end
  if ARGV[4] ~= '' then
    local index = P .. 'u:' .. ARGV[4]
    redis.call('SADD', index, m)
    -- The index outlives every session in it.
    redis.call('PEXPIRE', index, math.max(ABS, RABS))
  end
  return now + ms
end
";

/// KEYS: record. ARGV: 1 expected version (`''`: none, a new session),
/// then as WRITE, then 8 the origin of a new session (16 bytes, or `''`).
/// Returns 1 written, 0 gone, 2 conflict.
///
/// A new session of a known origin keeps it (`n`) and joins that
/// address's queue (`memsess:f:<origin>`, oldest first); past SHARE, the
/// address's own oldest new sessions make way (see `origin.rs`).
///
/// A save of a loaded session that keeps its owner and its timeouts only
/// writes the data and the version: the load restarted the idle clock and
/// placed the session in its tier moments before, so there is nothing
/// else to move.
pub(super) const SAVE: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'o', 'p', 'r', 'l')
if ARGV[1] == '' then
  if cur[1] then return 2 end
elseif not cur[1] then
  return 0
elseif cur[1] ~= ARGV[1] then
  return 2
end
if cur[1] and (cur[2] or '') == ARGV[4] and (cur[4] or '') == ARGV[6] then
  if (cur[5] or '') == ARGV[7] then
    redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', ARGV[5])
  elseif ARGV[7] == '' then
    redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', ARGV[5])
    redis.call('HDEL', KEYS[1], 'l')
  else
    redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', ARGV[5], 'l', ARGV[7])
  end
  return 1
end
local m = member(KEYS[1])
local tier = cur[3] or 'a'
if ARGV[4] ~= '' or cur[3] == 'o' then tier = 'o' elseif not cur[1] then tier = 'f' end
local now = now_ms()
local ends = write(KEYS[1], m, cur[1], cur[2], now, tier)
if not ends then forget(m, cur[2], cur[3]) return 0 end
if cur[3] and cur[3] ~= tier then redis.call('ZREM', P .. NAMES[cur[3]], m) end
if redis.call('ZADD', P .. NAMES[tier], ends, m) == 1 then
  local count = redis.call('ZCARD', P .. NAMES[tier])
  -- An address over its share of a crowded tier makes way first.
  if tier == 'f' and (ARGV[8] or '') ~= '' then
    count = count - take_share(ARGV[8], 'f', m, SHARE, now, count)
  end
  evict(tier, count)
end
if tier == 'o' and ARGV[4] ~= '' and cur[2] ~= ARGV[4] then cap_owner(ARGV[4], m) end
return 1
";

/// KEYS: old record, new record. ARGV: 1 expected version, then as WRITE.
/// Returns 1 written, 0 gone, 2 conflict; on 0 or 2 neither key changed.
pub(super) const ROTATE: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'o', 'p')
if not cur[1] then return 0 end
if cur[1] ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
local now = now_ms()
if left(ARGV[3], ARGV[6], now) <= 0 then return 0 end
forget(member(KEYS[1]), cur[2], cur[3])
local m = member(KEYS[2])
-- A rotated session has a client that came back: at least anonymous.
local tier = (ARGV[4] ~= '' or cur[3] == 'o') and 'o' or 'a'
local ends = write(KEYS[2], m, false, nil, now, tier)
redis.call('ZADD', P .. NAMES[tier], ends, m)
evict(tier)
if tier == 'o' and ARGV[4] ~= '' then cap_owner(ARGV[4], m) end
return 1
";

/// KEYS: record.
pub(super) const REMOVE: &str = r"
local r = redis.call('HMGET', KEYS[1], 'o', 'p')
forget(member(KEYS[1]), r[1], r[2])
return 1
";

/// KEYS: the owner's index. Reply: member, created, last use, remembered,
/// label for each live session, flat; drops members whose session has
/// expired, and skips those idle past their timeout that Redis still
/// keeps for the slack. Reads nothing that restarts a clock.
pub(super) const LIST: &str = r"
local out = {}
local now = now_ms()
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local r = redis.call('HMGET', P .. 's:' .. m, 'c', 't', 'r', 'l')
  if r[1] and idled(r[2], r[3], now) then
    -- Gone for every reader; Redis drops it within the slack.
  elseif r[1] then
    for _, v in ipairs({m, r[1], r[2] or r[1], r[3] or '', r[4] or ''}) do out[#out + 1] = v end
  else
    redis.call('SREM', KEYS[1], m)
  end
end
return out
";

/// KEYS: records. ARGV: one token per record. Gives each lease back if
/// that token still holds it (a lease that lapsed and was taken by another
/// request is theirs), and a place in line if that token still has it (a
/// waiting request that was cancelled or gave up).
pub(super) const RELEASE: &str = r"
for i, key in ipairs(KEYS) do
  local held = redis.call('HMGET', key, 'k', 'w')
  if held[1] == ARGV[i] then redis.call('HDEL', key, 'k', 'x') end
  if held[2] == ARGV[i] then redis.call('HDEL', key, 'w', 'y') end
end
return 0
";

/// KEYS: records. ARGV: lease ms, then one token per record. Extends each
/// lease that is still held by its token.
pub(super) const RENEW: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local lapses = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'k') == ARGV[i + 1] then redis.call('HSET', key, 'x', lapses) end
end
return 0
";
