-- Sessions that settle: each one is made by a cookie-less request and
-- visited once more with its cookie (so it moves on from the tier of new
-- sessions), then the next one starts. Each thread makes $PER_THREAD of
-- them and stops; run with one connection per thread (-t N -c N).
--
-- With ADDRESS_PER_SESSION=1, each session comes from a client address of
-- its own (X-Real-IP, for a server told to trust it: ROCKET_IP_HEADER),
-- as on a site whose visitors each have their own; the store then keeps
-- a share of each tier per address (see src/session/origin.rs).
local cookie = nil
local ip = nil
local threads = 0

function setup(thread)
  -- In the main state: numbers the threads, so their addresses differ.
  thread:set("thread_no", threads)
  threads = threads + 1
end

function init(args)
  quota = tonumber(os.getenv("PER_THREAD"))
  per_address = os.getenv("ADDRESS_PER_SESSION") == "1"
  made = 0
end

local function headers()
  local h = {}
  if cookie then h.Cookie = cookie end
  if per_address then
    if not cookie then
      ip = string.format("10.%d.%d.%d", thread_no, math.floor(made / 256) % 256, made % 256)
    end
    h["X-Real-IP"] = ip
  end
  return h
end

function request()
  return wrk.format("GET", wrk.path, headers())
end

function response(status, headers, body)
  if cookie then
    -- The second visit: this session has settled.
    cookie = nil
    made = made + 1
    if made >= quota then
      wrk.thread:stop()
    end
    return
  end
  local set = headers["set-cookie"] or headers["Set-Cookie"]
  if set then
    cookie = set:match("^([^;]*)")
  end
end
