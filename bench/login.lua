-- A burst of failing logins (each verifies an argon2id hash, as a real
-- login does) with one prepared session per thread: LOGINS holds
-- comma-separated "cookie|token" pairs. Usernames are random, so the
-- lockout never cuts the hashing short.
local logins = {}
for pair in string.gmatch(os.getenv("LOGINS") or "", "[^,]+") do
  local cookie, token = pair:match("^(.-)|(.*)$")
  table.insert(logins, { cookie = cookie, token = token })
end
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  local login = logins[(next_thread - 1) % #logins + 1]
  thread:set("cookie", login.cookie)
  thread:set("token", login.token)
end

function request()
  local body = "csrf_token=" .. token .. "&username=bench" .. math.random(1, 1000000000)
    .. "&password=not-the-password"
  return wrk.format("POST", "/login", {
    Cookie = cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
