#!/usr/bin/env bash
# Renders every overlay with `kubectl kustomize` and validates every object offline against the
# Kubernetes and Prometheus Operator schemas (required fields, types, formats) with the
# kubernetes-models validators (deploy/k8s-validate, pinned by its package-lock.json). Those
# validators accept unknown fields, so KubernetesManifestsTest (in `mvn verify`) reads the same
# renders with fabric8's model, unknown fields refused, and asserts the hardening.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d deploy/k8s-validate/node_modules ]; then
  npm ci --prefix deploy/k8s-validate --no-audit --no-fund --loglevel=error >/dev/null
fi
for overlay in k8s/overlays/*/; do
  env=$(basename "$overlay")
  rendered=$(kubectl kustomize "$overlay")
  node deploy/k8s-validate/validate.mjs "$env" <<<"$rendered"
  kinds=$(awk '/^kind:/ {print $2}' <<<"$rendered" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
  echo "k8s-check: $env renders: ${kinds%, }"
done
