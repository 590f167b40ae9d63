-- GET $BENCH_PATH with one prepared session per thread: COOKIES holds
-- comma-separated "name=value" cookies, one per thread (-t N -c N).
local cookies = {}
for c in string.gmatch(os.getenv("COOKIES") or "", "[^,]+") do
  table.insert(cookies, c)
end
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("cookie", cookies[(next_thread - 1) % #cookies + 1])
end

local path = os.getenv("BENCH_PATH") or "/cart"
function request()
  return wrk.format("GET", path, { Cookie = cookie })
end
