#!/usr/bin/env bash
# A second opinion on bench/run.sh's fixed-rate p99: the same three targets (the demo model
# directly, nginx proxy_pass, sagegate with token check and rules), the same placement (proxies on
# core 1, the model and the load generator on core 0), the same rate (HALF x nginx's max, found
# with wrk as run.sh does), but paced by h2load (Debian's nghttp2-client) instead of wrk.
#
#   bench/smooth-rate.sh                               # about 5 minutes
#   DURATION=10 WARMUP=20 ROUNDS=1 bench/smooth-rate.sh
#
# Why: wrk has no constant-rate mode, so run.sh paces it with delay(), whose timers have 1 ms
# resolution: at 30 000 requests/s about 30 requests leave together at every millisecond, and the
# last of each burst waits for the 29 before it in every queue on the way. That wait grows with a
# proxy's CPU per request, so run.sh's "added p99" holds the burst as much as the proxy. h2load
# gives each of its connections its own timer (--rps, libev, sub-millisecond), started as the
# connection opens, so the same rate arrives spread over the millisecond. It logs every request
# (--log-file: start, status, microseconds to the end of the response); the percentiles below are
# computed from that log. Still closed per connection (one request in flight each), like wrk.
#
# Environment (all optional):
#   DURATION=15 WARMUP=30 (seconds)  ROUNDS=3  CONNECTIONS=64  HALF=0.5
#   RATE                total requests/s; default HALF x nginx's max rps (wrk, as in run.sh)
#   MAX_WARMUP=20s MAX_DURATION=10s  wrk runs that find nginx's max when RATE is not given
#   DEMO_PORT=18081 NGINX_PORT=18082 GATEWAY_PORT=18083 MANAGEMENT_PORT=18084 PROXY_CORE=1 LOAD_CORE=0
#   GATEWAY_JAVA_OPTS (default -XX:+UseParallelGC -Xms256m -Xmx256m), GATEWAY_JAVA
set -euo pipefail

DURATION=${DURATION:-15}
WARMUP=${WARMUP:-30}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
HALF=${HALF:-0.5}
MAX_WARMUP=${MAX_WARMUP:-20s}
MAX_DURATION=${MAX_DURATION:-10s}
DEMO_PORT=${DEMO_PORT:-18081}
NGINX_PORT=${NGINX_PORT:-18082}
GATEWAY_PORT=${GATEWAY_PORT:-18083}
MANAGEMENT_PORT=${MANAGEMENT_PORT:-18084}
PROXY_CORE=${PROXY_CORE:-1}
LOAD_CORE=${LOAD_CORE:-0}
GATEWAY_JAVA_OPTS=${GATEWAY_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
JAR="$ROOT/target/sagegate.jar"
LUA="$BENCH_DIR/post.lua"
RESULTS="$BENCH_DIR/results"
BODY='{"text":"great product"}'

log() { echo "[smooth $(date -u +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

ensure_load_tools
if ! command -v h2load >/dev/null 2>&1; then
  log "installing nghttp2-client (h2load)"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q && $sudo apt-get install -y -q nghttp2-client
fi
command -v h2load >/dev/null 2>&1 || die "h2load is required (Debian package nghttp2-client)"
if [ ! -f "$JAR" ]; then
  log "building $JAR"
  (cd "$ROOT" && mvn -o -q -DskipTests package) || die "build failed"
fi

TMP=$(mktemp -d /tmp/sagegate-smooth.XXXXXX)
PIDS=()
trap cleanup EXIT
trap 'exit 130' INT TERM
require_free_ports "$DEMO_PORT" "$NGINX_PORT" "$GATEWAY_PORT" "$MANAGEMENT_PORT"
export SAGEGATE_HOME="$TMP/home"
mkdir -p "$SAGEGATE_HOME"
printf '%s' "$BODY" >"$TMP/body.json"

start_container_targets /dev/null

TARGETS=(direct nginx sagegate)
declare -A URL=([direct]="http://127.0.0.1:$DEMO_PORT/invocations"
  [nginx]="http://127.0.0.1:$NGINX_PORT/invocations"
  [sagegate]="http://127.0.0.1:$GATEWAY_PORT/endpoints/sentiment-test/invocations")
declare -A TOK=([direct]="" [nginx]="" [sagegate]="$TOKEN")

if [ -z "${RATE:-}" ]; then
  log "nginx's max with wrk: warm-up $MAX_WARMUP, then $MAX_DURATION"
  run_wrk nginx-max-warmup "${URL[nginx]}" "" "$MAX_WARMUP" >/dev/null
  NGINX_MAX=$(field "$(run_wrk nginx-max "${URL[nginx]}" "" "$MAX_DURATION")" rps)
  RATE=$(awk -v m="$NGINX_MAX" -v h="$HALF" 'BEGIN { printf "%d", m * h }')
  log "nginx max $NGINX_MAX rps; rate $RATE rps"
fi
PER_CLIENT=$(( RATE / CONNECTIONS ))
[ "$PER_CLIENT" -gt 0 ] || die "rate $RATE is below one request/s per connection"

# h2load_run NAME URL TOKEN SECONDS -> "requests=N rps=R p50_us=.. p90_us=.. p99_us=.. p999_us=.. non2xx=M"
h2load_run() {
  local name=$1 url=$2 token=$3 seconds=$4 out="$TMP/h2load-$1.txt" logf="$TMP/h2load-$1.log"
  local auth=()
  [ -z "$token" ] || auth=(-H "Authorization: Bearer $token")
  # -D counts from the first connection; the whole run is bounded by timeout.
  taskset -c "$LOAD_CORE" timeout --kill-after=10 $(( seconds + 60 )) \
    h2load --h1 -t1 -c"$CONNECTIONS" --rps="$PER_CLIENT" -D "$seconds" -d "$TMP/body.json" \
      -H 'Content-Type: application/json' "${auth[@]}" --log-file="$logf" "$url" >"$out" 2>&1 \
    || die "h2load failed for $name: $(tail -5 "$out")"
  awk -v s="$seconds" '{ n++; if ($2 != 200) bad++; print $3 > "/dev/stderr" } END {
      printf "requests=%d rps=%.1f non2xx=%d", n, n / s, bad + 0 }' "$logf" 2>"$TMP/lat-$1.txt"
  sort -n "$TMP/lat-$1.txt" | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print " p50_us=0 p90_us=0 p99_us=0 p999_us=0"; exit }
      printf " p50_us=%d p90_us=%d p99_us=%d p999_us=%d\n", v[int(NR * 0.5) + 1], v[int(NR * 0.9) + 1],
        v[int(NR * 0.99) + 1], v[int(NR * 0.999) + 1] }'
  cat "$out" >>"$TMP/h2load-all.txt"
}

