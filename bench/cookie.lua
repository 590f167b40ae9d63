-- A cookie jar per simulated client, for many connections on few threads
-- (wrk -t2 -c32): taken unchanged but for this note from the benchmark
-- harness that compares memsess with other session layers (its
-- peers/cookie.lua). bench/counter.lua is the simpler jar for one
-- connection per thread.
--
-- cookie.lua: wrk script for the gmemsess "counter page" workload.
--
-- Every simulated client owns a cookie jar: it stores cookies from Set-Cookie,
-- sends them back in a Cookie header, and drops a cookie when the server
-- removes it (Max-Age<=0, or no Max-Age and an Expires in the past).
--
-- wrk's Lua API has no connection identity (request()/response() are per
-- thread), so jars cannot be pinned to sockets by name. Instead each thread
-- keeps a pool of jars: request() lends a free jar to the request it builds
-- (at most one in-flight request per connection, so at most one jar per
-- connection is ever in use), and response() hands the response back to the
-- in-flight jar it belongs to. That match uses the counter page itself: a
-- "Session counter is K." response belongs to a jar that sent a session at
-- stage K-1 (and, among those, to the one whose cookie value the response
-- echoes, if any); "New session" belongs to a jar that sent no live session.
-- Jars at the same stage are interchangeable, so every simulated client runs
-- New -> 1 -> 2 -> 3 (invalidate) -> New, and no session is ever used by two
-- requests at once. With one connection per thread (-tN -cN) the pool has a
-- single jar and the match is trivially exact.
--
-- done() prints one machine-readable line:
--   BENCH rps=<req/s> p50_us=.. p99_us=.. requests=.. non2xx=.. sockerr=..
--         new=.. c1=.. c2=.. c3=.. other=.. unmatched=..
-- A correct session server under this script shows new ~ c1 ~ c2 ~ c3 and
-- other = 0; unmatched counts responses with no in-flight jar at the stage
-- they imply (should stay 0).

-- ---------------------------------------------------------------- main state
local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

-- ------------------------------------------------------------- thread state
-- (globals, so that done() can read them through thread:get)
n_new, n_c1, n_c2, n_c3, n_other, n_unmatched = 0, 0, 0, 0, 0, 0

local free = {}       -- jars not in flight (stack)
local inflight = {}   -- jars in flight, oldest first
local MAX_INFLIGHT = 4096 -- requests lost to socket errors never get a response()
local req_plain       -- request with no Cookie header

local MONTHS = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6,
                 jul = 7, aug = 8, sep = 9, oct = 10, nov = 11, dec = 12 }

-- days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm)
local function days_from_civil(y, m, d)
   if m <= 2 then y = y - 1 end
   local era = math.floor(y / 400)
   local yoe = y - era * 400
   local mp = (m + 9) % 12
   local doy = math.floor((153 * mp + 2) / 5) + d - 1
   local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
   return era * 146097 + doe - 719468
end

-- "Wed, 26 Nov 2025 03:54:42 GMT" (or "26-Nov-2025 ...") -> unix seconds, or nil
local function parse_http_date(s)
   local d, mon, y, hh, mm, ss = s:match("(%d+)[ %-](%a+)[ %-](%d+)%s+(%d+):(%d+):(%d+)")
   if not d then return nil end
   local m = MONTHS[mon:sub(1, 3):lower()]
   if not m then return nil end
   y = tonumber(y)
   if y < 100 then y = y + (y < 70 and 2000 or 1900) end
   return days_from_civil(y, m, tonumber(d)) * 86400
      + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
end

-- Parse one Set-Cookie value -> name, value, removed(bool)
local function parse_set_cookie(sc)
   local pair, attrs = sc:match("^%s*([^;]*)(.*)$")
   local name, value = pair:match("^([^=]-)%s*=%s*(.*)$")
   if not name or name == "" then return nil end
   name = name:match("^%s*(.-)%s*$")
   value = value:match("^(.-)%s*$")
   local max_age, expires
   for attr in attrs:gmatch(";%s*([^;]*)") do
      local k, v = attr:match("^([^=]-)%s*=%s*(.-)%s*$")
      if k then
         k = k:lower()
         if k == "max-age" then max_age = tonumber(v)
         elseif k == "expires" then expires = v end
      end
   end
   local removed = false
   if max_age then
      removed = max_age <= 0
   elseif expires then
      local t = parse_http_date(expires)
      removed = t ~= nil and t <= os.time()
   end
   return name, value, removed
