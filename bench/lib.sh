# Helpers shared by bench/run.sh and bench/aws-run.sh. Sourced after each script has defined
# log() and die() and set TMP and START_TIMEOUT_S.

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
