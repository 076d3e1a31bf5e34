#!/usr/bin/env bash
# Proves the Dockerfile: builds the image on a local JRE base (no registry is reachable in CI), runs
# it hardened as Kubernetes will (read-only root filesystem with /tmp the only writable place, no
# capabilities, no privilege escalation, a random published port) and fails unless
#   /readyz answers 200, the process runs as the numeric non-root user in group 0,
#   writes to the root filesystem fail, it holds no capabilities,
#   a call with a development token through the container answers, one without is refused,
#   and SIGTERM stops it in time (exec-form entrypoint: the JVM itself gets the signal).
# Everything it starts is removed by id on exit; the local base image is kept for the next run.
#   usage: deploy/image-check.sh        (needs root for podman; deploy/ci-tools.sh installs it)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
base=${SAGEGATE_BASE_IMAGE:-localhost/sagegate-base:jre17-bookworm}
tag=localhost/sagegate:image-check-$$
uid_expected=10001

step() { echo "image-check: $* (+$(( $(date +%s) - start )) s)" >&2; }
fail() { echo "image-check: FAILED: $*" >&2; exit 1; }

bash deploy/ci-tools.sh
[ -f target/sagegate.jar ] || { step "building the jar"; mvn -B -ntp -q -DskipTests package; }
bash deploy/local-base.sh "$base"

cid= image_id=
cleanup() {
  [ -n "$cid" ] && podman rm -f -t 0 "$cid" >/dev/null 2>&1 || true
  [ -n "$image_id" ] && podman rmi -f "$image_id" >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "building the image on $base"
podman build -q --pull=never --build-arg BASE_IMAGE="$base" -t "$tag" . >/dev/null
image_id=$(podman image inspect --format '{{.Id}}' "$tag")
size=$(podman image inspect --format '{{.Size}}' "$tag")
base_size=$(podman image inspect --format '{{.Size}}' "$base")
step "image $(( size / 1000000 )) MB (base $(( base_size / 1000000 )) MB, sagegate's layers $(( (size - base_size) / 1000000 )) MB)"
[ "$(podman image inspect --format '{{.Config.User}}' "$tag")" = "$uid_expected:0" ] || fail "image USER is not $uid_expected:0"
exposed=$(podman image inspect --format '{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}' "$tag")
case "$exposed" in *8080/tcp*9464/tcp*|*9464/tcp*8080/tcp*) ;; *) fail "the image exposes '$exposed', not 8080 and 9464";; esac

step "running it hardened"
cid=$(podman run -d \
  --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,nosuid,nodev,size=256m,mode=1777 \
  --cap-drop=ALL --security-opt no-new-privileges \
  --memory 768m \
  -p 127.0.0.1::8080 -p 127.0.0.1::9464 \
  "$tag")
traffic=$(podman port "$cid" 8080/tcp | head -1); traffic=${traffic##*:}
mgmt=$(podman port "$cid" 9464/tcp | head -1); mgmt=${mgmt##*:}
[ -n "$traffic" ] && [ -n "$mgmt" ] || fail "no published ports"

ready=
for _ in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$mgmt/readyz" || true)
  if [ "$code" = 200 ]; then ready=1; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$cid")" = true ] || break
  sleep 0.5
done
[ -n "$ready" ] || { podman logs "$cid" >&2 || true; fail "/readyz did not answer 200 within 60 s"; }
step "/readyz answers 200 on the published management port $mgmt"

user=$(podman exec "$cid" sh -c 'id -u; id -g' | tr '\n' ' ')
[ "$user" = "$uid_expected 0 " ] || fail "the process runs as uid/gid '$user', not $uid_expected 0"
pid1_uid=$(podman exec "$cid" sh -c 'grep ^Uid: /proc/1/status' | awk '{print $2}')
[ "$pid1_uid" = "$uid_expected" ] || fail "PID 1 runs as uid $pid1_uid"
podman exec "$cid" sh -c 'tr "\0" " " < /proc/1/cmdline' | grep -q '^java ' || fail "PID 1 is not the JVM (exec form)"
step "runs as $uid_expected:0, the JVM is PID 1"

for f in /opt/sagegate/probe /probe /etc/probe; do
  if podman exec "$cid" sh -c "echo x > $f" 2>/dev/null; then fail "wrote $f: the root filesystem is writable"; fi
done
podman exec "$cid" sh -c 'echo x > /tmp/probe && rm /tmp/probe' || fail "/tmp is not writable"
caps=$(podman exec "$cid" sh -c 'grep ^CapEff: /proc/1/status' | awk '{print $2}')
[ "$caps" = 0000000000000000 ] || fail "the process holds capabilities $caps"
nnp=$(podman exec "$cid" sh -c 'grep ^NoNewPrivs: /proc/1/status' | awk '{print $2}')
[ "$nnp" = 1 ] || fail "no_new_privs is not set"
step "root filesystem read-only, /tmp writable, no capabilities, no_new_privs"

token=$(podman exec "$cid" java -XX:TieredStopAtLevel=1 -jar /opt/sagegate/sagegate.jar token --sub alice --groups data-scientists)
body=$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"text":"great product"}' "http://127.0.0.1:$traffic/endpoints/sentiment-test/invocations")
[ "${body##*$'\n'}" = 200 ] || fail "the call with a development token answered: $body"
grep -q '"endpoint":"sentiment-test"' <<<"$body" || fail "unexpected answer: $body"
anon=$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"text":"x"}' "http://127.0.0.1:$traffic/endpoints/sentiment-test/invocations")
[ "$anon" = 401 ] || fail "a call without a token answered $anon, not 401"
step "a call with a development token answers 200 on traffic port $traffic; without one 401"

# podman stop sends SIGTERM, then SIGKILL after -t seconds. The gateway drains (readyz 503,
# server.drainDelay, calls finish) and exits 0; 143 would mean the JVM died on the signal undrained,
# 137 that it was killed.
podman stop -t 90 "$cid" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$cid")
case "$code" in 0) ;; *) podman logs "$cid" 2>&1 | tail -20 >&2; fail "exit code $code after SIGTERM";; esac
step "SIGTERM stopped it (exit $code)"
step "PASSED"
