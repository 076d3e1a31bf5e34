#!/usr/bin/env bash
# sagegate AWS-path bench: nginx proxy_pass and sagegate's `sagemaker` backend, side by side in one
# run, in front of the same local STS + SageMaker Runtime emulator (plus sagegate's container
# backend to the same emulator answer, to isolate what the AWS path costs); then the SDK async client vs
# Vert.x + signer comparison (io.sagegate.bench.ClientComparison). See bench/AWS.md.
#
#   bench/aws-run.sh                              # full run (about 6 minutes)
#   DURATION=5s WARMUP=10s ROUNDS=1 COMPARE_REQUESTS=5000 bench/aws-run.sh   # quick run
#
# Pinning: the emulator and wrk on core LOAD_CORE (0); the proxy under test (nginx, one worker;
# sagegate, -XX:ActiveProcessorCount=1) on core PROXY_CORE (1). Traffic only to 127.0.0.1.
# For the load runs the emulator skips SigV4/IAM checks on SageMaker Runtime calls (nginx cannot
# sign), for both targets alike; sagegate still gets its session from the emulator's STS (checked)
# and still signs every request. The comparison runs against an emulator with all checks on.
# Results: markdown on stdout and in bench/results/aws-latest.md (git-ignored).
#
# Environment (all optional):
#   DURATION=20s WARMUP=20s CONNECTIONS=64 ROUNDS=2   (each round: nginx, sagegate, sagegate-container)
#   NGINX_PORT=18182 GATEWAY_PORT=18183 MANAGEMENT_PORT=18184 (the emulator takes a free port)
#   PROXY_CORE=1 LOAD_CORE=0
#   GATEWAY_JAVA_OPTS   (default: -XX:+UseParallelGC -Xms256m -Xmx256m)
#   GATEWAY_JAVA        the java that runs sagegate (default: java on the PATH)
#   QUIET_WAIT_S=600    how long to wait for someone else's wrk to finish before each measured run
#   COMPARE=1 COMPARE_REQUESTS=20000 COMPARE_CONCURRENCY=64 COMPARE_ROUNDS=2   (COMPARE=0 skips it)
set -euo pipefail

DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-20s}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-64}
NGINX_PORT=${NGINX_PORT:-18182}
GATEWAY_PORT=${GATEWAY_PORT:-18183}
MANAGEMENT_PORT=${MANAGEMENT_PORT:-18184}
PROXY_CORE=${PROXY_CORE:-1}
LOAD_CORE=${LOAD_CORE:-0}
GATEWAY_JAVA_OPTS=${GATEWAY_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
EMULATOR_JAVA_OPTS=${EMULATOR_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
COMPARE=${COMPARE:-1}
COMPARE_REQUESTS=${COMPARE_REQUESTS:-20000}
COMPARE_CONCURRENCY=${COMPARE_CONCURRENCY:-64}
COMPARE_ROUNDS=${COMPARE_ROUNDS:-2}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}
QUIET_WAIT_S=${QUIET_WAIT_S:-600}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
JAR="$ROOT/target/sagegate.jar"
LUA="$BENCH_DIR/aws-post.lua"
RESULTS="$BENCH_DIR/results"
ENDPOINT=bench
PATH_INVOKE=/endpoints/$ENDPOINT/invocations

BENCH_TAG=aws-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

# --- tools and build ----------------------------------------------------------------------------
ensure_load_tools
for tool in java mvn taskset curl awk timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
cd "$ROOT"
if [ ! -f "$JAR" ]; then
  log "building $JAR"
  mvn -o -q -DskipTests package || die "build failed"
fi
need_emulator_classes "emulator, comparison"

# --- processes, cleaned up on exit --------------------------------------------------------------
bench_setup aws-bench "$NGINX_PORT" "$GATEWAY_PORT" "$MANAGEMENT_PORT"
fresh_aws_credentials

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "emulator (SageMaker auth checks off, STS checked) on core $LOAD_CORE"
start_emulator emulator-load --no-sagemaker-auth
LOAD_EMU_PID=$EMU_PID
EMULATOR="http://127.0.0.1:$EMU_PORT"
log "  $EMULATOR"

start_nginx "$NGINX_PORT" "$EMU_PORT"

aws_bench_yaml "$GATEWAY_PORT" "$MANAGEMENT_PORT" >"$TMP/sagegate.yaml"
KEY_DIR="$TMP/dev-issuer"
dev_token "$JAR" "$KEY_DIR"
log "sagegate on 127.0.0.1:$GATEWAY_PORT (core $PROXY_CORE, $GATEWAY_JAVA_OPTS)"
start_sagegate "$JAR" "$TMP/sagegate.yaml" "$KEY_DIR" "$GATEWAY_PORT" "$MANAGEMENT_PORT" /dev/null "$TMP/sagegate.err"
GATEWAY_PID=$STARTED_PID

wait_ready "http://127.0.0.1:$MANAGEMENT_PORT/readyz" "sagegate" "$GATEWAY_PID"

# One functional check per target: the same answer from the emulator; sagegate checks the token.
URL_NGINX="http://127.0.0.1:$NGINX_PORT$PATH_INVOKE"
URL_GATEWAY="http://127.0.0.1:$GATEWAY_PORT$PATH_INVOKE"
URL_CONTAINER="http://127.0.0.1:$GATEWAY_PORT/endpoints/$ENDPOINT-container/invocations"
check() {
  local url=$1 auth=$2 want=$3 code
  code=$(curl -s -o "$TMP/check.json" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
    ${auth:+-H "Authorization: Bearer $auth"} -d '{"text":"great product"}' "$url" || true)
  [ "$code" = "$want" ] || die "$url answered $code, expected $want: $(head -c 300 "$TMP/check.json")"
}
# First calls: a cold JVM on one shared core (sagegate's first call also loads the SDK and asks STS)
# can take seconds; retry within START_TIMEOUT_S before judging.
first_call() {
  local url=$1 auth=$2 deadline=$((SECONDS + START_TIMEOUT_S))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
      ${auth:+-H "Authorization: Bearer $auth"} -d '{}' "$url" || true)" = 200 ] && return 0
    sleep 0.5
  done
}
first_call "$URL_NGINX" ""
first_call "$URL_GATEWAY" "$TOKEN"
check "$URL_NGINX" "" 200
check "$URL_GATEWAY" "$TOKEN" 200
grep -q '"label":"positive"' "$TMP/check.json" || die "sagegate's answer is not the emulator's: $(head -c 300 "$TMP/check.json")"
check "$URL_GATEWAY" "" 401
check "$URL_CONTAINER" "$TOKEN" 200

