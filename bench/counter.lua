-- /counter with a cookie jar per connection: run wrk with as many threads
-- as connections (-t N -c N), since each thread has its own Lua state.
-- Like a person hitting refresh: new session, 1, 2, 3 + invalidate, again.
local cookie = nil
local path = os.getenv("BENCH_PATH") or "/counter"

function request()
  if cookie then
    return wrk.format("GET", path, { Cookie = cookie })
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  local set = headers["set-cookie"] or headers["Set-Cookie"]
  if set then
    if set:find("Max%-Age=0") then
      cookie = nil
    else
      cookie = set:match("^([^;]*)")
    end
  end
end
