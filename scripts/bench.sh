#!/usr/bin/env bash
# The benchmark of scimd: seeds 10k users over HTTP, then measures with wrk (a real load tool)
# GET by id, filter `userName eq`, a page of 100, POST, PATCH and POST /Bulk of 1000 creates
# (and one client's 1000 POSTs against one such bulk, bench/load/bulk_vs_posts.py); and the same against
# scimd-baseline (bench/baseline), a bare axum + SQLite server doing the same HTTP and SQLite
# work with no SCIM logic. The goal: scimd within 30% of the baseline (ratio ≥ 0.70).
#
#   scripts/bench.sh                      # 10 s per scenario and server
#   BENCH_DURATION=30 scripts/bench.sh
#
# Prints a table (scenario, scimd req/s, baseline req/s, ratio, p99 latencies, each server's
# CPU time per request, errors) and writes target/bench/results.md and results.json; wrk's own
# output is in target/bench/wrk.log, the servers' logs in target/bench/{scimd,baseline}.log.
#
# Both servers run on fresh data directories at the same time (an idle one costs nothing) and
# each scenario is run against scimd, then against the baseline, so a noisy machine affects
# both alike. POST runs last so that the reads see exactly the seeded users.
#
# Environment (defaults): BENCH_DURATION (10) seconds per run, BENCH_ROUNDS (3) rounds of every
# scenario against both servers (the table gives median ratios), BENCH_WARMUP (2) seconds of
# unmeasured load before each run, BENCH_USERS (10000), BENCH_CONNECTIONS (32),
# BENCH_THREADS (2), BENCH_SCENARIOS ("get filter page cursor patch post bulk nested"), BENCH_BULK_SIZE
# (1000 user creates per bulk request), BENCH_BULK_CONNECTIONS (4, for bulk), BENCH_NO_BUILD
# (unset: set to 1 to use already built binaries), BENCH_BIN_DIR (target/release).
#
# Scale (opt-in): BENCH_SCALE=1m (or 200k, …) then runs bench/load/scale.py — scimd alone at
# 10k, 100k and that many users seeded with `scimd import`: filters and cursor pages at that size
# vs 10k, member changes in a group of all of them, GET of a 100k-member group and RSS, a write
# soak of BENCH_SOAK (600) seconds and the WAL's peak, a restart with 3 deployed engines. Its
# table is target/bench/scale.md. BENCH_SCENARIOS="" skips the comparison with the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2}
USERS=${BENCH_USERS:-10000}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
SCENARIOS=${BENCH_SCENARIOS-get filter page cursor patch post bulk nested}
BULK_SIZE=${BENCH_BULK_SIZE:-1000}
BULK_CONNECTIONS=${BENCH_BULK_CONNECTIONS:-4}
REALM=bench
BASE=/realms/$REALM/scim/v2
OUT=target/bench
BIN=${BENCH_BIN_DIR:-target/release}

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  rustup target add wasm32-wasip2
  cargo build --release --locked -p scimd -p scimd-baseline
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/scimd-bench.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$OUT/raw"
mkdir -p "$OUT/raw"
: >"$OUT/wrk.log"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_health NAME PORT PID: until GET /health answers "ok" (60 s at most).
wait_health() {
  for _ in $(seq 300); do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "$1 exited; its log:" >&2; cat "$OUT/$1.log" >&2; exit 1
    fi
    if [ "$(curl -fsS "http://127.0.0.1:$2/health" 2>/dev/null)" = ok ]; then return 0; fi
    sleep 0.2
  done
  echo "$1 did not become healthy on port $2; its log:" >&2; cat "$OUT/$1.log" >&2; exit 1
}

RUN=$(python3 -c 'import secrets; print("r" + secrets.token_hex(4))')

# scimd: a realm, a token, the server.
SCIMD_PORT=$(free_port)
"$BIN/scimd" realm create "$REALM" --data-dir "$WORK/scimd"
SCIMD_TOKEN=$("$BIN/scimd" token create --realm "$REALM" --role manage-users --data-dir "$WORK/scimd")
"$BIN/scimd" serve --listen "127.0.0.1:$SCIMD_PORT" --data-dir "$WORK/scimd" >"$OUT/scimd.log" 2>&1 &
SCIMD_PID=$!
PIDS+=("$SCIMD_PID")
wait_health scimd "$SCIMD_PORT" "$SCIMD_PID"

# The baseline.
BASELINE_PORT=$(free_port)
BASELINE_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
"$BIN/scimd-baseline" --listen "127.0.0.1:$BASELINE_PORT" --data-dir "$WORK/baseline" \
  --token "$BASELINE_TOKEN" >"$OUT/baseline.log" 2>&1 &
BASELINE_PID=$!
PIDS+=("$BASELINE_PID")
wait_health baseline "$BASELINE_PORT" "$BASELINE_PID"

port_of() { if [ "$1" = scimd ]; then echo "$SCIMD_PORT"; else echo "$BASELINE_PORT"; fi; }
pid_of() { if [ "$1" = scimd ]; then echo "$SCIMD_PID"; else echo "$BASELINE_PID"; fi; }
# CPU time (user + system, in clock ticks) a server has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(pid_of "$1")/stat"; }
token_of() { if [ "$1" = scimd ]; then echo "$SCIMD_TOKEN"; else echo "$BASELINE_TOKEN"; fi; }

for server in scimd baseline; do
  echo "seeding $server with $USERS users" >&2
  BENCH_TOKEN=$(token_of $server) python3 bench/load/seed.py \
    --url "http://127.0.0.1:$(port_of $server)$BASE" --count "$USERS" \
    --prefix "$RUN-seed" --out "$WORK/$server-data"
done

# run_wrk SERVER SCENARIO SECONDS OUTFILE PHASE
run_wrk() {
  echo "== $1 $2 ${3}s ($5)" >>"$OUT/wrk.log"
  local connections=$CONNECTIONS
  [ "$2" = bulk ] && connections=$BULK_CONNECTIONS
  BENCH_SCENARIO=$2 BENCH_BULK_SIZE=$BULK_SIZE BENCH_BASE=$BASE BENCH_TOKEN=$(token_of "$1") \
    BENCH_IDS="$WORK/$1-data/ids.txt" BENCH_NAMES="$WORK/$1-data/names.txt" \
    BENCH_RUN="$RUN-$5" BENCH_OUT="$4" \
    wrk -t"$THREADS" -c"$connections" -d"${3}s" --timeout 10s --latency \
    -s bench/load/scenario.lua "http://127.0.0.1:$(port_of "$1")" >>"$OUT/wrk.log" 2>&1
}

# Rounds, each running a scenario against both servers (scimd first in odd rounds, the
# baseline first in even ones, so that a machine getting slower or faster affects both alike);
# the report gives each scenario's median ratio over the rounds and their range. Every round
# of the other scenarios comes before the first of POST and bulk, which add users: the others
# all see exactly the seeded ones.
for scenario in $(for s in $SCENARIOS; do case $s in post|bulk|nested) ;; *) echo "$s" ;; esac; done) \
  $(for s in $SCENARIOS; do [ "$s" = post ] && echo "$s"; done) \
  $(for s in $SCENARIOS; do [ "$s" = bulk ] && echo "$s"; done); do
  for round in $(seq "$ROUNDS"); do
    order="scimd baseline"; [ $((round % 2)) -eq 0 ] && order="baseline scimd"
    for server in $order; do
      echo "round $round, $scenario: $server" >&2
      if [ "$WARMUP" != 0 ]; then
        run_wrk "$server" "$scenario" "$WARMUP" "$WORK/warmup.json" "warm-$scenario-$round"
      fi
      before=$(cpu_ticks "$server")
      run_wrk "$server" "$scenario" "$DURATION" "$OUT/raw/$server-$scenario-r$round.json" "$scenario-$round"
      # The server's CPU time per request: what each request costs, whatever wrk's share.
      echo "{\"cpu_ticks\": $(($(cpu_ticks "$server") - before)), \"clk_tck\": $(getconf CLK_TCK)}" \
        >"$OUT/raw/$server-$scenario-r$round.cpu.json"
    done
  done
