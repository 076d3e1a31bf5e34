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

BENCH_TAG=openai-cpu
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

ensure_load_tools
[ -f "$JAR" ] || die "no such jar: $JAR (mvn -DskipTests package)"
bench_setup openai-cpu "$DEMO_PORT" "$PORT" "$MGMT"
use_dev_home

start_demo_model "$JAR"
write_bench_yaml
dev_token "$JAR" "$SAGEGATE_HOME/dev-issuer"
start_sagegate "$JAR" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$PORT" "$MGMT" /dev/null "$TMP/gateway.err"
PID=$STARTED_PID
wait_ready "http://127.0.0.1:$DEMO_PORT/ping" "demo model" "$DEMO_PID"
wait_ready "http://127.0.0.1:$MGMT/readyz" "gateway" "$PID"

INVOKE_BODY='{"text":"great product"}'
echo "| round | /invocations rps | CPU us/req | user us/req | OpenAI chat rps | CPU us/req | user us/req |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
cpu_ab_rounds invocations "http://127.0.0.1:$PORT$INVOCATIONS" "$PID" "$INVOKE_BODY" \
  chat "http://127.0.0.1:$PORT$CHAT" "$PID" "$CHAT_BODY"
echo
echo "$JAR ($(java -version 2>&1 | sed -n 1p)); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); gateway on core $PROXY_CORE, wrk -c$CONNECTIONS and the demo model on core $LOAD_CORE."
