-- Sessions that settle: each one is made by a cookie-less request and
-- visited once more with its cookie (so it moves on from the tier of new
-- sessions), then the next one starts. Each thread makes $PER_THREAD of
-- them and stops; run with one connection per thread (-t N -c N).
local cookie = nil

function init(args)
  quota = tonumber(os.getenv("PER_THREAD"))
  made = 0
end

function request()
  if cookie then
    return wrk.format("GET", wrk.path, { Cookie = cookie })
  end
  return wrk.format("GET", wrk.path)
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
