#!/usr/bin/env bash
# Two sagegate builds side by side, on the bench's container path: CPU per request of each.
#
#   bench/compare-jars.sh OLD.jar NEW.jar          # 6 rounds of 8 s each, after 20 s warm-up
#   ROUNDS=10 DURATION=10s bench/compare-jars.sh a.jar b.jar
#   JAVA_B=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java bench/compare-jars.sh x.jar x.jar   # two JVMs
#
# Why: on a shared VM the machine's speed changes from minute to minute, so two full runs of
# bench/run.sh an hour apart cannot tell a 10% change from noise. Here both gateways run at once,
# both on core 1 (the one not under load costs nothing), and take turns under the same wrk load:
# each round measures A then B a few seconds apart. The figure that matters is the gateway's CPU
# time per request (from /proc/PID/stat), which moves less with the machine than requests per
# second do. The demo model (from NEW.jar) and wrk share core 0, as in run.sh.
#
# Environment: ROUNDS=6 DURATION=8s WARMUP=20s CONNECTIONS=64 PROXY_CORE=1 LOAD_CORE=0
#   DEMO_PORT=18091 PORT_A=18093 MGMT_A=18094 PORT_B=18095 MGMT_B=18096
#   GATEWAY_JAVA_OPTS (default: -XX:+UseParallelGC -Xms256m -Xmx256m)
#   JAVA_A, JAVA_B     the java that runs each gateway (default: java on the PATH)
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 A.jar B.jar" >&2; exit 2; }
JAR_A=$(realpath "$1"); JAR_B=$(realpath "$2")
ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-8s}
WARMUP=${WARMUP:-20s}
CONNECTIONS=${CONNECTIONS:-64}
PROXY_CORE=${PROXY_CORE:-1}
LOAD_CORE=${LOAD_CORE:-0}
DEMO_PORT=${DEMO_PORT:-18091}
PORT_A=${PORT_A:-18093}; MGMT_A=${MGMT_A:-18094}
PORT_B=${PORT_B:-18095}; MGMT_B=${MGMT_B:-18096}
GATEWAY_JAVA_OPTS=${GATEWAY_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LUA="$BENCH_DIR/post.lua"
PATH_GATEWAY=/endpoints/sentiment-test/invocations

BENCH_TAG=compare
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

ensure_load_tools
for f in "$JAR_A" "$JAR_B"; do [ -f "$f" ] || die "no such jar: $f"; done
bench_setup compare "$DEMO_PORT" "$PORT_A" "$MGMT_A" "$PORT_B" "$MGMT_B"
use_dev_home

start_demo_model "$JAR_B"
write_bench_yaml
dev_token "$JAR_B" "$SAGEGATE_HOME/dev-issuer"

GATEWAY_JAVA=${JAVA_A:-java} start_sagegate "$JAR_A" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$PORT_A" "$MGMT_A" /dev/null "$TMP/gateway-a.err"
PID_A=$STARTED_PID
GATEWAY_JAVA=${JAVA_B:-java} start_sagegate "$JAR_B" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$PORT_B" "$MGMT_B" /dev/null "$TMP/gateway-b.err"
PID_B=$STARTED_PID
wait_ready "http://127.0.0.1:$DEMO_PORT/ping" "demo model" "$DEMO_PID"
wait_ready "http://127.0.0.1:$MGMT_A/readyz" "gateway A" "$PID_A"
wait_ready "http://127.0.0.1:$MGMT_B/readyz" "gateway B" "$PID_B"

# CPU per request of each (lib.sh's cpu_per_request, user time apart: the kernel's share, the same
# socket calls for both builds, is what varies most with the machine).
echo "| round | A rps | A CPU us/req | A user us/req | B rps | B CPU us/req | B user us/req |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
cpu_ab_rounds a "http://127.0.0.1:$PORT_A$PATH_GATEWAY" "$PID_A" "" \
  b "http://127.0.0.1:$PORT_B$PATH_GATEWAY" "$PID_B" ""
echo
echo "A = $JAR_A ($("${JAVA_A:-java}" -version 2>&1 | sed -n 1p)), B = $JAR_B ($("${JAVA_B:-java}" -version 2>&1 | sed -n 1p)); $(nproc) cores; gateways on core $PROXY_CORE, wrk -c$CONNECTIONS and the demo model on core $LOAD_CORE."
