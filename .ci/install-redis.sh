#!/usr/bin/env bash
# The limit tests start their own redis-server (Debian's package); install it when missing.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server
fi
