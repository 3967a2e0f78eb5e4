"""The committed OpenAPI document is a valid OpenAPI 3.1 document, and the
gateway serves exactly it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from openapi_spec_validator import validate

DOCUMENT = Path(__file__).resolve().parents[2] / "Proto" / "OpenAPI" / "gateway.openapi.json"


def test_valid_openapi_3_1():
    document = json.loads(DOCUMENT.read_text())
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_served_by_the_gateway(system):
    with urllib.request.urlopen(system.open_url + "/openapi.json", timeout=10) as answer:
        assert answer.headers["Content-Type"] == "application/json"
        assert json.load(answer) == json.loads(DOCUMENT.read_text())
