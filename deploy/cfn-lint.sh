#!/usr/bin/env bash
# Renders every example spec's every environment and runs cfn-lint (python3, with its bundled
# CloudFormation resource schemas) over the templates: zero errors, or this fails. Warnings are
# printed; the ones we accept are listed, with why, in docs/provision.md ("cfn-lint").
# Also checks the guard jar: self-contained (runs the guard on a recorded event on its own) and
# small, without the gateway, and removes an unapproved endpoint in moto (python3 with moto, boto3). Needs target/sagegate.jar and target/sagegate-guard.jar (mvn package).
set -euo pipefail
cd "$(dirname "$0")/.."
for jar in target/sagegate.jar target/sagegate-guard.jar; do
  [[ -f $jar ]] || { echo "$jar is missing: run mvn package first" >&2; exit 2; }
done
command -v cfn-lint >/dev/null || { echo "cfn-lint is missing: pip install cfn-lint" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
specs=(conf/provision.yaml src/test/resources/provision/moto-spec.yaml)
templates=()
for spec in "${specs[@]}"; do
  envs=$(python3 -c 'import sys, yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["environments"]))' "$spec")
  for env in $envs; do
    t="$out/$(basename "$spec" .yaml)-$env.json"
    java -jar target/sagegate.jar provision render --spec "$spec" --env "$env" --out "$t" 2>/dev/null
    templates+=("$t")
  done
done
echo "cfn-lint $(cfn-lint --version 2>&1 | awk '{print $2}') over ${#templates[@]} templates"
# Exit code bits: 2 errors, 4 warnings, 8 informational. Only errors fail.
set +e
cfn-lint --format parseable -- "${templates[@]}"
rc=$?
set -e
if (( rc & 2 )) || (( rc & 1 )); then
  echo "cfn-lint: errors (exit $rc)" >&2
  exit 1
fi
echo "cfn-lint: no errors"

# The guard jar: its own, small, and enough to run the handler (an ignored event needs no AWS).
size=$(stat -c %s target/sagegate-guard.jar)
if unzip -l target/sagegate-guard.jar | grep -q 'io/sagegate/gateway/'; then
  echo "guard jar holds the gateway" >&2; exit 1
fi
if ! log=$(SAGEGATE_APPROVED_PAIRS='[]' java -cp target/sagegate-guard.jar io.sagegate.provision.guard.GuardRunner \
    src/test/resources/cloudtrail/unexpected-s3-event.json http://127.0.0.1:9 2>&1); then
  echo "the guard jar does not run on its own: $log" >&2; exit 1
fi
echo "guard jar: $((size / 1024 / 1024)) MB, runs on its own"
python3 deploy/guard_jar_smoke.py
