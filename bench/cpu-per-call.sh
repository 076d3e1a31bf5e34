#!/usr/bin/env bash
# CPU time per call, side by side in one run (issue 18): nginx proxy_pass, sagegate's container
# path, sagegate's AWS path, and sagegate's container path with a Redis-counted limit, all in front
# of the project's SageMaker emulator (io.sagegate.bench.EmulatorServer, SigV4/IAM checks off on
# SageMaker Runtime calls so nginx can pass them; STS still checked).
#
#   bench/cpu-per-call.sh                                   # 5 rounds of 8 s, 64 connections
#   ROUNDS=2 DURATION=4s WARMUP=10s WARMUP_MAX=20s bench/cpu-per-call.sh   # quick run
#
# Method: every proxy runs on the same core (PROXY_CORE; the gateways as one processor), the
# emulator, redis-server and wrk on LOAD_CORE. After a warm-up of each target until the JIT is quiet
# (lib.sh's warm_up), each round measures every target once, in an order that rotates from round to
# round, so the machine's drift hits all alike. The figure is the proxy process's CPU time (utime +
# stime from /proc/PID/stat; for nginx its master and worker) over the round divided by the calls
# wrk completed. Two gateways run at once: "plain" (no limits; serves both the container and the AWS
# path) and "limited" (one `limits:` entry, far above the load, counted in a local redis-server on a
# free port, persistence off); the one not under load costs nothing. The gateway's own added latency
# (audit latencyMs - backendLatencyMs, p99) is read from the plain gateway's audit records of the
# measured rounds. Traffic only to 127.0.0.1.
#
# Environment (all optional):
#   ROUNDS=5 DURATION=8s CONNECTIONS=64 PROXY_CORE=1 LOAD_CORE=0
#   WARMUP=60s WARMUP_STEP=10s WARMUP_MAX=240s JIT_QUIET_MS=50   (see warm_up in lib.sh)
#   NGINX_PORT=18282 PLAIN_PORT=18283 PLAIN_MGMT=18284 LIMITED_PORT=18285 LIMITED_MGMT=18286
#   GATEWAY_JAVA_OPTS (default: -XX:+UseParallelGC -Xms256m -Xmx256m)
#   TARGET_CONTAINER=1.4 TARGET_AWS=1.9   (ratios to nginx the issue aims for)
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-64}
PROXY_CORE=${PROXY_CORE:-1}
LOAD_CORE=${LOAD_CORE:-0}
WARMUP=${WARMUP:-60s}
WARMUP_STEP=${WARMUP_STEP:-10s}
WARMUP_MAX=${WARMUP_MAX:-240s}
JIT_QUIET_MS=${JIT_QUIET_MS:-50}
NGINX_PORT=${NGINX_PORT:-18282}
PLAIN_PORT=${PLAIN_PORT:-18283}; PLAIN_MGMT=${PLAIN_MGMT:-18284}
LIMITED_PORT=${LIMITED_PORT:-18285}; LIMITED_MGMT=${LIMITED_MGMT:-18286}
GATEWAY_JAVA_OPTS=${GATEWAY_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
EMULATOR_JAVA_OPTS=${EMULATOR_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
TARGET_CONTAINER=${TARGET_CONTAINER:-1.4}
TARGET_AWS=${TARGET_AWS:-1.9}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
JAR="$ROOT/target/sagegate.jar"
LUA="$BENCH_DIR/aws-post.lua"
ENDPOINT=bench

BENCH_TAG=cpu-per-call
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

ensure_load_tools
for tool in java taskset curl awk timeout python3 redis-server; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required (redis-server: apt-get install redis-server)"
done
cd "$ROOT"
[ -f "$JAR" ] || { log "building $JAR"; mvn -o -q -DskipTests package || die "build failed"; }
need_emulator_classes emulator

bench_setup cpu-per-call "$NGINX_PORT" "$PLAIN_PORT" "$PLAIN_MGMT" "$LIMITED_PORT" "$LIMITED_MGMT"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
fresh_aws_credentials

# --- upstream: the emulator; redis-server on a free port ----------------------------------------
log "emulator (SageMaker auth checks off, STS checked) on core $LOAD_CORE"
start_emulator emulator --no-sagemaker-auth
EMULATOR="http://127.0.0.1:$EMU_PORT"

REDIS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "redis-server on 127.0.0.1:$REDIS_PORT (core $LOAD_CORE, no persistence)"
taskset -c "$LOAD_CORE" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
  --dir "$TMP" --daemonize no --protected-mode yes >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!; PIDS+=("$REDIS_PID")

start_nginx "$NGINX_PORT" "$EMU_PORT"

# gateway_yaml PORT MGMT [LIMITED]: both endpoints (lib.sh's aws_bench_yaml); LIMITED adds the store
# and one limit on the container endpoint, far above what one core can serve (so it counts every
# call and refuses none).
gateway_yaml() {
  aws_bench_yaml "$1" "$2"
  if [ "${3:-}" = limited ]; then
    cat <<EOF
admission:
  # timeout well above a round trip on a loaded machine (100 ms timed out under load average 20);
  # closed: a store failure shows as a 503, never as an uncounted call
  store: {url: "redis://127.0.0.1:$REDIS_PORT", timeout: 2s}
limits:
  - id: bench-per-subject
    principal: {groups: [data-scientists]}
    resource: {endpoints: [$ENDPOINT-container]}
    key: [subject]
    rate: 1000000
    per: 1s
    onStoreError: closed
EOF
  fi
}
gateway_yaml "$PLAIN_PORT" "$PLAIN_MGMT" >"$TMP/plain.yaml"
gateway_yaml "$LIMITED_PORT" "$LIMITED_MGMT" limited >"$TMP/limited.yaml"
KEY_DIR="$TMP/dev-issuer"
dev_token "$JAR" "$KEY_DIR"
log "sagegate plain and limited on core $PROXY_CORE ($GATEWAY_JAVA_OPTS)"
start_sagegate "$JAR" "$TMP/plain.yaml" "$KEY_DIR" "$PLAIN_PORT" "$PLAIN_MGMT" "$TMP/plain-audit.jsonl" "$TMP/plain.err"
PLAIN_PID=$STARTED_PID
start_sagegate "$JAR" "$TMP/limited.yaml" "$KEY_DIR" "$LIMITED_PORT" "$LIMITED_MGMT" "$TMP/limited-audit.jsonl" "$TMP/limited.err"
LIMITED_PID=$STARTED_PID
for _ in $(seq 1 $((START_TIMEOUT_S * 10))); do
  (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && break
  kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$TMP/nginx/stderr")"
  sleep 0.1
done
wait_ready "http://127.0.0.1:$PLAIN_MGMT/readyz" "sagegate plain" "$PLAIN_PID"
wait_ready "http://127.0.0.1:$LIMITED_MGMT/readyz" "sagegate limited" "$LIMITED_PID"

TARGETS=(nginx container aws limited)
declare -A URL=(
  [nginx]="http://127.0.0.1:$NGINX_PORT/endpoints/$ENDPOINT/invocations"
  [container]="http://127.0.0.1:$PLAIN_PORT/endpoints/$ENDPOINT-container/invocations"
  [aws]="http://127.0.0.1:$PLAIN_PORT/endpoints/$ENDPOINT/invocations"
  [limited]="http://127.0.0.1:$LIMITED_PORT/endpoints/$ENDPOINT-container/invocations")
declare -A TOK=([nginx]="" [container]="$TOKEN" [aws]="$TOKEN" [limited]="$TOKEN")
declare -A PID=([nginx]="$NGINX_PID" [container]="$PLAIN_PID" [aws]="$PLAIN_PID" [limited]="$LIMITED_PID")

# First calls (a cold JVM's first AWS call loads the SDK and asks STS), bounded, then one check each.
for t in "${TARGETS[@]}"; do
  deadline=$((SECONDS + START_TIMEOUT_S)); code=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    code=$(curl -s -D "$TMP/check-$t.head" -o "$TMP/check-$t.json" -w '%{http_code}' --max-time 20 \
      -H 'Content-Type: application/json' ${TOK[$t]:+-H "Authorization: Bearer ${TOK[$t]}"} \
      -d '{"text":"great product"}' "${URL[$t]}" || true)
    [ "$code" = 200 ] && break
    sleep 0.5
  done
  [ "$code" = 200 ] || die "$t answered $code: $(head -c 300 "$TMP/check-$t.json")"
done
grep -qi '^RateLimit-Policy:' "$TMP/check-limited.head" || die "the limited gateway's answer has no RateLimit-Policy: the limit is not applied"
grep -qi '^RateLimit-Policy:' "$TMP/check-container.head" && die "the plain gateway's answer carries RateLimit-Policy"

# --- warm-up, then alternating rounds -----------------------------------------------------------
declare -A WARM
for t in aws container limited nginx; do
  log "$t: warm-up, at least $WARMUP (at most $WARMUP_MAX), until the JIT is quiet"
  jit_pids=("$EMU_PID"); [ "$t" != nginx ] && jit_pids+=("${PID[$t]}")
  warm_up "$t" "${URL[$t]}" "${TOK[$t]}" "${jit_pids[@]}"
  WARM[$t]=$WARMED
done

# cpu_ticks TARGET: utime + stime (clock ticks) of the proxy process (nginx: master and workers).
cpu_ticks() {
  local p total=0 pids=("${PID[$1]}")
  [ "$1" = nginx ] && pids+=($(pgrep -P "$NGINX_PID" || true))
  for p in "${pids[@]}"; do total=$(( total + $(awk '{ print $14 + $15 }' "/proc/$p/stat") )); done
  echo "$total"
}
redis_us() { # redis-server's CPU (µs) so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1e6 / hz }' "/proc/$REDIS_PID/stat"
}
HZ=$(getconf CLK_TCK)
declare -A US RPS
AUDIT_MARK=$(wc -l <"$TMP/plain-audit.jsonl")
REDIS_US=0; LIMITED_CALLS=0
for round in $(seq 1 "$ROUNDS"); do
  n=${#TARGETS[@]}
  for i in $(seq 0 $((n - 1))); do
    t=${TARGETS[$(( (i + round - 1) % n ))]}
    c0=$(cpu_ticks "$t"); r0=$(redis_us)
    line=$(run_wrk "$t-$round" "${URL[$t]}" "${TOK[$t]}" "$DURATION")
    c1=$(cpu_ticks "$t"); r1=$(redis_us)
    [ "$(field "$line" errors)" = 0 ] && [ "$(field "$line" non2xx)" = 0 ] || die "$t round $round: errors: $line"
    reqs=$(field "$line" requests)
    US[$t,$round]=$(awk -v c=$((c1 - c0)) -v n="$reqs" -v hz="$HZ" 'BEGIN { printf "%.1f", c * 1e6 / hz / n }')
    RPS[$t,$round]=$(field "$line" rps)
    if [ "$t" = limited ]; then REDIS_US=$((REDIS_US + r1 - r0)); LIMITED_CALLS=$((LIMITED_CALLS + reqs)); fi
    log "round $round $t: ${US[$t,$round]} µs/call, $(field "$line" rps) rps"
  done
done

# --- report -------------------------------------------------------------------------------------
stat_of() { # TARGET -> "median mean min max" over the rounds
  local t=$1 r
  for r in $(seq 1 "$ROUNDS"); do echo "${US[$t,$r]}"; done | sort -g |
    awk '{ v[NR] = $1; s += $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
      printf "%.1f %.1f %.1f %.1f\n", m, s / NR, v[1], v[NR] }'
}
# Gateway's own added latency (ms) per endpoint from the plain gateway's audit records of the rounds.
own_p99() {
  tail -n +"$((AUDIT_MARK + 1))" "$TMP/plain-audit.jsonl" | python3 -c '
import json, sys
ep = sys.argv[1]
v = []
for l in sys.stdin:
    if not l.startswith("{"): continue
    r = json.loads(l)
    if r.get("endpoint") != ep or r.get("status") != 200 or "backendLatencyMs" not in r: continue
    v.append(r["latencyMs"] - r["backendLatencyMs"])
v.sort()
q = lambda p: v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")
print("%.3f %.3f %d" % (q(0.5), q(0.99), len(v)))' "$1"
}
read -r N_MED N_MEAN N_MIN N_MAX < <(stat_of nginx)
ratio() { awk -v a="$1" -v b="$N_MED" 'BEGIN { printf "%.2f", a / b }'; }
{
  echo "## CPU per call, $(date -u +'%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command: \`ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS WARMUP=$WARMUP WARMUP_MAX=$WARMUP_MAX JIT_QUIET_MS=$JIT_QUIET_MS bench/cpu-per-call.sh\`."
  echo "Load average at start: $LOADAVG_START ($(nproc) cores); proxies on core $PROXY_CORE, emulator, redis-server and wrk on core $LOAD_CORE."
  echo "Warm-up: aws ${WARM[aws]}, container ${WARM[container]}, limited ${WARM[limited]}, nginx ${WARM[nginx]}."
  echo
  printf '| target |'; for r in $(seq 1 "$ROUNDS"); do printf ' round %d µs |' "$r"; done
  echo ' median µs/call | mean | x nginx (median) | aim |'
  printf '|---|'; for _ in $(seq 1 "$ROUNDS"); do printf -- '---:|'; done; echo '---:|---:|---:|---|'
  for t in "${TARGETS[@]}"; do
    read -r med mean _ _ < <(stat_of "$t")
    aim=""; [ "$t" = container ] && aim="<= $TARGET_CONTAINER"; [ "$t" = aws ] && aim="<= $TARGET_AWS"
    printf '| %s |' "$t"; for r in $(seq 1 "$ROUNDS"); do printf ' %s |' "${US[$t,$r]}"; done
    echo " $med | $mean | $(ratio "$med") | $aim |"
  done
  echo
  printf '| rps per round |'; for r in $(seq 1 "$ROUNDS"); do printf ' %s |' "$r"; done; echo
  printf '|---|'; for _ in $(seq 1 "$ROUNDS"); do printf -- '---:|'; done; echo
  for t in "${TARGETS[@]}"; do
    printf '| %s |' "$t"; for r in $(seq 1 "$ROUNDS"); do printf ' %.0f |' "${RPS[$t,$r]}"; done; echo
  done
  echo
  read -r c_med _ < <(stat_of container); read -r a_med _ < <(stat_of aws); read -r l_med _ < <(stat_of limited)
  echo "Verdict: container $(ratio "$c_med")x ($(awk -v r="$(ratio "$c_med")" -v t="$TARGET_CONTAINER" 'BEGIN { print (r <= t ? "met" : "NOT met") }')), aws $(ratio "$a_med")x ($(awk -v r="$(ratio "$a_med")" -v t="$TARGET_AWS" 'BEGIN { print (r <= t ? "met" : "NOT met") }'))."
  echo "AWS path over container path: $(awk -v a="$a_med" -v c="$c_med" 'BEGIN { printf "%.1f", a - c }') µs/call (median)."
  echo "Redis-limited over unlimited (same container path, one limit, EVALSHA per call): $(awk -v l="$l_med" -v c="$c_med" 'BEGIN { printf "%+.1f µs/call (%+.0f%%)", l - c, (l - c) * 100 / c }') in the gateway;" \
    "redis-server itself $(awk -v u="$REDIS_US" -v n="$LIMITED_CALLS" 'BEGIN { printf "%.1f", n ? u / n : 0 }') µs/call on the load core."
  read -r cp50 cp99 cn < <(own_p99 "$ENDPOINT-container")
  read -r ap50 ap99 an < <(own_p99 "$ENDPOINT")
  echo "Gateway's own added latency (audit latencyMs - backendLatencyMs, measured rounds, under max load): container p50 $cp50 ms, p99 **$cp99 ms** ($cn calls); aws p50 $ap50 ms, p99 **$ap99 ms** ($an calls)."
} | tee "$TMP/report.md"
mkdir -p "$BENCH_DIR/results"
cp "$TMP/report.md" "$BENCH_DIR/results/cpu-per-call-latest.md"
