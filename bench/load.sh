#!/usr/bin/env bash
# memsess load benchmark: one table of req/s, p50, p99 and the ratio of
# each row to its ceiling, all from the same run.
#
#   bench/load.sh                          # all rows (about 8 minutes)
#   ROUNDS=5 DURATION=3s CONNS=8 bench/load.sh
#
# Groups of rows, each divided by its own ceiling:
#   app      the memsess binary: /counter, /cart, a flood of new sessions,
#            a login burst, a snapshot being written; ceiling /healthz of
#            the same server (no session work) through the same wrk script
#            as the row (groups app-jar, app-cart and app)
#   module   examples/counter (the session module alone, system allocator);
#            ceiling examples/hello, the same Rocket app with no session,
#            through the same jar script
#   redis    examples/counter on a local redis-server, 32 connections on two
#            threads with a cookie jar each (bench/cookie.lua); ceiling
#            examples/hello under the same load
# A group's ceiling and rows run in turn, ROUNDS times, DURATION each: the
# machine's speed drifts from one ten-second stretch to the next (other
# work shares it), so each round's ratio is taken between runs seconds
# apart, and the table gives the median of the rounds (its req/s, p50, p99
# and CPU: the medians of the rounds too).
# Each row also gives the server's CPU per request (/proc/PID/stat; the
# Redis row adds redis-server's) and the ceiling's over the row's: that
# ratio is what the session costs the server alone, free of wrk's share
# of the two cores, which the req/s ratio carries in both terms and which
# pulls it towards 1.
# and the memory rows, each over $REQUESTS sessions that came back once
# (so they settle, as most do): bytes per live session in the app
# (mimalloc), in the module (the system allocator, as a person who copies
# it gets), and in Redis (INFO used_memory).
#
# Needs wrk (apt-get install wrk); the Redis rows need redis-server and are
# skipped, with a note, without it. Everything listens on 127.0.0.1 only;
# every load is bounded by DURATION, and the memory rows by REQUESTS.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-4s}
ROUNDS=${ROUNDS:-3}
# Whole seconds: the login burst is made to outlast its row by two.
[[ $DURATION =~ ^[1-9][0-9]*s$ ]] || { echo "DURATION must be whole seconds, like 4s" >&2; exit 1; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a whole number, like 3" >&2; exit 1; }
CONNS=${CONNS:-4}
REQUESTS=${REQUESTS:-100000}
# Sessions the snapshot row's server holds while it writes snapshots.
SNAPSHOT_SESSIONS=${SNAPSHOT_SESSIONS:-200000}
BIN=target/release/memsess
EXAMPLES=target/release/examples
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench/load.sh needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --bin memsess --example counter --example hello

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server NAME PROGRAM [ENV=VALUE ...]: starts PROGRAM in its own empty
# folder (release profile, quiet log) and sets $PORT and $PID.
start_server() {
  local name=$1 program=$2; shift 2
  PORT=$(free_port)
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$PORT" \
      ROCKET_LOG_LEVEL=off "$@" "$OLDPWD/$program" >"$WORK/$name.log" 2>&1) &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
    sleep 0.1
  done
  echo "server $name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1
}
SESSION_ENV='{secure=false,cookie_name="gsid",max_sessions=1000000}'
# The login burst verifies a hash per attempt: every attempt comes from
# 127.0.0.1, so the per-address limit on failed logins is lifted for it.
AUTH_ENV=ROCKET_AUTH_MAX_FAILED_LOGINS_PER_IP=100000

# CPU time (clock ticks, user + system) the processes PIDS... used so far.
cpu_ticks() { local t=0 pid; for pid in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$t"; }

# wrk_once URL [wrk args...]: runs wrk once and prints
# "req/s|p50 ms|p99 ms|server CPU us per request|requests". -t/-c default
# to CONNS each. The CPU is that of the processes in SERVER_PIDS (default:
# the last server started, $PID): wrk shares the cores, so req/s ratios
# also carry wrk's own cost, which the same-script ceilings share; the
# server's CPU per request does not depend on wrk at all.
wrk_once() {
  local url=$1; shift
  local out before after
  # shellcheck disable=SC2086 # a list of pids
  before=$(cpu_ticks ${SERVER_PIDS:-$PID})
  out=$(wrk -t"$CONNS" -c"$CONNS" -d"$DURATION" --latency "$@" "$url")
  # shellcheck disable=SC2086
  after=$(cpu_ticks ${SERVER_PIDS:-$PID})
  if grep -q "Non-2xx or 3xx responses" <<<"$out"; then
    echo "warning: $url had error responses:" >&2; grep "Non-2xx" <<<"$out" >&2
  fi
  awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" '
    # wrk writes latencies with their unit: us, ms or s.
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; return v * 1000 }
    /^Requests\/sec/ { rps = $2 }
    /requests in/ { n = $1 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%s|%.2f|%.2f|%s|%d\n", rps, p50, p99, (n > 0 ? sprintf("%.1f", t * 1e6 / hz / n) : "-"), n }' <<<"$out"
}

# interleave GROUP LABEL COMMAND [LABEL COMMAND ...]: runs each COMMAND (a
# function that calls wrk_once) in turn, ROUNDS times, and prints a row
# per LABEL: "group|label|req/s|p50|p99|cpu|ratio|cpu ratio|requests",
# each figure the median of the rounds, the ratios the medians of each
# round's ratio to the first COMMAND's (the group's ceiling) in the same
# round, and requests the sum.
interleave() {
  local group=$1; shift
  local labels=() commands=() results=() r i
  while [ $# -gt 0 ]; do labels+=("$1"); commands+=("$2"); shift 2; done
  for r in $(seq "$ROUNDS"); do
    for i in "${!commands[@]}"; do
      results+=("$i|$r|$("${commands[$i]}")")
    done
  done
  printf '%s\n' "${results[@]}" | awk -F'|' -v group="$group" -v labels="$(printf '%s\n' "${labels[@]}")" '
    function median(list,   a, n, i, j, t) {
      n = split(list, a, " ")
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { rps[$1, $2] = $3; p50[$1] = p50[$1] " " $4; p99[$1] = p99[$1] " " $5; cpu[$1, $2] = $6; n[$1] += $7
      rows = ($1 + 1 > rows ? $1 + 1 : rows); rounds = ($2 > rounds ? $2 : rounds) }
    END {
      split(labels, label, "\n")
      for (i = 0; i < rows; i++) {
        r_rps = r_cpu = r_ratio = r_cpu_ratio = ""
        for (r = 1; r <= rounds; r++) {
          r_rps = r_rps " " rps[i, r]; r_cpu = r_cpu " " cpu[i, r]
          r_ratio = r_ratio " " rps[i, r] / rps[0, r]
          if (cpu[i, r] > 0) r_cpu_ratio = r_cpu_ratio " " cpu[0, r] / cpu[i, r]
        }
        printf "%s|%s|%.0f|%.2fms|%.2fms|%.1f|%.2f|%s|%d\n", group, label[i + 1], median(r_rps),
          median(p50[i]), median(p99[i]), median(r_cpu), median(r_ratio),
          (r_cpu_ratio == "" ? "-" : sprintf("%.2f", median(r_cpu_ratio))), n[i]
      }
    }'
}

# prepare_session PORT: a session with a CSRF token: prints "cookie|token".
prepare_session() {
  local jar="$WORK/jar.$RANDOM"
  local page token
  page=$(curl -fs -c "$jar" "http://127.0.0.1:$1/")
  token=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
  echo "$(awk '$6 == "gsid" {print "gsid=" $7}' "$jar")|$token"
}

# sessions_made PORT PATH COUNT SCRIPT: about COUNT sessions from SCRIPT
# (bench/count.lua: new ones; bench/settle.lua: new ones visited once
# more), and prints how many requests wrk made. wrk stops sending at the
# count but waits out its duration, which bounds the load.
sessions_made() {
  PER_THREAD=$(($3 / CONNS)) wrk -t"$CONNS" -c"$CONNS" -d"$(($3 / 4000 + 5))s" -s "$4" \
    "http://127.0.0.1:$1$2" | awk '/requests in/ {print $1}'
}

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

rows=()

# --- app ---------------------------------------------------------------
start_server main "$BIN" ROCKET_SESSION="$SESSION_ENV" "$AUTH_ENV"
MAIN=$PORT
wrk_once "http://127.0.0.1:$MAIN/counter" -d2s >/dev/null

# Each row is divided by a ceiling that makes wrk do the same work: a
# script's request() and response() callbacks run Lua for every request,
# and a response() callback has wrk hand Lua every response's headers and
# body, which costs wrk (on the same two cores) 3-6 % of /healthz's rate
# by itself. So /healthz runs through the same script as the rows it is
# the ceiling of (the jar script, the cart's fixed cookie, or none).
# add_rows COMMAND...: appends the rows COMMAND prints to the table.
add_rows() { mapfile -t -O "${#rows[@]}" rows < <("$@"); }
healthz_jar() { BENCH_PATH=/healthz wrk_once "http://127.0.0.1:$MAIN/healthz" -s bench/counter.lua; }
counter_jar() { wrk_once "http://127.0.0.1:$MAIN/counter" -s bench/counter.lua; }
add_rows interleave app-jar '/healthz through the jar script (no session work)' healthz_jar \
  '/counter, cookie jar per connection' counter_jar
IDLE_ROW=$(( ${#rows[@]} - 1 ))

# /cart with a five-line cart: one prepared session per connection.
cookies=()
for _ in $(seq "$CONNS"); do
  IFS='|' read -r cookie token <<<"$(prepare_session "$MAIN")"
  for product in rocket-mug ferris-plush cookie-jar hourglass padlock; do
    curl -fs -o /dev/null -b "$cookie" -d "csrf_token=$token&product_id=$product&quantity=2" \
      "http://127.0.0.1:$MAIN/cart/add"
  done
  cookies+=("$cookie")
done
COOKIES=$(IFS=,; echo "${cookies[*]}")
export COOKIES
healthz_cart() { BENCH_PATH=/healthz wrk_once "http://127.0.0.1:$MAIN/healthz" -s bench/fixed_cookie.lua; }
cart() { wrk_once "http://127.0.0.1:$MAIN/cart" -s bench/fixed_cookie.lua; }
add_rows interleave app-cart '/healthz through the cart script (no session work)' healthz_cart \
  '/cart, five-line cart (read only)' cart
healthz_bare() { wrk_once "http://127.0.0.1:$MAIN/healthz"; }
flood() { wrk_once "http://127.0.0.1:$MAIN/counter"; }
add_rows interleave app '/healthz (no session work, no script)' healthz_bare \
  '/counter, no cookie (new session each)' flood

# /counter during a burst of logins: p99 against the idle p99 above.
logins=()
for _ in $(seq "$CONNS"); do logins+=("$(prepare_session "$MAIN")"); done
# The burst outlasts the row measured beside it (DURATION in seconds).
LOGINS=$(IFS=,; echo "${logins[*]}") wrk -t"$CONNS" -c"$CONNS" -d"$(( ${DURATION%s} + 2 ))s" -s bench/login.lua \
  "http://127.0.0.1:$MAIN/login" >"$WORK/login.out" &
LOGIN_WRK=$!
sleep 1
# One run, beside the burst: its ratio is to the median of the jar
# ceiling's rounds.
rows+=("$(counter_jar | awk -F'|' '{ printf "app-burst|/counter during a login burst (÷ the jar ceiling)|%.0f|%sms|%sms|%s|-|-|%s\n", $1, $2, $3, $4, $5 }')")
BURST_ROW=$(( ${#rows[@]} - 1 ))
wait "$LOGIN_WRK" || true
login_rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/login.out")
kill "$PID"

# /counter while snapshots of $SNAPSHOT_SESSIONS sessions are written, one
# a second (the counter keeps the store changing, so each one is due). The
# sessions come back once each, as most do, so they settle in the
# returning visitors' tier (new ones from one address would make way for
# each other: the store holds only a share of new sessions per address).
start_server snapshot "$BIN" \
  ROCKET_SESSION='{secure=false,cookie_name="gsid",max_sessions=2000000,snapshot_interval=1}'
made=$(sessions_made "$PORT" /counter "$SNAPSHOT_SESSIONS" bench/settle.lua)
held=$((made / 2))
# The snapshot row's ceiling is /healthz of this same, fuller server.
healthz_full() { BENCH_PATH=/healthz wrk_once "http://127.0.0.1:$PORT/healthz" -s bench/counter.lua; }
counter_snapshots() { wrk_once "http://127.0.0.1:$PORT/counter" -s bench/counter.lua; }
add_rows interleave snapshot "/healthz, $held sessions held, jar script" healthz_full \
  '/counter while a snapshot is written each second' counter_snapshots
SNAPSHOT_ROW=$(( ${#rows[@]} - 1 ))
snapshot_size=$(stat -c %s "$WORK/snapshot/data/sessions.snapshot" 2>/dev/null || echo 0)
kill "$PID"

# --- module alone --------------------------------------------------------
start_server hello "$EXAMPLES/hello"
HELLO=$PORT
HELLO_PID=$PID
start_server counter "$EXAMPLES/counter" ROCKET_SESSION="$SESSION_ENV"
COUNTER=$PORT
BENCH_PATH=/ wrk -t"$CONNS" -c"$CONNS" -d2s -s bench/counter.lua "http://127.0.0.1:$COUNTER/" >/dev/null
export BENCH_PATH=/
hello_jar() { SERVER_PIDS=$HELLO_PID wrk_once "http://127.0.0.1:$HELLO/" -s bench/counter.lua; }
module_jar() { wrk_once "http://127.0.0.1:$COUNTER/" -s bench/counter.lua; }
add_rows interleave module 'examples/hello through the jar script (no session)' hello_jar \
  'examples/counter, cookie jar per connection' module_jar
unset BENCH_PATH
kill "$PID"

# --- Redis ---------------------------------------------------------------
redis_mem=""
if command -v redis-server >/dev/null; then
  RPORT=$(free_port)
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  sleep 0.5
  REDIS_SESSION="{secure=false,cookie_name=\"gsid\",max_sessions=1000000,store=\"redis://127.0.0.1:$RPORT/\"}"
  start_server redis "$EXAMPLES/counter" ROCKET_SESSION="$REDIS_SESSION"
  wrk_once "http://127.0.0.1:$PORT/" -t2 -c32 -d2s -s bench/cookie.lua >/dev/null
  redis-cli -p "$RPORT" config resetstat >/dev/null
  hello_32() { SERVER_PIDS=$HELLO_PID wrk_once "http://127.0.0.1:$HELLO/" -t2 -c32 -s bench/cookie.lua; }
  # The server's CPU and Redis's: both are the session's cost.
  redis_32() { SERVER_PIDS="$PID $REDIS_PID" wrk_once "http://127.0.0.1:$PORT/" -t2 -c32 -s bench/cookie.lua; }
  add_rows interleave redis 'examples/hello, 32 connections' hello_32 \
    'examples/counter on Redis, 32 conns (CPU + Redis)' redis_32
  REDIS_ROW=$(( ${#rows[@]} - 1 ))
  # What Redis did per request of that row (all its rounds; hello's rounds
  # in between send Redis nothing): the scripts called, the commands they
  # ran, and the time Redis spent in them. Redis's CPU follows the
  # commands inside scripts.
  redis_work=$(redis-cli -p "$RPORT" info commandstats | tr -d '\r' | awk -F'[:,=]' \
    -v requests="$(cut -d'|' -f9 <<<"${rows[$REDIS_ROW]}")" '
      /^cmdstat_evalsha:/ { scripts = $3; usec = $5; next }
      /^cmdstat_(config|ping|script)/ { next }
      /^cmdstat_/ { commands += $3 }
      END { printf "Redis per request of that row: %.2f scripts, %.1f commands inside them, %.1f us in scripts (INFO commandstats)", scripts / requests, commands / requests, usec / requests }')
  # Redis bytes per session: sessions that came back once, the way most do.
  redis-cli -p "$RPORT" flushall >/dev/null
  used() { redis-cli -p "$RPORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }
  before=$(used)
  made=$(( $(sessions_made "$PORT" / "$REQUESTS" bench/settle.lua) / 2 ))
  after=$(used)
  redis_mem="Redis: used_memory $before -> $after bytes after $made settled sessions: $(( (after - before) / made )) bytes per session"
  kill "$PID"
else
  echo "note: no redis-server, so no Redis rows" >&2
fi

# --- memory per live session -----------------------------------------------
# memory_row NAME PROGRAM PATH [per-address]: RSS before and after
# $REQUESTS sessions that each came back once (bench/settle.lua); with
# per-address, each from a client address of its own.
memory_row() {
  local trust=()
  if [ "${4:-}" = per-address ]; then
    export ADDRESS_PER_SESSION=1
    trust=(ROCKET_IP_HEADER=X-Real-IP)
  fi
  # No snapshot: its buffers would come and go in the RSS being measured.
  start_server "$1" "$2" \
    ROCKET_SESSION='{secure=false,cookie_name="gsid",max_sessions=1000000,snapshot_file=""}' "${trust[@]}"
  # Warm up, and give the allocator time to hand back what the launch
  # used for a while (the app hashes a dummy password at launch: 19 MiB).
  sessions_made "$PORT" "$3" 4000 bench/settle.lua >/dev/null
  sleep 2
  sessions_made "$PORT" "$3" 1000 bench/settle.lua >/dev/null
  sleep 1
  local before after made
  before=$(rss "$PID")
  made=$(( $(sessions_made "$PORT" "$3" "$REQUESTS" bench/settle.lua) / 2 ))
  sleep 2
  after=$(rss "$PID")
  echo "$1: RSS $before -> $after KiB after $made settled sessions: $(( (after - before) * 1024 / made )) bytes per session"
  kill "$PID"
}
app_mem=$(memory_row app-memory "$BIN" /counter)
# The same with each session from an address of its own: what the
# per-address shares keep shows (one address, as above, shares one queue).
app_addresses_mem=$(memory_row app-memory-one-address-per-session "$BIN" /counter per-address)
module_mem=$(memory_row module-memory "$EXAMPLES/counter" /)

# --- the table -------------------------------------------------------------
# "cpu/req" is the server's CPU per request in microseconds, and "cpu
# ratio" the ceiling's over the row's: what the session costs the server,
# whatever wrk costs. (The login burst's server also hashes passwords, so
# its CPU says nothing about /counter.)
printf '\n%-9s %-50s %10s %9s %9s %7s %8s %9s\n' "group" "row" "req/s" "p50" "p99" "ratio" "cpu/req" "cpu ratio"
for row in "${rows[@]}"; do
  IFS='|' read -r group label rps p50 p99 cpu ratio cpu_ratio _ <<<"$row"
  if [ "$group" = app-burst ]; then
    # The login burst's ceiling is the jar ceiling (app-jar's first row).
    ratio=$(awk -v a="$rps" -v b="$(cut -d'|' -f3 <<<"${rows[0]}")" 'BEGIN { printf "%.2f", a / b }')
  fi
  printf '%-9s %-50s %10s %9s %9s %7s %8s %9s\n' "$group" "$label" "$rps" "$p50" "$p99" "$ratio" "$cpu" "$cpu_ratio"
done
p99_of() { cut -d'|' -f5 <<<"${rows[$1]}"; }
echo
echo "logins during the burst: ${login_rps} req/s; /counter p99 idle $(p99_of "$IDLE_ROW"), during the burst $(p99_of "$BURST_ROW"), while snapshots are written $(p99_of "$SNAPSHOT_ROW") (a snapshot of $held sessions: $snapshot_size bytes)"
[ -n "${REDIS_ROW:-}" ] && echo "Redis /counter p99 at 32 connections: $(p99_of "$REDIS_ROW")"
[ -n "${redis_work:-}" ] && echo "$redis_work"
echo "$app_mem"
echo "$app_addresses_mem"
echo "$module_mem"
[ -n "$redis_mem" ] && echo "$redis_mem"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk -t$CONNS -c$CONNS -d$DURATION, $ROUNDS rounds in turn per group, medians (Redis rows -t2 -c32); server and wrk share the cores"
