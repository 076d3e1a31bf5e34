#!/usr/bin/env bash
# Who takes sagegate's core: per-thread CPU and run-queue wait of one or more sagegate builds at a
# fixed rate, read from /proc/PID/task/TID/schedstat (Linux). The builds take turns, each started
# fresh, so that two builds are compared within the same minutes of a shared machine.
#
#   bench/sched-ab.sh OLD.jar NEW.jar               # each: 20 s max load, 20 s at RATE, 3 x 10 s at RATE
#   RATE=20000 REPEAT=2 bench/sched-ab.sh a.jar b.jar
#
# For each 10 s run it prints wrk's rate and p99, and per busy thread of the gateway the CPU time it
# ran ("run") and the time it was runnable but waiting for the core ("wait"). On one core, the event
# loop's wait is the time another thread of the process (the JIT compiler, the audit writer, GC)
# held the core while requests queued. The demo model and wrk share core LOAD_CORE, as in run.sh.
#
# Environment: RATE=24000 REPEAT=1 CONNECTIONS=64 PROXY_CORE=1 LOAD_CORE=0
#   DEMO_PORT=18101 GATEWAY_PORT=18103 MANAGEMENT_PORT=18104 GATEWAY_JAVA_OPTS GATEWAY_JAVA
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 A.jar [B.jar ...]" >&2; exit 2; }
RATE=${RATE:-24000}
REPEAT=${REPEAT:-1}
CONNECTIONS=${CONNECTIONS:-64}
PROXY_CORE=${PROXY_CORE:-1}
LOAD_CORE=${LOAD_CORE:-0}
DEMO_PORT=${DEMO_PORT:-18101}
GATEWAY_PORT=${GATEWAY_PORT:-18103}
MANAGEMENT_PORT=${MANAGEMENT_PORT:-18104}
GATEWAY_JAVA_OPTS=${GATEWAY_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LUA="$BENCH_DIR/post.lua"
URL="http://127.0.0.1:$GATEWAY_PORT/endpoints/sentiment-test/invocations"

BENCH_TAG=sched
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

ensure_load_tools
JARS=()
for f in "$@"; do [ -f "$f" ] || die "no such jar: $f"; JARS+=("$(realpath "$f")"); done
bench_setup sched "$DEMO_PORT" "$GATEWAY_PORT" "$MANAGEMENT_PORT"
use_dev_home
write_bench_yaml

# Per-thread "tid name run_ns wait_ns" of a process.
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "$(basename "$t") $(tr ' ' '_' <"$t/comm") $(cut -d' ' -f1,2 "$t/schedstat")"
  done 2>/dev/null | sort
}

for _ in $(seq 1 "$REPEAT"); do
  for jar in "${JARS[@]}"; do
    start_demo_model "$jar"
    dev_token "$jar" "$SAGEGATE_HOME/dev-issuer"
    start_sagegate "$jar" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$GATEWAY_PORT" "$MANAGEMENT_PORT" \
      /dev/null "$TMP/gateway.err"
    GATEWAY_PID=$STARTED_PID
    wait_ready "http://127.0.0.1:$DEMO_PORT/ping" "demo model" "$DEMO_PID"
    wait_ready "http://127.0.0.1:$MANAGEMENT_PORT/readyz" "sagegate" "$GATEWAY_PID"
    log "$(basename "$jar"): warm-up 20 s at max, 20 s at $RATE/s"
    run_wrk warm-max "$URL" "$TOKEN" 20s >/dev/null
    run_wrk warm-rate "$URL" "$TOKEN" 20s "$RATE" >/dev/null
    for run in 1 2 3; do
      threads "$GATEWAY_PID" >"$TMP/before"
      line=$(run_wrk "run-$run" "$URL" "$TOKEN" 10s "$RATE")
      threads "$GATEWAY_PID" >"$TMP/after"
      printf '%s run %d: rps=%.0f p99=%s ms |' "$(basename "$jar")" "$run" "$(field "$line" rps)" \
        "$(ms "$(field "$line" p99_us)")"
      join "$TMP/before" "$TMP/after" | awk '{ run = ($6 - $3) / 1e6; wait = ($7 - $4) / 1e6
        if (run + wait >= 20) printf " %s run=%.0fms wait=%.0fms |", $2, run, wait }'
      echo
    done
    stop_pid "$GATEWAY_PID"; stop_pid "$DEMO_PID"
  done
done