# --- load ---------------------------------------------------------------------------------------
# This machine is shared: another load generator (someone else's wrk) running at the same time
# ruins both measurements. Before each measured run wait (at most QUIET_WAIT_S) until none runs,
# and mark the run as contended if one still does.
foreign_wrk() { pgrep -x wrk 2>/dev/null | wc -l; }
wait_quiet() {
  local waited=0
  while [ "$(foreign_wrk)" -gt 0 ] && [ "$waited" -lt "$QUIET_WAIT_S" ]; do
    [ "$waited" = 0 ] && log "another wrk is running on this machine; waiting up to ${QUIET_WAIT_S}s"
    sleep 5; waited=$((waited + 5))
  done
  [ "$(foreign_wrk)" -eq 0 ] && echo quiet || echo CONTENDED
}
declare -A R Q
TARGETS=(nginx sagegate sagegate-container)
declare -A URL=([nginx]="$URL_NGINX" [sagegate]="$URL_GATEWAY" [sagegate-container]="$URL_CONTAINER")
declare -A TOK=([nginx]="" [sagegate]="$TOKEN" [sagegate-container]="$TOKEN")
# Both JVMs (sagegate, emulator) need their JIT warm before measuring; with one processor the
# compiler is slow, so warm both targets first, then measure them in alternation.
for t in sagegate sagegate-container nginx; do
  log "$t: warm-up $WARMUP"
  run_wrk "$t-warmup" "${URL[$t]}" "${TOK[$t]}" "$WARMUP" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    Q[$t,$round]=$(wait_quiet)
    log "round $round, $t: $DURATION, -t1 -c$CONNECTIONS (${Q[$t,$round]})"
    R[$t,$round]=$(run_wrk "$t-$round" "${URL[$t]}" "${TOK[$t]}" "$DURATION")
    [ "$(foreign_wrk)" -gt 0 ] && Q[$t,$round]=CONTENDED  # someone else's wrk started meanwhile
    log "  ${R[$t,$round]}"
  done
