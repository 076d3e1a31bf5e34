#!/usr/bin/env bash
# The OpenAI-compatible path's CPU per call beside /invocations, on the same backend (the demo
# model as a container of its own, which answers both), through one sagegate.
#
#   bench/openai-cpu.sh [JAR]                      # 6 rounds of 8 s per path, after 20 s warm-up each
#   ROUNDS=3 DURATION=5s WARMUP=10s bench/openai-cpu.sh
#
# As bench/compare-jars.sh: the figure is the gateway's CPU time per request (from /proc/PID/stat),
# which moves less with a shared machine's speed than requests per second do, and the two paths
# take turns round by round, a few seconds apart. The gateway runs on PROXY_CORE; wrk and the demo
# model share LOAD_CORE. The OpenAI call is a buffered chat completion (the gateway parses the body
# before the decision and reads the answer's usage); /invocations is the container path of run.sh.
#
# Environment: ROUNDS=6 DURATION=8s WARMUP=20s CONNECTIONS=64 PROXY_CORE=1 LOAD_CORE=0
#   DEMO_PORT=18091 PORT=18093 MGMT=18094 GATEWAY_JAVA_OPTS (default: -XX:+UseParallelGC -Xms256m -Xmx256m)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JAR=$(realpath "${1:-$BENCH_DIR/../target/sagegate.jar}")
ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-20s}
CONNECTIONS=${CONNECTIONS:-64}
PROXY_CORE=${PROXY_CORE:-1}
LOAD_CORE=${LOAD_CORE:-0}
DEMO_PORT=${DEMO_PORT:-18091}
PORT=${PORT:-18093}; MGMT=${MGMT:-18094}
GATEWAY_JAVA_OPTS=${GATEWAY_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}
LUA="$BENCH_DIR/post.lua"
INVOCATIONS=/endpoints/sentiment-test/invocations
CHAT=/endpoints/sentiment-test/openai/v1/chat/completions
CHAT_BODY='{"model":"sagegate-demo","messages":[{"role":"user","content":"great product"}]}'

log() { echo "[openai-cpu $(date -u +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

ensure_load_tools
[ -f "$JAR" ] || die "no such jar: $JAR (mvn -DskipTests package)"
TMP=$(mktemp -d /tmp/sagegate-openai-cpu.XXXXXX)
PIDS=()
trap cleanup EXIT
trap 'exit 130' INT TERM
require_free_ports "$DEMO_PORT" "$PORT" "$MGMT"
export SAGEGATE_HOME="$TMP/home"
mkdir -p "$SAGEGATE_HOME"

taskset -c "$LOAD_CORE" java -XX:ActiveProcessorCount=1 -XX:+UseParallelGC -Xms128m -Xmx128m \
  -jar "$JAR" demo-model --port "$DEMO_PORT" >"$TMP/demo.out" 2>"$TMP/demo.err" &
DEMO_PID=$!; PIDS+=("$DEMO_PID")
sed "s#http://127.0.0.1:18081#http://127.0.0.1:$DEMO_PORT#" "$BENCH_DIR/sagegate-bench.yaml" >"$TMP/sagegate.yaml"
TOKEN=$(java -jar "$JAR" token --sub alice --groups data-scientists --ttl 2h --key-dir "$SAGEGATE_HOME/dev-issuer")
start_sagegate "$JAR" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$PORT" "$MGMT" /dev/null "$TMP/gateway.err"
PID=$STARTED_PID
wait_ready "http://127.0.0.1:$DEMO_PORT/ping" "demo model" "$DEMO_PID"
wait_ready "http://127.0.0.1:$MGMT/readyz" "gateway" "$PID"

cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
# measure NAME PATH BODY DURATION -> "rps cpu_us_per_request user_us_per_request"
measure() {
  local u0 s0 u1 s1 line
  read -r u0 s0 < <(cpu_ticks "$PID")
  line=$(BODY="$3" run_wrk "$1" "http://127.0.0.1:$PORT$2" "$TOKEN" "$4")
  read -r u1 s1 < <(cpu_ticks "$PID")
  [ "$(field "$line" non2xx)" = 0 ] && [ "$(field "$line" errors)" = 0 ] || die "$1: errors: $line"
  awk -v r="$(field "$line" rps)" -v n="$(field "$line" requests)" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f %.1f %.1f\n", r, (u + s) * 1e6 / hz / n, u * 1e6 / hz / n }'
}

INVOKE_BODY='{"text":"great product"}'
log "warm-up $WARMUP each"
measure warm-invocations "$INVOCATIONS" "$INVOKE_BODY" "$WARMUP" >/dev/null
measure warm-chat "$CHAT" "$CHAT_BODY" "$WARMUP" >/dev/null
echo "| round | /invocations rps | CPU us/req | user us/req | OpenAI chat rps | CPU us/req | user us/req |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
  read -r ri ci ui < <(measure "invocations-$r" "$INVOCATIONS" "$INVOKE_BODY" "$DURATION")
  read -r rc cc uc < <(measure "chat-$r" "$CHAT" "$CHAT_BODY" "$DURATION")
  echo "| $r | $ri | $ci | $ui | $rc | $cc | $uc |"
done
echo
echo "$JAR ($(java -version 2>&1 | sed -n 1p)); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); gateway on core $PROXY_CORE, wrk -c$CONNECTIONS and the demo model on core $LOAD_CORE."
