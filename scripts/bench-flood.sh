#!/usr/bin/env bash
# SCIM traffic during a password-guessing flood: GET /Users/{id} is measured alone, then again
# while a second load tool sends wrong passwords to the token endpoint as fast as it can (with
# brute-force detection off, so every guess is hashed). Password hashing runs behind a bound
# (half the cores at once, a short queue, 503 past it), so the GETs should keep most of their
# throughput and their latency.
#
#   scripts/bench-flood.sh                 # 10 s per run
#   BENCH_DURATION=20 scripts/bench-flood.sh
#
# Prints GET req/s and p50/p99 latency alone, under the flood, and under a flood of as many
# requests that hash nothing (an unknown client: what answering the flood costs, hashing aside);
# the flood's answers (401: hashed and refused, 503: past the bound); and scimd's memory.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10}
BIN=${BENCH_BIN_DIR:-target/release}
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  rustup target add wasm32-wasip2
  cargo build --release --locked -p scimd
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/scimd-flood.XXXXXX")
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/scimd" realm create bench --data-dir "$WORK" 2>/dev/null
TOKEN=$("$BIN/scimd" token create --realm bench --role manage-users --data-dir "$WORK")
SCIMD_ADMIN=admin SCIMD_ADMIN_PASSWORD=admin-password "$BIN/scimd" serve --listen "127.0.0.1:$PORT" \
  --data-dir "$WORK" >"$WORK/scimd.log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done
URL=http://127.0.0.1:$PORT

ADMIN_TOKEN=$(curl -fsS "$URL/realms/master/protocol/openid-connect/token" \
  -d grant_type=password -d client_id=admin-cli -d username=admin -d password=admin-password | jq -r .access_token)
curl -fsS -X PUT "$URL/admin/realms/master" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"bruteForceProtected": false}'
# The user the GETs read. (The guesses are for "victim" in master, a name nobody has: an unknown
# user costs a hash like a known one.)
READER=$(curl -fsS -X POST "$URL/realms/bench/scim/v2/Users" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/scim+json' \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"reader"}' | jq -r .id)
cat >"$WORK/get.lua" <<LUA
request = function() return wrk.format("GET", "/realms/bench/scim/v2/Users/$READER", {["Authorization"] = "Bearer $TOKEN"}) end
LUA

get_run() { wrk -t1 -c16 -d"${DURATION}s" --latency -s "$WORK/get.lua" "$URL" 2>&1; }
summary() { awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%s req/s, p50 %s, p99 %s", rps, p50, p99}'; }

echo "warming up" >&2
wrk -t1 -c16 -d2s -s "$WORK/get.lua" "$URL" >/dev/null 2>&1
ALONE=$(get_run | summary)
RSS_ALONE=$(awk '/VmRSS/ {print $2 " " $3}' /proc/$PID/status)
BENCH_PATH=/realms/master/protocol/openid-connect/token wrk -t1 -c64 -d"$((DURATION + 2))s" \
  -s bench/load/guess.lua "$URL" >"$WORK/flood.log" 2>&1 &
FLOOD=$!
sleep 1
UNDER=$(get_run | summary)
wait "$FLOOD" || true
# The same flood with a client that does not exist: answered without hashing, so what it costs
# SCIM traffic is what answering that many requests costs, hashing aside.
BENCH_FLOOD_CLIENT=nobody BENCH_PATH=/realms/master/protocol/openid-connect/token wrk -t1 -c64 -d"$((DURATION + 2))s" \
  -s bench/load/guess.lua "$URL" >"$WORK/cheap.log" 2>&1 &
CHEAP=$!
sleep 1
UNDER_CHEAP=$(get_run | summary)
wait "$CHEAP" || true
echo "GET /Users/{id} alone:          $ALONE"
echo "GET /Users/{id} under a flood:  $UNDER"
echo "GET /Users/{id} under as many requests that hash nothing: $UNDER_CHEAP"
echo "  ($(grep -E 'Requests/sec' "$WORK/cheap.log" | tr -s ' '))"
echo "the flood (64 connections of wrong passwords): $(grep -E 'Requests/sec|guess statuses' "$WORK/flood.log" | tr -s ' ' | tr '\n' ' ')"
echo "scimd RSS: $RSS_ALONE before the flood, $(awk '/VmHWM/ {print $2 " " $3}' /proc/$PID/status) at its peak"
