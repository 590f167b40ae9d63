-- Exactly $REQUESTS cookie-less requests to /counter in all (each makes a
-- session), split across the threads, then stop.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  quota = tonumber(os.getenv("PER_THREAD"))
  done = 0
end

function response(status, headers, body)
  done = done + 1
  if done >= quota then
    wrk.thread:stop()
  end
end