done

# One client provisioning BULK_SIZE users: as many POSTs one after another, against one bulk.
case " $SCENARIOS " in *" bulk "*)
  for server in scimd baseline; do
    echo "one client, $BULK_SIZE users: POSTs vs one bulk ($server)" >&2
    python3 bench/load/bulk_vs_posts.py --url "http://127.0.0.1:$(port_of $server)$BASE" \
      --token "$(token_of $server)" --prefix "$RUN-one" --count "$BULK_SIZE" --reps 3 \
      --out "$OUT/raw/$server-bulk-vs-posts.json" >&2
  done ;;
esac

# Nested groups, scimd alone (the baseline has no groups): a user's groups in a chain of 32
# groups and a groups.value filter over 1000 groups of 10 users, against the same in one group.
case " $SCENARIOS " in *" nested "*)
  echo "nested groups (scimd)" >&2
  python3 bench/load/nested.py --url "http://127.0.0.1:$SCIMD_PORT$BASE" --token "$SCIMD_TOKEN" \
    --prefix "$RUN-nested" --depth 32 --width 1000 --reps 100 --out "$OUT/raw/scimd-nested.json" >&2 ;;
esac

# The table lists the scenarios in the issue's order.
SHOWN=
for s in get filter page cursor post patch bulk; do
  case " $SCENARIOS " in *" $s "*) SHOWN="$SHOWN $s" ;; esac
done
if [ -n "$SHOWN" ]; then
python3 bench/load/report.py --raw "$OUT/raw" --out "$OUT" --scenarios "$SHOWN" --rounds "$ROUNDS" \
  --meta "date=$(date -u +%Y-%m-%dT%H:%MZ)" \
  --meta "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo +dirty)" \
  --meta "cpus=$(nproc)" --meta "users=$USERS" --meta "duration=${DURATION}s" --meta "rounds=$ROUNDS" \
  --meta "warmup=${WARMUP}s" --meta "wrk=-t$THREADS -c$CONNECTIONS" --bulk-size "$BULK_SIZE" \
  --meta "bulk=$BULK_SIZE creates per request, -c$BULK_CONNECTIONS"
fi

if [ -n "${BENCH_SCALE:-}" ]; then
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  USERS_AT_SCALE=$(python3 -c 'import sys; s=sys.argv[1].lower(); m={"k":10**3,"m":10**6}; print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(s))' "$BENCH_SCALE")
  GUEST=$(ls -t target/release/build/scimd-*/out/scimd_guest.wasm | head -1)
  mkdir -p "$WORK/scale"
  python3 bench/load/scale.py --bin "$BIN" --users "$USERS_AT_SCALE" --work "$WORK/scale" --out "$OUT" \
    --soak "${BENCH_SOAK:-600}" \
    --fixtures tests/fixtures/engines-v0.1/custom-mapping.wasm tests/fixtures/engines-v0.1/scimd-default.wasm "$GUEST"
fi