end

local function find_set_cookie(headers)
   local sc = headers["set-cookie"] or headers["Set-Cookie"]
   if sc then return sc end
   for k, v in pairs(headers) do
      if k:lower() == "set-cookie" then return v end
   end
   return nil
end

-- Rebuild the cached request string of a jar after its cookies changed.
local function rebuild(jar)
   local parts = {}
   for k, v in pairs(jar.cookies) do parts[#parts + 1] = k .. "=" .. v end
   if #parts == 0 then
      jar.req = nil
   else
      table.sort(parts)
      jar.req = wrk.format("GET", wrk.path, { ["Cookie"] = table.concat(parts, "; ") })
   end
end

function init(args)
   req_plain = wrk.format("GET", wrk.path)
end

function request()
   local jar = table.remove(free)
   if not jar then jar = { cookies = {}, stage = -1, sent = -1 } end
   jar.sent = jar.stage
   if #inflight >= MAX_INFLIGHT then table.remove(inflight, 1) end
   inflight[#inflight + 1] = jar
   return jar.req or req_plain
end

function response(status, headers, body)
   -- What the body says the server did: new stage (-1 = no live session)
   -- and which stage the sending jar must have been at.
   local new_stage, want = -1, nil
   if body:find("New session", 1, true) then
      n_new = n_new + 1
      new_stage, want = 0, -1
   else
      local k = body:match("Session counter is (%d+)")
      k = k and tonumber(k)
      if k then
         if k == 1 then n_c1 = n_c1 + 1 elseif k == 2 then n_c2 = n_c2 + 1 else n_c3 = n_c3 + 1 end
         want = k - 1
         new_stage = body:find("Invalidating", 1, true) and -1 or k
      else
         n_other = n_other + 1
      end
   end

   local sc = find_set_cookie(headers)
   local cname, cval, removed
   if sc then cname, cval, removed = parse_set_cookie(sc) end

   -- Pick the in-flight jar this response belongs to.
   local idx
   if want ~= nil then
      local first
      for i = 1, #inflight do
         local j = inflight[i]
         if j.sent == want then
            if not first then first = i end
            if not cname or removed or j.cookies[cname] == cval then idx = i; break end
         end
      end
      idx = idx or first
      if not idx then
         idx = 1
         -- a "New session" for a jar that sent a stale cookie is legitimate
         if want ~= -1 then n_unmatched = n_unmatched + 1 end
      end
   else
      idx = 1
   end
   local jar = table.remove(inflight, idx)
   if not jar then return end

   if cname then
      if removed then
         if jar.cookies[cname] ~= nil then jar.cookies[cname] = nil; rebuild(jar) end
      elseif jar.cookies[cname] ~= cval then
         jar.cookies[cname] = cval
         rebuild(jar)
      end
   end
   jar.stage = new_stage
   free[#free + 1] = jar
end

function done(summary, latency, requests)
   local t = { new = 0, c1 = 0, c2 = 0, c3 = 0, other = 0, unmatched = 0 }
   for _, th in ipairs(threads) do
      t.new = t.new + (th:get("n_new") or 0)
      t.c1 = t.c1 + (th:get("n_c1") or 0)
      t.c2 = t.c2 + (th:get("n_c2") or 0)
      t.c3 = t.c3 + (th:get("n_c3") or 0)
      t.other = t.other + (th:get("n_other") or 0)
      t.unmatched = t.unmatched + (th:get("n_unmatched") or 0)
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d sockerr=%d timeouts=%d "
      .. "new=%d c1=%d c2=%d c3=%d other=%d unmatched=%d\n",
      summary.requests / secs, latency:percentile(50), latency:percentile(99),
      summary.requests, e.status, e.connect + e.read + e.write, e.timeout,
      t.new, t.c1, t.c2, t.c3, t.other, t.unmatched))
end
