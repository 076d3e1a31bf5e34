# shellcheck shell=bash
# Helpers shared by the bench scripts. Each script sets BENCH_TAG (the prefix of its log lines)
# before sourcing this file; the functions below read TMP, PIDS, START_TIMEOUT_S, LOAD_CORE,
# PROXY_CORE, GATEWAY_JAVA_OPTS, CONNECTIONS and LUA, which each script sets.

log() { echo "[${BENCH_TAG:-bench} $(date -u +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# bench_setup NAME PORT...: a fresh temp folder TMP (/tmp/sagegate-NAME.XXXXXX), PIDS emptied, the
# traps set (every process started stopped and TMP removed on exit), and the ports checked free.
bench_setup() {
  local name=$1; shift
  TMP=$(mktemp -d "/tmp/sagegate-$name.XXXXXX")
  PIDS=()
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  require_free_ports "$@"
}

# use_dev_home: SAGEGATE_HOME (where the dev issuer keeps its key) exported as TMP/home.
use_dev_home() {
  export SAGEGATE_HOME="$TMP/home"
  mkdir -p "$SAGEGATE_HOME"
}

# dev_token JAR KEY_DIR: sets TOKEN, a 2 h token of the dev issuer in KEY_DIR for alice in
# data-scientists (the caller the bench rules allow).
dev_token() {
  TOKEN=$(java -jar "$1" token --sub alice --groups data-scientists --ttl 2h --key-dir "$2")
  [ -n "$TOKEN" ] || die "no token"
}

# Installs wrk and nginx with apt when missing (nginx-light, else nginx) and sets NGINX.
ensure_load_tools() {
  local need_apt=()
  command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
  if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing ${need_apt[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -q
    $sudo apt-get install -y -q "${need_apt[@]}" \
      || { [[ " ${need_apt[*]} " == *" nginx-light "* ]] && $sudo apt-get install -y -q nginx; }
  fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

# Stops one process: TERM, up to 5 s, then KILL.
stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# The EXIT trap (bench_setup): every process started (PIDS) stopped, the temp folder removed.
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do stop_pid "$pid"; done
  rm -rf "$TMP"
}

# require_free_ports PORT... : dies naming the first port something already listens on.
require_free_ports() {
  local port
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port is already in use (set the *_PORT variables)"
    fi
  done
}

# run_wrk NAME URL TOKEN DURATION [RATE] -> prints the RESULT line. Pinned to the load core,
# bounded in time; RATE (requests/s, 0 = as fast as possible) paces bench/post.lua.
run_wrk() {
  local name=$1 url=$2 token=$3 duration=$4 rate=${5:-0} out="$TMP/wrk-$1.txt"
  TOKEN="$token" RATE="$rate" taskset -c "$LOAD_CORE" \
    timeout --kill-after=10 "$(( $(to_seconds "$duration") + 60 ))" \
    wrk -t1 -c"$CONNECTIONS" -d"$duration" --timeout 5s --latency -s "$LUA" "$url" >"$out" 2>&1 \
    || die "wrk failed for $name: $(tail -5 "$out")"
  cat "$out" >>"$TMP/wrk-all.txt"
  grep '^RESULT ' "$out" | tail -1
}

# jit_ms PID...: CPU time (ms) the JIT compiler threads of these JVMs have used so far, from
# /proc/PID/task/TID/schedstat (Linux). 0 for a process that is not a JVM (nginx).
jit_ms() {
  local pid t ns=0
  for pid in "$@"; do
    for t in /proc/"$pid"/task/*; do
      case "$(cat "$t/comm" 2>/dev/null)" in
        "C1 CompilerThre"* | "C2 CompilerThre"*) ns=$(( ns + $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null || echo 0) )) ;;
      esac
    done
  done
  echo $(( ns / 1000000 ))
}

# warm_up NAME URL TOKEN PID...: load at max rate in WARMUP_STEP runs until the JIT compilers of the
# JVMs PID... (the target and the model behind it) used less than JIT_QUIET_MS in one run, after at
# least WARMUP and at most WARMUP_MAX. A one-core JVM on this machine still compiled 0.1-0.6 s per
# 10 s after 60 s of load, and that compiler thread takes the gateway's core from the event loop;
# each run opens and closes its connections, so the close path (whose first use deoptimised the
# hottest event-loop methods) is compiled before anything is measured. Sets WARMED (e.g. "120s").
warm_up() {
  local name=$1 url=$2 token=$3; shift 3
  local min max step elapsed=0 before used=-1
  min=$(to_seconds "$WARMUP"); max=$(to_seconds "$WARMUP_MAX"); step=$(to_seconds "$WARMUP_STEP")
  [ "$max" -ge "$min" ] || max=$min
  while [ "$elapsed" -lt "$max" ]; do
    [ $(( max - elapsed )) -ge "$step" ] || step=$(( max - elapsed ))
    before=$(jit_ms "$@")
    run_wrk "$name-warmup-$elapsed" "$url" "$token" "${step}s" >/dev/null
    elapsed=$(( elapsed + step ))
    used=$(( $(jit_ms "$@") - before ))
    [ "$elapsed" -ge "$min" ] && [ "$used" -lt "$JIT_QUIET_MS" ] && break
  done
  WARMED="${elapsed}s"
  log "$name: warmed ${elapsed}s (JIT ${used} ms in the last ${step}s)"
}

# start_sagegate JAR CONFIG KEY_DIR PORT MANAGEMENT_PORT OUT ERR: one sagegate on PROXY_CORE, as one
# processor, with GATEWAY_JAVA_OPTS, run by GATEWAY_JAVA (default: java on the PATH); stdout (the
# audit records) appended to OUT, stderr to ERR. Sets STARTED_PID and adds it to PIDS.
start_sagegate() {
  # shellcheck disable=SC2086
  taskset -c "$PROXY_CORE" "${GATEWAY_JAVA:-java}" -XX:ActiveProcessorCount=1 $GATEWAY_JAVA_OPTS \
    -jar "$1" serve --config "$2" --key-dir "$3" --port "$4" --management-port "$5" >>"$6" 2>>"$7" &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}

# Polls a URL until it answers 200, at most START_TIMEOUT_S seconds.
wait_ready() {
  local url=$1 name=$2 pid=$3
  for _ in $(seq 1 $((START_TIMEOUT_S * 10))); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start (logs in $TMP)"
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" = 200 ] && return 0
    sleep 0.1
  done
  die "$name not ready after ${START_TIMEOUT_S}s ($url)"
}

# Writes $TMP/nginx/nginx.conf: one worker, no access log, listening on 127.0.0.1:LISTEN_PORT and
# proxying to 127.0.0.1:UPSTREAM_PORT over HTTP/1.1 with upstream keep-alive.
write_nginx_conf() {
  local listen_port=$1 upstream_port=$2
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 1000000;
  upstream backend {
    server 127.0.0.1:$upstream_port;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$listen_port;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
}

to_seconds() { # 20s, 2m, 1h, or a plain number of seconds
  local v=$1
  case "$v" in
    *ms) echo 1 ;; *s) echo "${v%s}" ;; *m) echo $(( ${v%m} * 60 )) ;; *h) echo $(( ${v%h} * 3600 )) ;; *) echo "$v" ;;
  esac
}

field() { # field RESULT_LINE KEY
  echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# start_demo_model JAR: the demo model on 127.0.0.1:DEMO_PORT, core LOAD_CORE, as one processor.
# Sets DEMO_PID and adds it to PIDS.
start_demo_model() {
  taskset -c "$LOAD_CORE" java -XX:ActiveProcessorCount=1 -XX:+UseParallelGC -Xms128m -Xmx128m \
    -jar "$1" demo-model --port "$DEMO_PORT" >"$TMP/demo.out" 2>"$TMP/demo.err" &
  DEMO_PID=$!; PIDS+=("$DEMO_PID")
}

# write_bench_yaml: $TMP/sagegate.yaml, bench/sagegate-bench.yaml pointed at the demo model on DEMO_PORT.
write_bench_yaml() {
  sed "s#http://127.0.0.1:18081#http://127.0.0.1:$DEMO_PORT#" "$BENCH_DIR/sagegate-bench.yaml" >"$TMP/sagegate.yaml"
}

# start_nginx LISTEN_PORT UPSTREAM_PORT: nginx (write_nginx_conf) on PROXY_CORE. Sets NGINX_PID and
# adds it to PIDS.
start_nginx() {
  write_nginx_conf "$1" "$2"
  log "nginx on 127.0.0.1:$1 (core $PROXY_CORE)"
  taskset -c "$PROXY_CORE" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" \
    >"$TMP/nginx/stdout" 2>"$TMP/nginx/stderr" &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
}

# need_emulator_classes WHAT: the test classes (io.sagegate.bench.EmulatorServer and WHAT else the
# script runs from them) and their classpath, built when missing. Run from ROOT; sets CP.
need_emulator_classes() {
  if [ ! -f target/test-classes/io/sagegate/bench/EmulatorServer.class ] || [ ! -f target/cp.txt ]; then
    log "compiling test classes ($1)"
    mvn -o -q test-compile || die "test-compile failed"
    mvn -o -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test \
      || die "classpath failed"
  fi
  CP="$ROOT/target/test-classes:$ROOT/target/classes:$(cat target/cp.txt)"
}

# fresh_aws_credentials: the gateway's own AWS credentials, fresh per run (never stored), exported:
# the emulator's STS trusts them for AssumeRole, sagegate reads them from the environment (the
# SDK's default chain); no profile, session token or instance metadata.
fresh_aws_credentials() {
  AWS_ACCESS_KEY_ID="AKIABENCH$(head -c 64 /dev/urandom | tr -dc 'A-Z0-9' | head -c 11)"
  AWS_SECRET_ACCESS_KEY="$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN || true
}

# start_emulator NAME [EmulatorServer args]: the SageMaker emulator (io.sagegate.bench.EmulatorServer
# on CP, EMULATOR_JAVA_OPTS) on LOAD_CORE, output in TMP/NAME.out and .err; waits (START_TIMEOUT_S)
# for the port it prints. Sets EMU_PID (added to PIDS) and EMU_PORT.
start_emulator() {
  local name=$1; shift
  # shellcheck disable=SC2086
  taskset -c "$LOAD_CORE" java -XX:ActiveProcessorCount=1 $EMULATOR_JAVA_OPTS -cp "$CP" \
    io.sagegate.bench.EmulatorServer "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  EMU_PID=$!; PIDS+=("$EMU_PID")
  EMU_PORT=""
  for _ in $(seq 1 $((START_TIMEOUT_S * 10))); do
    kill -0 "$EMU_PID" 2>/dev/null || die "$name exited during start: $(tail -5 "$TMP/$name.err")"
    EMU_PORT=$(sed -n 's/^PORT=//p' "$TMP/$name.out")
    [ -n "$EMU_PORT" ] && return 0
    sleep 0.1
  done
  die "$name did not print its port within ${START_TIMEOUT_S}s"
}

# aws_bench_yaml PORT MGMT: a sagegate config (dev issuer, audit to stdout) in front of the emulator
# at EMULATOR: endpoint ENDPOINT on the sagemaker backend (STS session, SigV4) and ENDPOINT-container,
# the same upstream answer through the container backend (POST <url>/invocations), so that the
# difference between the two is what the AWS path costs; data-scientists may invoke both.
aws_bench_yaml() {
  cat <<EOF
server: {port: $1, managementPort: $2, drainDelay: 0s}
auth: {devIssuer: true}
audit: {sink: stdout}
aws:
  region: us-east-1
  accountId: "123456789012"
  stsEndpoint: $EMULATOR
  sagemakerRuntimeEndpoint: $EMULATOR
  externalId: sagegate-bench
endpoints:
  - name: $ENDPOINT
    tags: {env: test}
    backend: {type: sagemaker, roleArn: "arn:aws:iam::123456789012:role/bench-invoke"}
  - name: $ENDPOINT-container
    tags: {env: test}
    backend: {type: container, url: "$EMULATOR/endpoints/$ENDPOINT"}
rules:
  - id: data-scientists-bench
    effect: allow
    principal: {groups: [data-scientists]}
    resource: {endpoints: [$ENDPOINT, $ENDPOINT-container]}
    actions: [invoke]
EOF
}

# slow_model_yaml BACKEND_OPTIONS [ENDPOINT_OPTION]: $TMP/sagegate.yaml for PORT and MGMT, one
# endpoint "slow" on the container backend to the model on MODEL_PORT (BACKEND_OPTIONS added inside
# its backend map, ENDPOINT_OPTION as one more line of the endpoint), the dev issuer, audit to
# stdout, every caller in data-scientists allowed.
slow_model_yaml() {
  cat >"$TMP/sagegate.yaml" <<YAML
server: {port: $PORT, managementPort: $MGMT, drainDelay: 0s}
auth: {devIssuer: true, issuer: sagegate-dev, audiences: [sagegate]}
audit: {sink: stdout}
endpoints:
  - name: slow${2:+
    $2}
    backend: {type: container, url: "http://127.0.0.1:$MODEL_PORT", $1}
rules:
  - id: all
    effect: allow
    principal: {groups: [data-scientists]}
YAML
}

# cpu_per_request NAME URL PID DURATION [BODY]: one wrk run (run_wrk with TOKEN; BODY, when given,
# replaces post.lua's body) and the CPU time of process PID over it (utime and stime from
# /proc/PID/stat) -> "rps cpu_us_per_request user_us_per_request". User time apart: the kernel's
# share (the same socket calls for any build) is what varies most with the machine. Dies on errors
# or non-2xx answers.
cpu_per_request() {
  local u0 s0 u1 s1 line
  read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$3/stat")
  if [ -n "${5:-}" ]; then
    line=$(BODY="$5" run_wrk "$1" "$2" "$TOKEN" "$4")
  else
    line=$(run_wrk "$1" "$2" "$TOKEN" "$4")
  fi
  read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$3/stat")
  [ "$(field "$line" non2xx)" = 0 ] && [ "$(field "$line" errors)" = 0 ] || die "$1: errors: $line"
  awk -v r="$(field "$line" rps)" -v n="$(field "$line" requests)" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f %.1f %.1f\n", r, (u + s) * 1e6 / hz / n, u * 1e6 / hz / n }'
}

# cpu_ab_rounds A_NAME A_URL A_PID A_BODY B_NAME B_URL B_PID B_BODY: cpu_per_request of A and of B,
# first WARMUP each (not reported), then ROUNDS rounds of DURATION each, A then B a few seconds
# apart, so that the machine's drift hits both alike; prints a markdown row a round:
# "| round | A rps | CPU | user | B rps | CPU | user |" (the table's head is the caller's). An
# empty BODY keeps post.lua's.
cpu_ab_rounds() {
  local r ra ca ua rb cb ub
  log "warm-up $WARMUP each"
  cpu_per_request "warm-$1" "$2" "$3" "$WARMUP" "$4" >/dev/null
  cpu_per_request "warm-$5" "$6" "$7" "$WARMUP" "$8" >/dev/null
  for r in $(seq 1 "$ROUNDS"); do
    read -r ra ca ua < <(cpu_per_request "$1-$r" "$2" "$3" "$DURATION" "$4")
    read -r rb cb ub < <(cpu_per_request "$5-$r" "$6" "$7" "$DURATION" "$8")
    echo "| $r | $ra | $ca | $ua | $rb | $cb | $ub |"
  done
}

# start_container_targets AUDIT_OUT: run.sh's three targets. The demo model
# on LOAD_CORE, nginx (start_nginx) and sagegate (bench/sagegate-bench.yaml, the dev issuer
# under SAGEGATE_HOME, audit records appended to AUDIT_OUT) on PROXY_CORE; waits until all three
# answer. Reads JAR, BENCH_DIR and the *_PORT variables; sets DEMO_PID, NGINX_PID, GATEWAY_PID and
# TOKEN (a caller the bench rules allow).
start_container_targets() {
  log "demo model on 127.0.0.1:$DEMO_PORT (core $LOAD_CORE)"
  start_demo_model "$JAR"
  start_nginx "$NGINX_PORT" "$DEMO_PORT"

  write_bench_yaml
  dev_token "$JAR" "$SAGEGATE_HOME/dev-issuer"
  log "sagegate on 127.0.0.1:$GATEWAY_PORT (core $PROXY_CORE, $GATEWAY_JAVA_OPTS)"
  start_sagegate "$JAR" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$GATEWAY_PORT" "$MANAGEMENT_PORT" \
    "$1" "$TMP/sagegate.err"
  GATEWAY_PID=$STARTED_PID

  wait_ready "http://127.0.0.1:$DEMO_PORT/ping" "demo model" "$DEMO_PID"
  wait_ready "http://127.0.0.1:$NGINX_PORT/ping" "nginx" "$NGINX_PID"
  wait_ready "http://127.0.0.1:$MANAGEMENT_PORT/readyz" "sagegate" "$GATEWAY_PID"
}
