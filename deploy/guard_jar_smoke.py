"""The guard jar on its own against moto: a recorded CreateEndpoint of an unapproved model makes
the guard (run from target/sagegate-guard.jar alone, no gateway classes) describe the endpoint
config and the model and delete the endpoint. The jar must also stay small (issue 17: "a few
MB"): no SDK service module (the sagemaker module alone is 14 MB), no gateway classes, under
JAR_LIMIT bytes. Called by deploy/cfn-lint.sh."""

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "conformance"))
import harness  # noqa: E402
import boto3  # noqa: E402

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/approved-model:1"
JAR = ROOT / "target" / "sagegate-guard.jar"
JAR_LIMIT = 8 * 1024 * 1024


def check_small():
    size = JAR.stat().st_size
    names = zipfile.ZipFile(JAR).namelist()
    services = sorted({n.split("/")[4] for n in names if n.startswith("software/amazon/awssdk/services/")})
    ours = sorted({n for n in names if n.startswith("io/sagegate/") and not n.endswith("/")
                   and not n.startswith("io/sagegate/provision/guard/")})
    assert not services, "the guard jar carries SDK service modules: %s" % services
    assert not ours, "the guard jar carries gateway classes: %s" % ours[:5]
    assert size <= JAR_LIMIT, "the guard jar is %d bytes, over %d" % (size, JAR_LIMIT)
    print("guard jar: %.1f MB, no SDK service module, no gateway classes" % (size / 1e6))


def main():
    check_small()
    with tempfile.TemporaryDirectory() as logs:
        moto, url = harness.start_moto(logs)
        try:
            sm = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            sm.create_model(ModelName="rogue-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
                            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/rogue:1"})
            sm.create_endpoint_config(EndpointConfigName="rogue-config", ProductionVariants=[{
                "VariantName": "AllTraffic", "ModelName": "rogue-model",
                "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
            sm.create_endpoint(EndpointName="ep-rogue-model", EndpointConfigName="rogue-config")
            env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       SAGEGATE_APPROVED_PAIRS=json.dumps([{
                           "role": "arn:aws:iam::123456789012:role/sagegate-test-ml-engineer",
                           "models": [{"name": "approved-model", "image": IMAGE}]}]))
            run = subprocess.run(
                ["java", "-cp", str(JAR), "io.sagegate.provision.guard.GuardRunner",
                 str(ROOT / "src/test/resources/cloudtrail/create-endpoint-unapproved-model.json"), url, "us-east-1"],
                env=env, capture_output=True, text=True, timeout=120)
            verdict = json.loads(run.stdout.strip().splitlines()[-1])
            assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
            assert verdict["decision"] == "unapproved" and verdict["action"] == "DeleteEndpoint ep-rogue-model", verdict
            left = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
            assert "ep-rogue-model" not in left, left
            print("guard jar: removed an unapproved endpoint in moto, on its own")
        finally:
            moto.stop()


if __name__ == "__main__":
    main()