for t in "${TARGETS[@]}"; do
  log "$t: warm-up ${WARMUP}s at $RATE rps (h2load)"
  h2load_run "$t-warmup" "${URL[$t]}" "${TOK[$t]}" "$WARMUP" >/dev/null
done
declare -A BEST
for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    line=$(h2load_run "$t-$round" "${URL[$t]}" "${TOK[$t]}" "$DURATION")
    log "round $round/$ROUNDS, $t: $line"
    [ "$(field "$line" non2xx)" = 0 ] || die "$t answered non-200: $line"
    p=$(field "$line" p99_us)
    if [ -z "${BEST[$t]:-}" ] || [ "$p" -lt "$(field "${BEST[$t]}" p99_us)" ]; then BEST[$t]=$line; fi
  done
done

P99_D=$(field "${BEST[direct]}" p99_us); P99_N=$(field "${BEST[nginx]}" p99_us); P99_G=$(field "${BEST[sagegate]}" p99_us)
mkdir -p "$RESULTS"
{
  echo "## sagegate bench, smooth rate (h2load), $(date -u +'%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo);" \
    "$( (java -version 2>&1 || true) | sed -n 1p); $(h2load --version | head -1)."
  echo "Command: \`DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS RATE=$RATE bench/smooth-rate.sh\`" \
    "($PER_CLIENT requests/s on each of $CONNECTIONS connections). Best of $ROUNDS rounds by p99."
  echo
  echo "| target | rps | p50 ms | p90 ms | p99 ms | p99.9 ms |"
  echo "|---|---:|---:|---:|---:|---:|"
  for t in "${TARGETS[@]}"; do
    b=${BEST[$t]}
    printf '| %s | %.0f | %s | %s | %s | %s |\n' "$t" "$(field "$b" rps)" "$(ms "$(field "$b" p50_us)")" \
      "$(ms "$(field "$b" p90_us)")" "$(ms "$(field "$b" p99_us)")" "$(ms "$(field "$b" p999_us)")"
  done
  echo
  echo "Added p99: sagegate - direct $(ms $(( P99_G - P99_D ))) ms, sagegate - nginx $(ms $(( P99_G - P99_N ))) ms," \
    "nginx - direct $(ms $(( P99_N - P99_D ))) ms."
} | tee "$RESULTS/latest-smooth.md"
cp "$TMP/h2load-all.txt" "$RESULTS/latest-h2load.txt"
