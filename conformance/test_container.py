"""Through the gateway to a model container (the built-in demo model): the same SageMaker Runtime
API, so an SDK client cannot tell a container endpoint from a SageMaker one."""

import json

from conftest import DEMO_ENDPOINT


def test_invoke_endpoint_on_a_container(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    r = c.invoke_endpoint(EndpointName=DEMO_ENDPOINT, Body=b'{"text":"great product"}',
                          ContentType="application/json")

    answer = json.loads(r["Body"].read())
    assert answer["endpoint"] == DEMO_ENDPOINT
    assert answer["label"] == "POSITIVE"
    assert r["InvokedProductionVariant"] == "AllTraffic"


def test_response_stream_from_a_container_reads_as_sagemakers(emu_gateway, client, tokens):
    c = client(emu_gateway, tokens["alice"])

    r = c.invoke_endpoint_with_response_stream(
        EndpointName=DEMO_ENDPOINT, Body=b'{"text":"great product","stream":true}',
        ContentType="application/json")

    parts = [event["PayloadPart"]["Bytes"] for event in r["Body"]]
    assert len(parts) >= 3, parts
    lines = [json.loads(line) for line in b"".join(parts).decode().splitlines()]
    assert [line.get("token") for line in lines[:2]] == ["great", "product"]
    assert lines[-1]["done"] is True and lines[-1]["label"] == "POSITIVE"
    assert r["ContentType"] == "application/jsonlines"
