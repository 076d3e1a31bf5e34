#!/usr/bin/env bash
# Overload with limits on: a slow model behind an endpoint with maxConcurrency, driven first at
# about half what the gateway admits, then at several times that. Reports, from the gateway's own
# audit records, the p99 of refusals (429) and of admitted calls (200), and wrk's connection errors
# and timeouts. Aims (issue 18): refusals stay fast (p99 under 5 ms), admitted calls keep a p99
# within twice the unloaded one, no connection errors or timeouts.
#
#   bench/overload.sh                      # MAX=16 DELAY_MS=50 DURATION=20s
#   MAX=32 DELAY_MS=100 DURATION=30s bench/overload.sh
#
# The slow model is a small python3 threading HTTP server speaking the container contract, so the
# model's delay is the only thing that bounds what the gateway can admit: MAX / DELAY calls per
# second. Not a timed test: a shared machine's figures vary; run it on a quiet one.
set -euo pipefail

MAX=${MAX:-16}
DELAY_MS=${DELAY_MS:-50}
DURATION=${DURATION:-20s}
LOAD_CORE=${LOAD_CORE:-0}
PROXY_CORE=${PROXY_CORE:-1}
MODEL_PORT=${MODEL_PORT:-18191}
PORT=${PORT:-18193}
MGMT=${MGMT:-18194}
GATEWAY_JAVA_OPTS=${GATEWAY_JAVA_OPTS:--XX:+UseParallelGC -Xms256m -Xmx256m}
START_TIMEOUT_S=${START_TIMEOUT_S:-60}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JAR=${JAR:-$BENCH_DIR/../target/sagegate.jar}
LUA="$BENCH_DIR/post.lua"
BENCH_TAG=overload
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

[ -f "$JAR" ] || die "no $JAR: build it with mvn -DskipTests package"
ensure_load_tools
bench_setup overload "$MODEL_PORT" "$PORT" "$MGMT"
use_dev_home

cat >"$TMP/slow_model.py" <<'PY'
import http.server, socketserver, sys, time
delay = int(sys.argv[2]) / 1000.0
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def _answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self._answer(b'{"status":"ok"}')
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(delay)
        self._answer(b'{"label":"POSITIVE"}')
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    def handle_error(self, *a): pass  # wrk closing its connections at the end is not news
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
taskset -c "$LOAD_CORE" python3 "$TMP/slow_model.py" "$MODEL_PORT" "$DELAY_MS" &
PIDS+=("$!")

slow_model_yaml "timeout: 30s" "maxConcurrency: $MAX"
dev_token "$JAR" "$SAGEGATE_HOME/dev-issuer"
start_sagegate "$JAR" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$PORT" "$MGMT" "$TMP/audit.jsonl" "$TMP/gateway.err"
GW_PID=$STARTED_PID
wait_ready "http://127.0.0.1:$MGMT/readyz" sagegate "$GW_PID"
URL="http://127.0.0.1:$PORT/endpoints/slow/invocations"

# p99 (ms) of the gateway's own latency for one status, from the audit records since line $2.
p99() {
  python3 - "$TMP/audit.jsonl" "$1" "$2" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[3]):]
t = sorted(r["latencyMs"] if "latencyMs" in r else r.get("totalMs", 0)
           for r in map(json.loads, (l for l in lines if l.startswith("{")))
           if r.get("status") == int(sys.argv[2]))
print("%.2f ms (n=%d)" % (t[int(len(t) * 0.99) - 1] if t else float("nan"), len(t)))
PY
}

log "warm-up (10 s)"
CONNECTIONS=$((MAX / 2)) run_wrk warm "$URL" "$TOKEN" 10s >/dev/null
mark=$(wc -l <"$TMP/audit.jsonl")
log "unloaded: $((MAX / 2)) connections, below the cap"
unloaded=$(CONNECTIONS=$((MAX / 2)) run_wrk unloaded "$URL" "$TOKEN" "$DURATION")
unloaded_p99=$(p99 200 "$mark")
mark=$(wc -l <"$TMP/audit.jsonl")
log "overload: $((MAX * 4)) connections against a cap of $MAX"
overload=$(CONNECTIONS=$((MAX * 4)) run_wrk overload "$URL" "$TOKEN" "$DURATION")
admitted_p99=$(p99 200 "$mark")
refused_p99=$(p99 429 "$mark")

echo "unloaded   $unloaded"
echo "overload   $overload"
echo "gateway p99 admitted unloaded: $unloaded_p99"
echo "gateway p99 admitted overload: $admitted_p99 (aim: within 2x unloaded)"
echo "gateway p99 refused (429):     $refused_p99 (aim: under 5 ms)"
echo "wrk errors (connect/read/write/timeout) under overload: $(field "$overload" errors) (aim: 0)"
