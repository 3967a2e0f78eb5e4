"""schemathesis against the running gateway and services, from the
OpenAPI document the gateway serves, with authentication off and on.

Every answer must conform to the document (status code, content type,
headers, body schema) and none may be a 5xx, for valid and invalid
generated requests alike. A write refused with a 4xx must store nothing:
what the services hold, read through the API before and after, is the
same. Bounded by the number of examples per operation
(CARAVAN_FUZZ_EXAMPLES, default 10; streams and the runs with
authentication on a quarter of it), after the examples schemathesis derives
from the document itself (its coverage phase).
"""

from __future__ import annotations

import json
import os
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("CARAVAN_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Methods that change state (docs/SECURITY.md's caravan.write column).
WRITES = {"RecordFlow", "RecordStreamSession", "AddLink", "RetireLink", "BookShipment", "RecordShipmentEvent",
          "CreateProgram", "RegisterTrainee", "Enrol", "Withdraw", "Complete"}
STREAMS = r"/(StreamFlows|Watch\w*)$"
# Streams run until their deadline; every call gets one, so none runs long.
TIMEOUT = {"X-Caravan-Timeout": "250ms"}


def post(base: str, method: str, body: dict) -> bytes:
    request = urllib.request.Request(f"{base}/v1/{method}", data=json.dumps(body).encode(), method="POST",
                                     headers={"X-Caravan-Timeout": "10s"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read()


# What each service holds, as the API shows it: the reads whose answers a
# refused write must leave unchanged.
STORES = {
    "caravan.trade.v1.TradeService": [
        ("StreamFlows", {}), ("HubStats", {"hub": "horgos"})],
    "caravan.logistics.v1.LogisticsService": [
        ("NetworkStats", {}), ("CountShipments", {}), ("ListLinks", {"includeRetired": True, "pageSize": 1000})],
    "caravan.training.v1.TrainingService": [
        ("ListPrograms", {"pageSize": 500}), ("Statistics", {})],
}


def stored(base: str, service: str) -> dict[str, bytes]:
    return {method: post(base, f"{service}/{method}", body) for method, body in STORES[service]}


def call_and_check(case, system, base: str, headers: dict[str, str]):
    """Calls BASE with the case; checks the answer and, for a refused write, the stores (read without a token)."""
    case.headers = {**(case.headers or {}), **TIMEOUT}
    service, method = case.path.rsplit("/", 2)[-2:]
    write = method in WRITES
    before = stored(system.open_url, service) if write else None
    response = case.call(base_url=base, headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)
    if write and 400 <= response.status_code < 500:
        after = stored(system.open_url, service)
        changed = [name for name in before if before[name] != after[name]]
        assert not changed, f"a write refused with {response.status_code} changed {changed}: {response.text}"
    return response


@pytest.fixture
def open_api(system):
    return schemathesis.openapi.from_url(system.open_url + "/openapi.json")


@pytest.fixture
def auth_api(system):
    return schemathesis.openapi.from_url(system.auth_url + "/openapi.json")


FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
FUZZ_STREAMS = settings(max_examples=max(1, EXAMPLES // 4), deadline=None, suppress_health_check=list(HealthCheck))
open_schema = schemathesis.pytest.from_fixture("open_api")
auth_schema = schemathesis.pytest.from_fixture("auth_api")


@open_schema.exclude(path_regex=STREAMS).parametrize()
@FUZZ
def test_unary_without_auth(case, system):
    call_and_check(case, system, system.open_url, {})


@open_schema.include(path_regex=STREAMS).parametrize()
@FUZZ_STREAMS
def test_streams_without_auth(case, system):
    call_and_check(case, system, system.open_url, {})


@auth_schema.parametrize()
@FUZZ_STREAMS
def test_with_a_token(case, system):
    call_and_check(case, system, system.auth_url, {"Authorization": f"Bearer {system.token}"})


@auth_schema.parametrize()
@FUZZ_STREAMS
def test_without_a_token(case, system):
    case.headers = {key: value for key, value in (case.headers or {}).items() if key.lower() != "authorization"}
    response = call_and_check(case, system, system.auth_url, {})
    # Everything under /v1/ but health needs a token; a request the door
    # cannot read is refused (400) before the call, as grpc-gateway does.
    # (The coverage phase also sends methods the path does not have, e.g. TRACE: 404.)
    documented = case.method.upper() == case.operation.method.upper()
    if documented and case.path.startswith("/v1/") and "/caravan.health.v1.Health/" not in case.path:
        assert response.status_code in (400, 401), f"{case.as_curl_command()}\n{response.status_code} {response.text}"
        if response.status_code == 400:
            assert response.json()["code"] == 3, response.text
