#!/usr/bin/env bash
# Everything locally against moto with one command: moto (STS + SageMaker Runtime), an invoke
# role, a seeded answer, and the gateway's sagemaker backend pointed at moto. Ctrl-C cleans up.
# Options: --port N (default 8080), --management-port N (default 9464); 0 picks free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import boto3, moto.server' 2>/dev/null \
  || { echo "local-moto: python3 needs boto3 and moto[server]" >&2; exit 1; }
if [[ ! -f target/sagegate.jar ]]; then
  mvn -o -q -DskipTests package || mvn -q -DskipTests package
fi
exec python3 conformance/local_moto.py "$@"
