#!/usr/bin/env bash
# memsess load benchmark: one table of req/s, p50, p99 and the ratio to
# /healthz (the same server with no session work) from the same run.
#
#   bench/load.sh                 # all rows, 10 s each, 4 connections
#   DURATION=5s CONNS=8 bench/load.sh
#
# Needs wrk (apt-get install wrk); the Redis row needs redis-server and is
# skipped, with a note, without it. Everything listens on 127.0.0.1 only;
# every load is bounded by DURATION (and the memory row by REQUESTS).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-4}
REQUESTS=${REQUESTS:-100000}
BIN=target/release/memsess
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench/load.sh needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server NAME [ENV=VALUE ...]: starts the release binary in its own
# empty folder (plain-http cookies, quiet log) and sets $PORT and $PID.
start_server() {
  local name=$1; shift
  PORT=$(free_port)
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$PORT" \
      ROCKET_LOG_LEVEL=off "$@" "$OLDPWD/$BIN" >"$WORK/$name.log" 2>&1) &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server $name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1
}
SESSION_ENV='{secure=false,cookie_name="gsid",max_sessions=1000000}'

# wrk_row LABEL URL [wrk args...]: runs wrk and prints "label|req/s|p50|p99".
wrk_row() {
  local label=$1 url=$2; shift 2
  local out
  out=$(wrk -t"$CONNS" -c"$CONNS" -d"$DURATION" --latency "$@" "$url")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  if grep -q "Non-2xx or 3xx responses" <<<"$out"; then
    echo "warning: $label had error responses:" >&2; grep "Non-2xx" <<<"$out" >&2
  fi
  echo "$label|$rps|$p50|$p99"
}

# prepare_session PORT: a session with a CSRF token: prints "cookie|token".
prepare_session() {
  local jar="$WORK/jar.$RANDOM"
  local page token
  page=$(curl -fs -c "$jar" "http://127.0.0.1:$1/")
  token=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
  echo "$(awk '$6 == "gsid" {print "gsid=" $7}' "$jar")|$token"
}

rows=()
start_server main ROCKET_SESSION="$SESSION_ENV"
MAIN=$PORT
wrk_row warmup "http://127.0.0.1:$MAIN/counter" -d2s >/dev/null

rows+=("$(wrk_row '/healthz (no session work)' "http://127.0.0.1:$MAIN/healthz")")
rows+=("$(wrk_row '/counter, cookie jar per connection' "http://127.0.0.1:$MAIN/counter" -s bench/counter.lua)")

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
rows+=("$(wrk_row '/cart, five-line cart (read only)' "http://127.0.0.1:$MAIN/cart" -s bench/fixed_cookie.lua)")
rows+=("$(wrk_row '/counter, no cookie (new session each)' "http://127.0.0.1:$MAIN/counter")")

# /counter during a burst of logins: p99 against the idle p99 above.
logins=()
for _ in $(seq "$CONNS"); do logins+=("$(prepare_session "$MAIN")"); done
LOGINS=$(IFS=,; echo "${logins[*]}") wrk -t"$CONNS" -c"$CONNS" -d"$DURATION" -s bench/login.lua \
  "http://127.0.0.1:$MAIN/login" >"$WORK/login.out" &
LOGIN_WRK=$!
sleep 1
rows+=("$(wrk_row '/counter during a login burst' "http://127.0.0.1:$MAIN/counter" -s bench/counter.lua)")
wait "$LOGIN_WRK" || true
login_rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/login.out")

# The Redis store, with redis-server on this machine.
if command -v redis-server >/dev/null; then
  RPORT=$(free_port)
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
  PIDS+=("$!")
  sleep 0.5
  start_server redis ROCKET_SESSION="{secure=false,cookie_name=\"gsid\",store=\"redis://127.0.0.1:$RPORT/\"}"
  wrk_row warmup "http://127.0.0.1:$PORT/counter" -d2s -s bench/counter.lua >/dev/null
  rows+=("$(wrk_row '/counter, Redis store' "http://127.0.0.1:$PORT/counter" -s bench/counter.lua)")
  kill "$PID"
else
  echo "note: no redis-server, so no Redis row" >&2
fi

# Memory per live session: RSS before and after $REQUESTS new sessions.
start_server memory ROCKET_SESSION="$SESSION_ENV"
curl -fs -o /dev/null "http://127.0.0.1:$PORT/counter"
sleep 1
rss_before=$(ps -o rss= -p "$PID")
PER_THREAD=$((REQUESTS / CONNS)) wrk -t"$CONNS" -c"$CONNS" -d20s -s bench/count.lua \
  "http://127.0.0.1:$PORT/counter" >"$WORK/memory.out"
sleep 2
rss_after=$(ps -o rss= -p "$PID")
made=$(( (REQUESTS / CONNS) * CONNS ))

healthz=$(cut -d'|' -f2 <<<"${rows[0]}")
printf '\n%-42s %10s %9s %9s %8s\n' "row" "req/s" "p50" "p99" "ratio"
for row in "${rows[@]}"; do
  IFS='|' read -r label rps p50 p99 <<<"$row"
  ratio=$(awk -v a="$rps" -v b="$healthz" 'BEGIN { printf "%.2f", a / b }')
  printf '%-42s %10s %9s %9s %8s\n' "$label" "$rps" "$p50" "$p99" "$ratio"
done
idle_p99=$(cut -d'|' -f4 <<<"${rows[1]}")
burst_p99=$(cut -d'|' -f4 <<<"${rows[4]}")
echo
echo "logins during the burst: ${login_rps} req/s; /counter p99 idle ${idle_p99}, during the burst ${burst_p99}"
echo "memory: RSS ${rss_before} KiB before, ${rss_after} KiB after ${made} sessions:" \
  "$(( (rss_after - rss_before) * 1024 / made )) bytes per session"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk -t$CONNS -c$CONNS -d$DURATION; server and wrk share the cores"
