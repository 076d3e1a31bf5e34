#!/usr/bin/env bash
# Scale (issue 18): memory per open response stream, and large bodies under a 512 MiB heap.
#
#   bench/streams.sh                               # 5,000 streams, then 50 x 6 MiB bodies
#   STREAMS=1000 BODY_ROUNDS=1 bench/streams.sh    # quick run
#
# 1. Streams: one sagegate (-Xmx512m, core PROXY_CORE) in front of a slow streaming model
#    (bench/streams.py model: a python asyncio server speaking the container contract, one chunk
#    every CHUNK_INTERVAL_S). STREAMS concurrent InvokeEndpointWithResponseStream calls are opened
#    (each one's head and first chunk received) and held open. The gateway's RSS (/proc VmRSS) and
#    heap in use after a full GC (jcmd GC.run, then jvm_memory_used_bytes{area="heap"} from the
#    management port) are read before (after a warm-up of WARM_STREAMS streams opened and closed)
#    and with all streams open; the difference divided by the streams open is the cost per stream.
# 2. Bodies: BODIES concurrent POSTs of BODY_BYTES (6 MiB, the SageMaker limit) each to the same
#    gateway, BODY_ROUNDS times; the model answers after BODY_DELAY_MS so they are all in flight at
#    once. Every call must be answered 200, the gateway must survive (no OutOfMemoryError in its
#    log); the heap in use is sampled every 100 ms and its peak reported with the peak RSS (VmHWM).
#
# ulimit -n is raised to the hard limit (the gateway holds two sockets per stream). Traffic only to
# 127.0.0.1; every wait is bounded; every process started is stopped by its PID.
#
# Environment (all optional):
#   STREAMS=5000 WARM_STREAMS=200 CHUNK_INTERVAL_S=5 OPEN_TIMEOUT_S=120 HOLD_S=60
#   BODIES=50 BODY_BYTES=6291456 BODY_ROUNDS=3 BODY_DELAY_MS=500 BODY_TIMEOUT_S=120
#   MODEL_PORT=18391 PORT=18393 MGMT=18394 PROXY_CORE=1 LOAD_CORE=0
#   GATEWAY_JAVA_OPTS (default: -XX:+UseParallelGC -Xmx512m)
set -euo pipefail

STREAMS=${STREAMS:-5000}
WARM_STREAMS=${WARM_STREAMS:-200}
CHUNK_INTERVAL_S=${CHUNK_INTERVAL_S:-5}
OPEN_TIMEOUT_S=${OPEN_TIMEOUT_S:-120}
HOLD_S=${HOLD_S:-60}
BODIES=${BODIES:-50}
BODY_BYTES=${BODY_BYTES:-6291456}
BODY_ROUNDS=${BODY_ROUNDS:-3}
BODY_DELAY_MS=${BODY_DELAY_MS:-500}
BODY_TIMEOUT_S=${BODY_TIMEOUT_S:-120}
MODEL_PORT=${MODEL_PORT:-18391}
PORT=${PORT:-18393}
MGMT=${MGMT:-18394}
PROXY_CORE=${PROXY_CORE:-1}
LOAD_CORE=${LOAD_CORE:-0}
GATEWAY_JAVA_OPTS=${GATEWAY_JAVA_OPTS:--XX:+UseParallelGC -Xmx512m}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JAR=${JAR:-$BENCH_DIR/../target/sagegate.jar}
PY="$BENCH_DIR/streams.py"
BENCH_TAG=streams
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

[ -f "$JAR" ] || die "no $JAR: build it with mvn -DskipTests package"
for tool in java jcmd python3 taskset curl; do command -v "$tool" >/dev/null || die "$tool is required"; done
need_fds=$((STREAMS * 2 + 1000))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need_fds" ] \
  || die "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); $STREAMS streams need about $need_fds"
bench_setup streams "$MODEL_PORT" "$PORT" "$MGMT"
use_dev_home
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

log "slow streaming model on 127.0.0.1:$MODEL_PORT (core $LOAD_CORE; a chunk every ${CHUNK_INTERVAL_S}s)"
taskset -c "$LOAD_CORE" python3 "$PY" model "$MODEL_PORT" "$CHUNK_INTERVAL_S" $((OPEN_TIMEOUT_S + HOLD_S + 60)) \
  "$BODY_DELAY_MS" >"$TMP/model.out" 2>&1 &
