//! The Lua scripts of the Redis account store. Redis runs each one
//! atomically, so each operation is one step for every instance.
//!
//! Keys (`memsess:a:` prefix): `u:<name>` a hash (`h` the PHC string, `c`
//! created ms); `o:<name>` a hash of order id to order JSON; `c:<hex>` an
//! attempt counter (an integer with a TTL); `device-key`.

/// KEYS: account, orders. ARGV: hash, created ms. 1 created, 0 taken.
/// Orders left under the name (a demo user's) go in the same step.
pub(super) const CREATE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'c', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
"#;

/// KEYS: account. ARGV: new hash, expected hash. 1 changed (or changed
/// already: a retry whose first try went through), 0 no such account, 2
/// the hash is no longer the expected one (nothing changed).
pub(super) const SET_PASSWORD: &str = r#"
local current = redis.call('HGET', KEYS[1], 'h')
if not current then return 0 end
if current == ARGV[1] then return 1 end
if current ~= ARGV[2] then return 2 end
redis.call('HSET', KEYS[1], 'h', ARGV[1])
return 1
"#;

/// KEYS: account, orders. ARGV: expected hash. 1 deleted, 0 no such
/// account, 2 the hash is no longer the expected one (nothing deleted).
pub(super) const DELETE: &str = r#"
local current = redis.call('HGET', KEYS[1], 'h')
if not current then return 0 end
if current ~= ARGV[1] then return 2 end
redis.call('DEL', KEYS[2], KEYS[1])
return 1
"#;

/// KEYS: account, orders. ARGV: order id, order JSON, "1" for a demo
/// user (who has no account key), the most orders an account keeps.
/// 1 stored (or stored already: a retry), 0 no such account, 2 the
/// account holds as many orders as it may.
pub(super) const ADD_ORDER: &str = r#"
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 1 end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return 2 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"#;

/// KEYS: the counters. ARGV: limit and window ms of each, in turn.
/// All or nothing: if any counter is at its limit, returns the ms left in
/// the longest such window and changes nothing; else increments each,
/// restarts its window, and returns 0. Windows are Redis TTLs, so no
/// instance's clock is involved.
pub(super) const HIT: &str = r#"
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[2 * i - 1]) then
    local left = redis.call('PTTL', key)
    if left < 0 then left = tonumber(ARGV[2 * i]) end
    if left > wait then wait = left end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('PEXPIRE', key, ARGV[2 * i])
end
return 0
"#;

/// KEYS: the counter. Takes one attempt back, keeping the window.
pub(super) const TAKE_BACK: &str = r#"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 1 then
  redis.call('DECR', KEYS[1])
elseif count == 1 then
  redis.call('DEL', KEYS[1])
end
return 0
"#;
