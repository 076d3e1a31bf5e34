#!/usr/bin/env bash
# The tests that talk to moto_server or run boto3 (MotoServer, ProvisionMoto, EmulatorBoto3Test,
# SigV4VerifierTest's botocore vectors, conformance/) need python3 with boto3, pytest and
# moto[server] 5.2.1. Installs what is missing: Debian packages where Debian has them
# (python3-boto3, python3-pytest; Debian ships no python3-moto), pip for the rest.
set -euo pipefail

have() { python3 -c "$1" >/dev/null 2>&1; }
fail() { echo "python-deps: $*" >&2; exit 1; }

command -v python3 >/dev/null || {
  command -v apt-get >/dev/null && { apt-get update -qq && apt-get install -y -qq python3 python3-pip; } \
    || fail "python3 is missing and apt-get is not available to install it"
}
if have 'import boto3, pytest, moto.server'; then
  echo "python-deps: python3 has boto3, pytest and moto[server]"
  exit 0
fi
if ! have 'import boto3, pytest' && command -v apt-get >/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-boto3 python3-pytest || true
fi
if ! have 'import boto3, pytest, moto.server'; then
  python3 -m pip install --quiet 'moto[server]==5.2.1' boto3 pytest \
    || python3 -m pip install --quiet --break-system-packages 'moto[server]==5.2.1' boto3 pytest \
    || fail "could not install moto[server]==5.2.1, boto3 and pytest for python3 (pip)"
fi
have 'import boto3, pytest, moto.server' || fail "python3 still lacks boto3, pytest or moto.server"
echo "python-deps: installed the python3 test dependencies"
