-- bench/settle.lua, with each session from a client address of its own
-- (X-Real-IP, for a server told to trust it: ROCKET_IP_HEADER=X-Real-IP),
-- as on a site whose visitors each come from their own address; the
-- store then keeps a share of each tier per address (see origin.rs).
local cookie = nil
local ip = nil
local n = 0
local counter = 0 -- in the main state: numbers the threads (thread_no)

function setup(thread)
  thread:set("thread_no", counter)
  counter = counter + 1
end

function init(args)
  quota = tonumber(os.getenv("PER_THREAD"))
  made = 0
end

local function next_ip()
  n = n + 1
  return string.format("10.%d.%d.%d", thread_no, math.floor(n / 256) % 256, n % 256)
end

function request()
  if cookie then
    return wrk.format("GET", wrk.path, { Cookie = cookie, ["X-Real-IP"] = ip })
  end
  ip = next_ip()
  return wrk.format("GET", wrk.path, { ["X-Real-IP"] = ip })
end

function response(status, headers, body)
  if cookie then
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
