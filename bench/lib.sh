# Helpers shared by bench/run.sh and bench/aws-run.sh. Sourced after each script has defined
# log() and die(); the functions below read TMP, PIDS, START_TIMEOUT_S, LOAD_CORE, PROXY_CORE,
# GATEWAY_JAVA_OPTS, CONNECTIONS and LUA, which each script sets.

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

# The EXIT trap of both scripts: every process started (PIDS) stopped, the temp folder removed.
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

# start_container_targets AUDIT_OUT: run.sh's three targets. The demo model
# on LOAD_CORE, nginx (write_nginx_conf) and sagegate (bench/sagegate-bench.yaml, the dev issuer
# under SAGEGATE_HOME, audit records appended to AUDIT_OUT) on PROXY_CORE; waits until all three
# answer. Reads JAR, BENCH_DIR and the *_PORT variables; sets DEMO_PID, NGINX_PID, GATEWAY_PID and
# TOKEN (a caller the bench rules allow).
start_container_targets() {
  log "demo model on 127.0.0.1:$DEMO_PORT (core $LOAD_CORE)"
  taskset -c "$LOAD_CORE" java -XX:ActiveProcessorCount=1 -XX:+UseParallelGC -Xms128m -Xmx128m \
    -jar "$JAR" demo-model --port "$DEMO_PORT" >"$TMP/demo.out" 2>"$TMP/demo.err" &
  DEMO_PID=$!; PIDS+=("$DEMO_PID")

  write_nginx_conf "$NGINX_PORT" "$DEMO_PORT"
  log "nginx on 127.0.0.1:$NGINX_PORT (core $PROXY_CORE)"
  taskset -c "$PROXY_CORE" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" \
    >"$TMP/nginx/stdout" 2>"$TMP/nginx/stderr" &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")

  sed "s#http://127.0.0.1:18081#http://127.0.0.1:$DEMO_PORT#" "$BENCH_DIR/sagegate-bench.yaml" >"$TMP/sagegate.yaml"
  TOKEN=$(java -jar "$JAR" token --sub alice --groups data-scientists --ttl 2h --key-dir "$SAGEGATE_HOME/dev-issuer")
  [ -n "$TOKEN" ] || die "no token"
  log "sagegate on 127.0.0.1:$GATEWAY_PORT (core $PROXY_CORE, $GATEWAY_JAVA_OPTS)"
  start_sagegate "$JAR" "$TMP/sagegate.yaml" "$SAGEGATE_HOME/dev-issuer" "$GATEWAY_PORT" "$MANAGEMENT_PORT" \
    "$1" "$TMP/sagegate.err"
  GATEWAY_PID=$STARTED_PID

  wait_ready "http://127.0.0.1:$DEMO_PORT/ping" "demo model" "$DEMO_PID"
  wait_ready "http://127.0.0.1:$NGINX_PORT/ping" "nginx" "$NGINX_PID"
  wait_ready "http://127.0.0.1:$MANAGEMENT_PORT/readyz" "sagegate" "$GATEWAY_PID"
}
