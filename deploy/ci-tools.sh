#!/usr/bin/env bash
# Installs, from Debian, the tools the deployment checks need, only those that are missing:
#   podman + runc + CNI plugins + iptables  (deploy/image-check.sh: build and run the image)
#   debootstrap                             (deploy/image-check.sh: the local base image)
#   prometheus (for promtool)               (deploy/alerts-check.sh: check and test the rules)
# CI runs on a fresh machine; a developer's machine that has them all is left alone.
set -euo pipefail

want=()
command -v podman >/dev/null || want+=(podman)
command -v runc >/dev/null || want+=(runc)
[ -x /usr/lib/cni/bridge ] || [ -x /usr/libexec/cni/bridge ] || want+=(containernetworking-plugins)
command -v iptables >/dev/null || want+=(iptables)
command -v debootstrap >/dev/null || want+=(debootstrap)
command -v promtool >/dev/null || want+=(prometheus)

if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
if [ ${#want[@]} -gt 0 ]; then
  echo "ci-tools: installing ${want[*]}" >&2
  # Others may hold the dpkg lock for a while on a shared machine: wait for it rather than fail.
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${want[@]}" >/dev/null
fi

# podman's defaults do not run here: crun and its ulimits are refused; use runc, cgroupfs, a file
# event log, and limits no higher than the machine's hard limits (nproc at most 4096: enough for a
# JVM's threads; higher values were refused here even under the hard limit). Written when absent,
# or rewritten when this script wrote it.
conf=/etc/containers/containers.conf
marker="# written by sagegate deploy/ci-tools.sh"
if [ ! -f "$conf" ] || grep -qF "$marker" "$conf"; then
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=65536
  [ "$nproc" = unlimited ] && nproc=4096
  [ "$nofile" -gt 65536 ] && nofile=65536
  [ "$nproc" -gt 4096 ] && nproc=4096
  $SUDO mkdir -p /etc/containers
  $SUDO tee "$conf" >/dev/null <<CONF
$marker
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi
