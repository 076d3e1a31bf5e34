#!/usr/bin/env bash
# Renders every overlay with `kubectl kustomize` (fails on a broken kustomization). The schema
# validation and hardening assertions run in KubernetesManifestsTest (part of `mvn verify`), which
# renders the same overlays; this step shows the rendered objects' kinds per overlay.
set -euo pipefail
cd "$(dirname "$0")/.."
for overlay in k8s/overlays/*/; do
  env=$(basename "$overlay")
  kinds=$(kubectl kustomize "$overlay" | awk '/^kind:/ {print $2}' | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
  echo "k8s-check: $env renders: ${kinds%, }"
done
