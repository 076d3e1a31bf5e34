"""Through the gateway to the SageMaker/STS emulator, which verifies SigV4 and evaluates the role
and session policies, and scripts SageMaker's failures."""

import json

import pytest
from botocore.exceptions import ClientError, EventStreamError

from conftest import (ACCOUNT, INVOKE_ROLE, OTHER_EXTERNAL_ID_ROLE, REGION, STREAM_PARTS,
                      emulator_requests)


def _error(excinfo):
    return excinfo.value.response


def test_invoke_endpoint_ok_under_a_session_scoped_to_the_caller_and_endpoint(
        emulator, emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    r = c.invoke_endpoint(EndpointName="emu-ok", Body=b'{"x":1}', ContentType="application/json")

    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert json.loads(r["Body"].read()) == {"score": 0.93}
    assert r["InvokedProductionVariant"] == "AllTraffic"
    audit = emu_gateway.audit.record(r["ResponseMetadata"]["RequestId"])
    assert audit["sourceIdentity"] == "alice"
    assert audit["roleArn"] == INVOKE_ROLE
    # What reached "AWS": an AssumeRole for the invoke role with the caller as SourceIdentity,
    # the configured ExternalId, and a session policy naming only this endpoint.
    seen = emulator_requests(emulator)
    assume = [q for q in seen if q["operation"] == "AssumeRole" and q["sourceIdentity"] == "alice"
              and q["sessionPolicy"] and "endpoint/emu-ok\"" in q["sessionPolicy"]]
    assert assume, seen
    assert assume[0]["roleArn"] == INVOKE_ROLE
    assert assume[0]["externalId"] == "sagegate-conformance"
    policy = json.loads(assume[0]["sessionPolicy"])
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    resources = set()
    for s in statements:
        res = s["Resource"]
        resources.update(res if isinstance(res, list) else [res])
    assert resources == {f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/emu-ok"}
    invokes = [q for q in seen if q["operation"] == "InvokeEndpoint" and q["endpointName"] == "emu-ok"]
    assert invokes and invokes[-1]["sourceIdentity"] == "alice" and invokes[-1]["status"] == 200


def test_response_stream_yields_payload_parts_in_order(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    r = c.invoke_endpoint_with_response_stream(EndpointName="emu-stream", Body=b'{"prompt":"hi"}',
                                               ContentType="application/json")

    parts = [event["PayloadPart"]["Bytes"].decode() for event in r["Body"]]
    assert parts == STREAM_PARTS


def test_stream_ending_in_model_stream_error_raises(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])
    r = c.invoke_endpoint_with_response_stream(EndpointName="emu-stream-error", Body=b"{}")

    received = []
    with pytest.raises(EventStreamError) as e:
        for event in r["Body"]:
            received.append(event["PayloadPart"]["Bytes"].decode())

    assert received == STREAM_PARTS[:2]
    assert e.value.response["Error"]["Code"] == "ModelStreamError"
    # botocore keeps the exception event's type and Message (its ErrorCode member is dropped).
    assert e.value.response["Error"]["Message"] == "the model stopped mid-answer"


def test_model_error_is_relayed_with_original_status(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="emu-model-error", Body=b"{}")

    err = _error(e)
    assert err["Error"]["Code"] == "ModelError"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert err["OriginalStatusCode"] == 422
    assert err["OriginalMessage"] == '{"error":"bad input"}'


def test_service_unavailable(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="emu-unavailable", Body=b"{}")

    assert _error(e)["Error"]["Code"] == "ServiceUnavailable"
    assert _error(e)["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_model_not_ready(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="emu-not-ready", Body=b"{}")

    assert _error(e)["Error"]["Code"] == "ModelNotReadyException"
    assert _error(e)["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_caller_without_an_allowing_rule_is_denied(emulator, emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["mallory"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="emu-ok", Body=b"{}")

    err = _error(e)
    assert err["Error"]["Code"] == "AccessDeniedException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    audit = emu_gateway.audit.record(err["ResponseMetadata"]["RequestId"])
    assert audit["subject"] == "mallory"
    assert audit["decision"].lower() == "deny"
    assert not [q for q in emulator_requests(emulator) if q["sourceIdentity"] == "mallory"]


def test_missing_token_is_unauthorized(emu_gateway, client):
    c = client(emu_gateway, None)

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="emu-ok", Body=b"{}")

    assert _error(e)["Error"]["Code"] == "UnauthorizedException"
    assert _error(e)["ResponseMetadata"]["HTTPStatusCode"] == 401


def test_unknown_endpoint_is_denied_like_a_forbidden_one(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"{}")

    assert _error(e)["Error"]["Code"] == "AccessDeniedException"
    assert _error(e)["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_bad_target_variant_is_a_validation_error(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="emu-ok", Body=b"{}", TargetVariant="-bad-")

    assert _error(e)["Error"]["Code"] == "ValidationError"
    assert _error(e)["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "TargetVariant" in _error(e)["Error"]["Message"] or \
        "variant" in _error(e)["Error"]["Message"].lower()


def test_wrong_external_id_is_denied(emulator, emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="emu-wrong-external-id", Body=b"{}")

    err = _error(e)
    assert err["Error"]["Code"] == "AccessDeniedException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    # STS's own words stay out of the answer ...
    assert "ExternalId" not in err["Error"]["Message"]
    audit = emu_gateway.audit.record(err["ResponseMetadata"]["RequestId"])
    assert audit["ruleId"] == "other-external-id-role"
    # ... and go to the audit reason.
    assert audit.get("errorReason", "").startswith("sts:"), audit
    refused = [q for q in emulator_requests(emulator)
               if q["operation"] == "AssumeRole" and q["roleArn"] == OTHER_EXTERNAL_ID_ROLE]
    assert refused and refused[-1]["status"] == 403
    assert not [q for q in emulator_requests(emulator) if q["endpointName"] == "emu-wrong-external-id"]


def test_async_invocation_accepted_through_the_emulator(emulator, emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    r = c.invoke_endpoint_async(EndpointName="emu-async",
                                InputLocation="s3://conformance-inputs/in/job-7.json")

    assert r["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert r["OutputLocation"].startswith("s3://")
    assert r["InferenceId"]
    asyncs = [q for q in emulator_requests(emulator) if q["operation"] == "InvokeEndpointAsync"]
    assert asyncs and asyncs[-1]["status"] == 202


def test_async_outside_prefix_never_reaches_the_emulator(emulator, emu_gateway, client, tokens):
    before = len([q for q in emulator_requests(emulator) if q["operation"] == "InvokeEndpointAsync"])
    c = client(emu_gateway, tokens["alice"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint_async(EndpointName="emu-async",
                                InputLocation="s3://conformance-inputs/in-other/job.json")

    assert _error(e)["Error"]["Code"] == "AccessDeniedException"
    assert _error(e)["ResponseMetadata"]["HTTPStatusCode"] == 403
    after = len([q for q in emulator_requests(emulator) if q["operation"] == "InvokeEndpointAsync"])
    assert after == before


def test_internal_failure(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    with pytest.raises(ClientError) as e:
        c.invoke_endpoint(EndpointName="emu-internal", Body=b"{}")

    assert _error(e)["Error"]["Code"] == "InternalFailure"
    assert _error(e)["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_junk_instead_of_an_event_stream_becomes_internal_stream_failure(
        emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])
    r = c.invoke_endpoint_with_response_stream(EndpointName="emu-garbage", Body=b"{}")

    received = []
    with pytest.raises(EventStreamError) as e:
        for event in r["Body"]:
            received.append(event)

    # The junk is never relayed as a payload part; the client gets SageMaker's own stream error.
    assert received == []
    assert e.value.response["Error"]["Code"] == "InternalStreamFailure"