done
GATEWAY_CPU_S=$(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$GATEWAY_PID/stat" 2>/dev/null || echo "?")
STS_CALLS=$(curl -s --max-time 5 "http://127.0.0.1:$MANAGEMENT_PORT/metrics" | grep -E '^sagegate_credentials_cache_total' | head -5 || true)

# Stop the load setup before the client comparison.
stop_pid "$GATEWAY_PID"; stop_pid "$NGINX_PID"; stop_pid "$LOAD_EMU_PID"

# --- SDK async client vs Vert.x + signer ---------------------------------------------------------
COMPARE_OUT=""
if [ "$COMPARE" = 1 ]; then
  log "emulator (all checks on) on core $LOAD_CORE for the client comparison"
  start_emulator emulator-compare
  COMPARE_Q=$(wait_quiet)
  log "ClientComparison on core $PROXY_CORE: $COMPARE_REQUESTS requests x $COMPARE_ROUNDS rounds, concurrency $COMPARE_CONCURRENCY"
  # shellcheck disable=SC2086
  taskset -c "$PROXY_CORE" timeout --kill-after=10 600 java -XX:ActiveProcessorCount=1 $GATEWAY_JAVA_OPTS \
    -cp "$CP" io.sagegate.bench.ClientComparison requests="$COMPARE_REQUESTS" \
    concurrency="$COMPARE_CONCURRENCY" rounds="$COMPARE_ROUNDS" emulator="http://127.0.0.1:$EMU_PORT" \
    >"$TMP/compare.out" 2>"$TMP/compare.err" || die "ClientComparison failed: $(tail -5 "$TMP/compare.err")"
  COMPARE_OUT=$(grep '^RESULT ' "$TMP/compare.out")
  stop_pid "$EMU_PID"
fi

# --- report -------------------------------------------------------------------------------------
sum_field() { # TARGET KEY -> sum over rounds
  local t=$1 k=$2 r total=0
  for r in $(seq 1 "$ROUNDS"); do total=$(awk -v a="$total" -v b="$(field "${R[$t,$r]}" "$k")" 'BEGIN { print a + b }'); done
  echo "$total"
}
N_RPS=$(sum_field nginx rps); G_RPS=$(sum_field sagegate rps)
RATIO=$(awk -v g="$G_RPS" -v n="$N_RPS" 'BEGIN { printf "%.2f", g / n }')
C_RPS=$(sum_field sagegate-container rps)
RATIO_C=$(awk -v c="$C_RPS" -v n="$N_RPS" 'BEGIN { printf "%.2f", c / n }')
AWS_COST_US=$(awk -v g="$G_RPS" -v c="$C_RPS" -v r="$ROUNDS" 'BEGIN { printf "%.1f", 1e6 * r / g - 1e6 * r / c }')
ERRORS=0
for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    ERRORS=$(( ERRORS + $(field "${R[$t,$round]}" errors) + $(field "${R[$t,$round]}" non2xx) ))
  done
done
mkdir -p "$RESULTS"
{
  echo "## sagegate AWS-path bench, $(date -u +'%Y-%m-%d %H:%M UTC')"
  echo
  echo "Load average before the run (other users of the machine): $LOADAVG_START."
  echo "Machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo);" \
    "$( (java -version 2>&1 || true) | sed -n 1p); $( ("$NGINX" -v 2>&1 || true) | sed -n 1p)."
  echo "Proxy under test on core $PROXY_CORE; emulator and wrk on core $LOAD_CORE. wrk -t1 -c$CONNECTIONS," \
    "$DURATION per round after $WARMUP warm-up of each. Emulator SigV4/IAM checks on SageMaker calls: off for both targets."
  echo
  echo "| round | target | rps | p50 ms | p90 ms | p99 ms | max ms | errors | non-2xx | machine |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
  for round in $(seq 1 "$ROUNDS"); do
    for t in "${TARGETS[@]}"; do
      r=${R[$t,$round]}
      printf '| %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$t" "$(field "$r" rps)" \
        "$(ms "$(field "$r" p50_us)")" "$(ms "$(field "$r" p90_us)")" "$(ms "$(field "$r" p99_us)")" \
        "$(ms "$(field "$r" max_us)")" "$(field "$r" errors)" "$(field "$r" non2xx)" "${Q[$t,$round]}"
    done
  done
  echo
  echo "sagegate / nginx rps (summed over $ROUNDS rounds): **$RATIO** (the 0.7 target is retired: cost per" \
    "call is bench/cpu-per-call.sh's)." \
    "sagegate process CPU over the whole run: ${GATEWAY_CPU_S} s."
  echo
  echo "Same gateway, same upstream answer through the container backend (no STS, no SigV4):" \
    "sagegate-container / nginx = $RATIO_C; the AWS path costs ~$AWS_COST_US us more per request" \
    "(1/rps difference on the one core)."
  [ -n "$STS_CALLS" ] && { echo; echo '```'; echo "$STS_CALLS"; echo '```'; }
  if [ -n "$COMPARE_OUT" ]; then
    echo
    echo "Client comparison (emulator checks on; $COMPARE_REQUESTS requests per round, concurrency $COMPARE_CONCURRENCY; machine $COMPARE_Q at start):"
    echo
    echo "| round | client | rps | p50 ms | p99 ms | p99.9 ms | errors | CPU us/req | alloc KB/req | threads |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    i=0
    while read -r line; do
      i=$((i + 1))
      printf '| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' $(( (i + 1) / 2 )) \
        "$(field "$line" client)" "$(field "$line" rps)" "$(ms "$(field "$line" p50_us)")" \
        "$(ms "$(field "$line" p99_us)")" "$(ms "$(field "$line" p999_us)")" "$(field "$line" errors)" \
        "$(field "$line" cpu_us_per_req)" "$(field "$line" alloc_kb_per_req)" "$(field "$line" threads)"
    done <<<"$COMPARE_OUT"
  fi
} | tee "$RESULTS/aws-latest.md"
cp "$TMP/wrk-all.txt" "$RESULTS/aws-latest-wrk.txt"
# A run that completed answers 0 unless a call failed: the figures are reported, not judged.
[ "$ERRORS" -eq 0 ] || { echo "aws-bench: $ERRORS errors or non-2xx answers in the load runs" >&2; exit 1; }