MODEL_PID=$!; PIDS+=("$MODEL_PID")

slow_model_yaml "timeout: 60s, maxConnections: $((STREAMS + 1000))"
dev_token "$JAR" "$SAGEGATE_HOME/dev-issuer"
log "sagegate on 127.0.0.1:$PORT (core $PROXY_CORE, $GATEWAY_JAVA_OPTS)"
start_sagegate "$JAR" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$PORT" "$MGMT" /dev/null "$TMP/gateway.err"
GW_PID=$STARTED_PID
wait_ready "http://127.0.0.1:$MODEL_PORT/ping" "model" "$MODEL_PID"
wait_ready "http://127.0.0.1:$MGMT/readyz" sagegate "$GW_PID"
STREAM_URL="http://127.0.0.1:$PORT/endpoints/slow/invocations-response-stream"
BODY_URL="http://127.0.0.1:$PORT/endpoints/slow/invocations"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$GW_PID/status"; }
heap_bytes() {
  curl -s --max-time 10 "http://127.0.0.1:$MGMT/metrics" |
    awk '/^jvm_memory_used_bytes\{.*area="heap"/ { s += $NF } END { printf "%.0f\n", s }'
}
gc_heap_bytes() { timeout 60 jcmd "$GW_PID" GC.run >/dev/null; heap_bytes; }
threads() { ls "/proc/$GW_PID/task" | wc -l; }

# run_streams N HOLD -> starts the client on LOAD_CORE; waits (bounded) for its OPEN line.
run_streams() {
  local n=$1 hold=$2 out="$TMP/streams-$1.out"
  taskset -c "$LOAD_CORE" python3 "$PY" streams "$STREAM_URL" "$TOKEN" "$n" "$OPEN_TIMEOUT_S" "$hold" >"$out" 2>&1 &
  CLIENT_PID=$!; PIDS+=("$CLIENT_PID")
  for _ in $(seq 1 $(( (OPEN_TIMEOUT_S + 30) * 10 ))); do
    grep -q '^OPEN ' "$out" && { grep '^OPEN ' "$out"; return 0; }
    kill -0 "$CLIENT_PID" 2>/dev/null || die "stream client exited: $(tail -5 "$out")"
    sleep 0.1
  done
  die "stream client did not report within $((OPEN_TIMEOUT_S + 30))s"
}

# --- 1. open streams ----------------------------------------------------------------------------
log "warm-up: $WARM_STREAMS streams opened and closed"
run_streams "$WARM_STREAMS" 2 >/dev/null
wait "$CLIENT_PID" || true
sleep 2  # the gateway sees the closes and frees the calls (not a synchronisation: figures only)
HEAP0=$(gc_heap_bytes); RSS0=$(rss_kib); THR0=$(threads)
log "before: heap ${HEAP0} B after GC, RSS ${RSS0} KiB, $THR0 threads"
log "opening $STREAMS streams"
run_streams "$STREAMS" "$HOLD_S" >/dev/null
OPEN_LINE=$(grep '^OPEN ' "$TMP/streams-$STREAMS.out")
log "$OPEN_LINE"
OPEN_OK=$(echo "$OPEN_LINE" | sed -n 's/.*ok=\([0-9]*\).*/\1/p')
STREAMS_OPEN_METRIC=$(curl -s --max-time 10 "http://127.0.0.1:$MGMT/metrics" | awk '/^sagegate_streams_open/ { s += $NF } END { print s + 0 }')
HEAP1=$(gc_heap_bytes); RSS1=$(rss_kib); THR1=$(threads)
log "open: heap ${HEAP1} B after GC, RSS ${RSS1} KiB, $THR1 threads, sagegate_streams_open $STREAMS_OPEN_METRIC"
stop_pid "$CLIENT_PID"
[ "${OPEN_OK:-0}" -gt 0 ] || die "no stream opened"
PER_HEAP=$(awk -v a="$HEAP0" -v b="$HEAP1" -v n="$OPEN_OK" 'BEGIN { printf "%.1f", (b - a) / 1024 / n }')
PER_RSS=$(awk -v a="$RSS0" -v b="$RSS1" -v n="$OPEN_OK" 'BEGIN { printf "%.1f", (b - a) / n }')
sleep 3  # let the gateway close the streams the client dropped before the body test (figures only)

