"""Session fixtures: moto, the SageMaker/STS emulator and two gateways (one per AWS stand-in),
all real processes on free ports, stopped at the end of the session. Their output is kept under a
temporary folder and printed when a test fails."""

import json
import signal
import sys
import urllib.request
from pathlib import Path

import boto3
import botocore
import pytest
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
EXTERNAL_ID = "sagegate-conformance"
INVOKE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagegate-invoke"
# A role whose trust policy requires an ExternalId the gateway is not configured with.
OTHER_EXTERNAL_ID_ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagegate-other-external-id"
ASYNC_PREFIX = "s3://conformance-inputs/in/"
# The emulator's registered gateway credentials (fake, test-only).
EMU_ACCESS_KEY = "AKIDCONFORMANCEGATEWAY"
EMU_SECRET_KEY = "conformance-emulator-secret"

STREAM_PARTS = ['{"token":"Hel', 'lo"}\n', '{"token":" world"}\n', '{"token":"!"}\n']

_children = []
_log_dir = None

# SIGTERM (e.g. run.sh's timeout) interrupts like Ctrl-C, so pytest still tears the session's
# fixtures down and the child processes are stopped.
signal.signal(signal.SIGTERM, signal.default_int_handler)


def _emulator_scenario():
    invoke = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"]
    everything = [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/*"]
    return {
        "region": REGION,
        "accountId": ACCOUNT,
        "credentials": [{"accessKeyId": EMU_ACCESS_KEY, "secretAccessKey": EMU_SECRET_KEY}],
        "roles": [
            {"arn": INVOKE_ROLE, "trustedAccessKey": EMU_ACCESS_KEY, "externalId": EXTERNAL_ID,
             "actions": invoke, "resources": everything},
            {"arn": OTHER_EXTERNAL_ID_ROLE, "trustedAccessKey": EMU_ACCESS_KEY,
             "externalId": "some-other-external-id", "actions": invoke, "resources": everything},
        ],
        "endpoints": [
            {"name": "emu-ok", "behaviour": "OK", "body": '{"score":0.93}',
             "contentType": "application/json", "variant": "AllTraffic"},
            {"name": "emu-stream", "behaviour": "OK", "streamParts": STREAM_PARTS},
            {"name": "emu-stream-error", "behaviour": "OK", "streamParts": STREAM_PARTS[:2],
             "streamError": {"message": "the model stopped mid-answer",
                             "errorCode": "ModelInvocationTimeExceeded"}},
            {"name": "emu-model-error", "behaviour": "MODEL_ERROR",
             "modelError": {"originalStatusCode": 422, "originalMessage": '{"error":"bad input"}'}},
            {"name": "emu-unavailable", "behaviour": "SERVICE_UNAVAILABLE"},
            {"name": "emu-not-ready", "behaviour": "MODEL_NOT_READY"},
            {"name": "emu-internal", "behaviour": "INTERNAL_FAILURE"},
            {"name": "emu-garbage", "behaviour": "GARBAGE"},
            {"name": "emu-async", "behaviour": "OK"},
            {"name": "emu-wrong-external-id", "behaviour": "OK"},
        ],
    }


DEMO_ENDPOINT = "demo-container"


def _gateway_config(aws_url, endpoints, extra_rules="", demo_endpoints=()):
    lines = [
        "auth: {devIssuer: true}",
        "audit: {sink: stdout}",
        "aws:",
        f"  region: {REGION}",
        f"  accountId: '{ACCOUNT}'",
        f"  stsEndpoint: {aws_url}",
        f"  sagemakerRuntimeEndpoint: {aws_url}",
        f"  externalId: {EXTERNAL_ID}",
        "endpoints:",
    ]
    for name in endpoints:
        lines += [
            f"  - name: {name}",
            # The wrong-ExternalId endpoint is matched only by the rule that names its role.
            "    tags: {env: %s}" % ("other" if "wrong-external-id" in name else "test"),
            f"    backend: {{type: sagemaker, roleArn: '{INVOKE_ROLE}',"
            f" asyncInputPrefixes: ['{ASYNC_PREFIX}']}}",
        ]
    for name in demo_endpoints:
        # A model container (the built-in demo) behind the same gateway: SDK clients must read
        # its response stream as they read SageMaker's.
        lines += [f"  - name: {name}", "    tags: {env: test}", "    backend: {type: demo}"]
    lines += [
        "rules:",
        "  - id: data-scientists-invoke",
        "    effect: allow",
        "    principal: {groups: [data-scientists]}",
        "    resource: {tags: {env: [test]}}",
        "    actions: [invoke, invoke-stream, invoke-async]",
    ]
    return "\n".join(lines) + "\n" + extra_rules


WRONG_EXTERNAL_ID_ENDPOINTS = """  - id: other-external-id-role
    effect: allow
    description: Calls to this endpoint assume a role whose trust policy wants another ExternalId.
    principal: {groups: [data-scientists]}
    resource: {endpoints: [emu-wrong-external-id, moto-wrong-external-id]}
    actions: [invoke]
    roleArn: '%s'
""" % OTHER_EXTERNAL_ID_ROLE


def _start(factory):
    """Runs a start function and registers its child for the session-end cleanup."""
    result = factory()
    child = result[0] if isinstance(result, tuple) else result.child
    _children.append(child)
    return result


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory):
    global _log_dir
    _log_dir = tmp_path_factory.mktemp("conformance-logs")
    yield _log_dir
    for child in reversed(_children):
        child.stop()
    _children.clear()


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("dev-issuer-keys")


@pytest.fixture(scope="session")
def tokens(key_dir):
    # Generated before any gateway starts, so the key is written once by one process.
    return {
        "alice": harness.token(key_dir, "alice", ["data-scientists"]),
        "mallory": harness.token(key_dir, "mallory", ["contractors"]),
    }


@pytest.fixture(scope="session")
def moto(log_dir):
    child, url = _start(lambda: harness.start_moto(log_dir))
    kwargs = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
    iam = boto3.client("iam", **kwargs)
    gateway_identity = boto3.client("sts", **kwargs).get_caller_identity()["Arn"]
    permissions = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"],
        "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/*"}]})
    for arn, external_id in ((INVOKE_ROLE, EXTERNAL_ID),
                             (OTHER_EXTERNAL_ID_ROLE, "some-other-external-id")):
        name = arn.rsplit("/", 1)[1]
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": gateway_identity},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
            "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]})
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=name, PolicyName="invoke", PolicyDocument=permissions)
    return url


@pytest.fixture(scope="session")
def emulator(log_dir):
    child, url, inspect_url = _start(
        lambda: harness.start_emulator(log_dir, _emulator_scenario()))
    return {"url": url, "inspect": inspect_url}


def _aws_env(access_key, secret_key):
    return {
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


@pytest.fixture(scope="session")
def moto_gateway(log_dir, key_dir, tokens, moto):
    config = _gateway_config(moto, ["moto-scorer", "moto-async", "moto-wrong-external-id"],
                             WRONG_EXTERNAL_ID_ENDPOINTS)
    return _start(lambda: harness.start_gateway(
        "gateway-moto", log_dir, config, key_dir, _aws_env("testing", "testing")))


@pytest.fixture(scope="session")
def emu_gateway(log_dir, key_dir, tokens, emulator):
    names = [e["name"] for e in _emulator_scenario()["endpoints"]]
    config = _gateway_config(emulator["url"], names, WRONG_EXTERNAL_ID_ENDPOINTS,
                             demo_endpoints=[DEMO_ENDPOINT])
    return _start(lambda: harness.start_gateway(
        "gateway-emulator", log_dir, config, key_dir, _aws_env(EMU_ACCESS_KEY, EMU_SECRET_KEY)))


def make_client(gateway, token=None):
    """A plain boto3 SageMaker Runtime client aimed at the gateway: unsigned (the gateway does not
    take AWS credentials), one attempt (so error codes are seen as answered), and the bearer token
    added just before each request is sent."""
    client = boto3.client(
        "sagemaker-runtime", endpoint_url=gateway.url, region_name=REGION,
        config=Config(signature_version=botocore.UNSIGNED,
                      retries={"mode": "standard", "total_max_attempts": 1},
                      read_timeout=60, connect_timeout=10))
    if token is not None:
        def add_bearer(request, **_):
            request.headers["Authorization"] = f"Bearer {token}"
        client.meta.events.register("before-send.sagemaker-runtime.*", add_bearer)
    return client


@pytest.fixture(scope="session")
def client():
    return make_client


def emulator_requests(emulator):
    with urllib.request.urlopen(emulator["inspect"] + "/requests", timeout=10) as r:
        return json.loads(r.read())


def seed_moto_result(moto_url, body, content_type="application/json", variant="AllTraffic"):
    payload = {"account_id": ACCOUNT, "region": REGION, "results": [{
        "Body": body, "ContentType": content_type, "InvokedProductionVariant": variant,
        "CustomAttributes": "seeded"}]}
    req = urllib.request.Request(
        moto_url + "/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"},
        method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 201, r.status


def seed_moto_async_result(moto_url, data):
    payload = {"account_id": ACCOUNT, "region": REGION, "results": [{"data": data}]}
    req = urllib.request.Request(
        moto_url + "/moto-api/static/sagemaker/async-endpoint-results",
        data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"},
        method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 201, r.status


_failed = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        _failed.append(item.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus):
    if (_failed or exitstatus not in (0,)) and _log_dir is not None:
        terminalreporter.section("child process output (conformance)")
        for p in sorted(Path(_log_dir).glob("*.log")):
            text = p.read_text(errors="replace")
            if len(text) > 8000:
                text = "...\n" + text[-8000:]
            terminalreporter.write_line(f"----- {p.name} -----")
            terminalreporter.write_line(text)
