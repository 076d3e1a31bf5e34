#!/usr/bin/env bash
# The conformance suite in one command: boto3 through the gateway to moto and to the emulator.
# CI runs it after `mvn verify`. Fails when a test fails AND when the suite could not run at all
# (missing tools, nothing collected): a suite that silently ran nothing proves nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "conformance: $*" >&2; exit 1; }

command -v java >/dev/null || fail "java is not on PATH"
command -v python3 >/dev/null || fail "python3 is not on PATH"
python3 -c 'import boto3, botocore, pytest, moto.server' 2>/dev/null \
  || fail "python3 needs boto3, pytest and moto[server] (pip install boto3 pytest 'moto[server]')"

if [[ ! -f target/sagegate.jar || ! -d target/test-classes ]]; then
  echo "conformance: building target/sagegate.jar and target/test-classes" >&2
  mvn -o -q -DskipTests package test-compile || mvn -q -DskipTests package test-compile \
    || fail "could not build the gateway jar and test classes"
fi
[[ -f target/test-classes/io/sagegate/testsupport/aws/EmulatorMain.class ]] \
  || fail "target/test-classes has no EmulatorMain (run mvn test-compile)"

# The emulator runs from the test classes; its dependencies' classpath, resolved offline first
# (quietly: on a machine that has never fetched the dependency plugin that attempt fails, and its
# error would read like a failure of the run; the online attempt below then reports for itself).
mvn -o -q dependency:build-classpath -Dmdep.outputFile=target/conformance-classpath.txt \
    -Dmdep.includeScope=test >/dev/null 2>&1 \
  || mvn -q dependency:build-classpath -Dmdep.outputFile=target/conformance-classpath.txt \
    -Dmdep.includeScope=test \
  || fail "could not resolve the test classpath for the emulator"

status=0
timeout -k 30 900 python3 -m pytest -q -p no:cacheprovider conformance "$@" || status=$?
case "$status" in
  0) echo "conformance: passed" ;;
  5) fail "pytest collected no tests (exit 5)" ;;
  124) fail "timed out after 900 s" ;;
  *) fail "pytest failed (exit $status)" ;;
esac