# --- 2. large bodies ----------------------------------------------------------------------------
BODY_RESULTS=()
PEAK=0
for r in $(seq 1 "$BODY_ROUNDS"); do
  log "bodies round $r: $BODIES concurrent POSTs of $BODY_BYTES bytes"
  taskset -c "$LOAD_CORE" python3 "$PY" bodies "$BODY_URL" "$TOKEN" "$BODIES" "$BODY_BYTES" "$BODY_TIMEOUT_S" \
    >"$TMP/bodies-$r.out" 2>&1 &
  BODY_PID=$!; PIDS+=("$BODY_PID")
  for _ in $(seq 1 $(( (BODY_TIMEOUT_S + 30) * 10 ))); do
    kill -0 "$BODY_PID" 2>/dev/null || break
    h=$(heap_bytes); [ "${h:-0}" -gt "$PEAK" ] && PEAK=$h
    sleep 0.1
  done
  stop_pid "$BODY_PID"
  line=$(grep '^BODIES ' "$TMP/bodies-$r.out" || echo "BODIES none: $(tail -3 "$TMP/bodies-$r.out")")
  log "  $line"
  BODY_RESULTS+=("$line")
  kill -0 "$GW_PID" 2>/dev/null || die "the gateway died (see $TMP/gateway.err)"
done
OOM=$(grep -c 'OutOfMemoryError' "$TMP/gateway.err" || true)
HWM=$(hwm_kib)

{
  echo "## Scale, $(date -u +'%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command: \`STREAMS=$STREAMS CHUNK_INTERVAL_S=$CHUNK_INTERVAL_S BODIES=$BODIES BODY_BYTES=$BODY_BYTES BODY_ROUNDS=$BODY_ROUNDS GATEWAY_JAVA_OPTS='$GATEWAY_JAVA_OPTS' bench/streams.sh\`."
  echo "Load average at start: $LOADAVG_START ($(nproc) cores); gateway on core $PROXY_CORE as one processor, model and clients on core $LOAD_CORE."
  echo
  echo "| | before (after $WARM_STREAMS warm-up streams) | $OPEN_OK streams open | per open stream |"
  echo "|---|---:|---:|---:|"
  echo "| heap in use after a full GC | $(awk -v b="$HEAP0" 'BEGIN { printf "%.1f MiB", b / 1048576 }') | $(awk -v b="$HEAP1" 'BEGIN { printf "%.1f MiB", b / 1048576 }') | **$PER_HEAP KiB** |"
  echo "| RSS | $(awk -v k="$RSS0" 'BEGIN { printf "%.1f MiB", k / 1024 }') | $(awk -v k="$RSS1" 'BEGIN { printf "%.1f MiB", k / 1024 }') | **$PER_RSS KiB** |"
  echo "| threads | $THR0 | $THR1 | |"
  echo
  echo "Streams client: $OPEN_LINE; sagegate_streams_open with all open: $STREAMS_OPEN_METRIC. Aim: under 100 KiB per stream."
  echo
  echo "Bodies ($BODIES concurrent x $BODY_BYTES bytes, $BODY_ROUNDS rounds, $GATEWAY_JAVA_OPTS):"
  for l in "${BODY_RESULTS[@]}"; do echo "- $l"; done
  echo
  echo "Peak heap in use (sampled every 100 ms): $(awk -v b="$PEAK" 'BEGIN { printf "%.0f MiB", b / 1048576 }'); peak RSS of the run (VmHWM): $(awk -v k="$HWM" 'BEGIN { printf "%.0f MiB", k / 1024 }'); OutOfMemoryError in the gateway's log: $OOM."
} | tee "$TMP/report.md"
mkdir -p "$BENCH_DIR/results"
cp "$TMP/report.md" "$BENCH_DIR/results/streams-latest.md"
