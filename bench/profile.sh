#!/usr/bin/env bash
# Where a request's cost goes: instruction counts per request (callgrind,
# so the numbers repeat run to run, whatever else the machine does).
#
#   bench/profile.sh                      # /healthz, /counter (cookie jar), /cart,
#                                         # examples/hello and examples/counter
#   SECONDS_PER_ROW=5 bench/profile.sh    # shorter rows (default 15 s each)
#
# Needs valgrind (apt-get install valgrind) and wrk. Under valgrind the CPU's
# SHA extensions are hidden, so SHA-256 shows at its software cost.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_ROW=${SECONDS_PER_ROW:-15}
OUT=${OUT:-target/profile}
mkdir -p "$OUT"
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --quiet --target-dir target/prof --bin memsess --examples
APP=target/prof/release/memsess
EXAMPLES=target/prof/release/examples
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WORK=$(mktemp -d)
VALGRIND_PID=
trap '[ -n "$VALGRIND_PID" ] && kill "$VALGRIND_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

# profile NAME BIN PATH SETUP [wrk args...]: SETUP runs (uncounted) once the
# server is up; it may export COOKIES for bench/fixed_cookie.lua.
profile() {
  local name=$1 bin=$2 path=$3 setup=$4; shift 4
  (cd "$WORK" && exec env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$PORT" ROCKET_LOG_LEVEL=off \
    ROCKET_WORKERS=1 ROCKET_SESSION='{secure=false,cookie_name="gsid"}' \
    valgrind --tool=callgrind --callgrind-out-file="$OLDPWD/$OUT/$name.cg" \
    "$OLDPWD/$bin" >"$OLDPWD/$OUT/$name.log" 2>&1) &
  local pid=$!
  VALGRIND_PID=$pid
  for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
  "$setup"
  # Warm up, then count only the measured requests.
  wrk -t1 -c1 -d2s "$@" "http://127.0.0.1:$PORT$path" >/dev/null
  rm -f "$OUT/$name.cg".*
  callgrind_control -z "$pid" >/dev/null 2>&1
  local requests
  requests=$(wrk -t1 -c1 -d"${SECONDS_PER_ROW}s" "$@" "http://127.0.0.1:$PORT$path" | awk '/requests in/ {print $1}')
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  VALGRIND_PID=
  local total
  total=$(callgrind_annotate "$OUT/$name.cg.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  printf '%-16s %-8s %8s requests %9s instructions/request\n' "$name" "$path" "$requests" "$(( total / requests ))"
}

# A session holding a five-line cart.
five_line_cart() {
  local jar="$WORK/jar" page token
  page=$(curl -fs -c "$jar" "http://127.0.0.1:$PORT/")
  token=$(grep -o 'name="csrf_token" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
  for product in rocket-mug ferris-plush cookie-jar hourglass padlock; do
    curl -fs -o /dev/null -b "$jar" -d "csrf_token=$token&product_id=$product&quantity=2" "http://127.0.0.1:$PORT/cart/add"
  done
  COOKIES=$(awk '$6 == "gsid" {print "gsid=" $7}' "$jar")
  export COOKIES
}

profile healthz "$APP" /healthz true
profile counter "$APP" /counter true -s bench/counter.lua
profile cart "$APP" /cart five_line_cart -s bench/fixed_cookie.lua
# The module alone, against the same Rocket app without a session.
profile example-hello "$EXAMPLES/hello" / true -s bench/cookie.lua
profile example-counter "$EXAMPLES/counter" / true -s bench/cookie.lua
echo
echo "Per-function costs: callgrind_annotate --inclusive=yes $OUT/counter.cg.1 | less"
