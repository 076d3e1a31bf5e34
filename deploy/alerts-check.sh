#!/usr/bin/env bash
# Checks the Prometheus rules and runs their unit tests (promtool from Debian's prometheus package;
# deploy/ci-tools.sh installs it when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool >/dev/null || bash deploy/ci-tools.sh
promtool check rules deploy/prometheus/sagegate.rules.yaml
promtool test rules deploy/prometheus/sagegate.rules.test.yaml
