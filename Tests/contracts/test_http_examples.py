"""Runs every example of docs/HTTP.md (each fenced block after an
`<!-- example: NAME -->` line) against the running system, with the
document's address replaced by the test gateway's, and checks what it
printed. An example without a check here, or a check without its example,
fails the suite.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "HTTP.md"
DOC_ADDRESS = "http://127.0.0.1:8080"
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```(sh|python)\n(.*?)\n```", re.S)


def examples() -> dict[str, tuple[str, str]]:
    return {name: (language, code) for name, language, code in EXAMPLE.findall(DOC.read_text())}


def run(name: str, base: str, env: dict[str, str] | None = None) -> str:
    language, code = examples()[name]
    code = code.replace(DOC_ADDRESS, base)
    argv = ["bash", "-euo", "pipefail", "-c", code] if language == "sh" else [sys.executable, "-c", code]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def check_summary(system):
    summary = json.loads(run("curl-summary", system.open_url))
    assert summary["year"] == 2024 and summary["published"]["valueUsd"] == 94.8e9


def check_profile(system):
    # Universal newlines: the head's CRLFs read as LFs.
    head, body = run("curl-profile", system.open_url).split("\n\n", 1)
    assert head.startswith("HTTP/1.1 200")
    assert re.search(r"(?im)^x-trace-id: [0-9a-f]{32}$", head)
    profile = json.loads(body)
    assert profile["country"] == "KZ" and profile["trade"]["outcome"]["status"] == "SECTION_STATUS_OK"
    # No flow is recorded yet and none is published for KZ: the section says so.
    assert profile["trade"]["noData"] is True and "no flows are recorded" in profile["trade"]["noDataMessage"]
    assert len(profile["energy"]["projects"]) == 4


def check_energy(system):
    projects = json.loads(run("curl-energy", system.open_url))["projects"]
    assert {p["name"] for p in projects} == {
        "Zhanatas wind farm", "Turgusun hydropower station", "Kaskelen photovoltaic power station",
        "Kazakhstan's first nuclear power plant"}
    assert all(p["country"] == "KZ" and "capacityMw" not in p and not p.get("synthetic") for p in projects)
    nuclear = next(p for p in projects if p["kind"] == "ENERGY_PROJECT_KIND_NUCLEAR")
    assert nuclear["chinesePartner"] == "China National Nuclear Corporation"
    assert nuclear["status"] == "ENERGY_PROJECT_STATUS_UNDER_CONSIDERATION"


def check_refused(system):
    body, status = run("curl-refused", system.open_url).rstrip("\n").rsplit("\n", 1)
    error = json.loads(body)
    assert status == "400" and error["code"] == 3 and "FR" in error["message"] and error["details"] == []


def check_idempotent(system):
    first, second = run("curl-idempotent", system.open_url).splitlines()
    assert first == second and json.loads(first)["flow"]["id"]


def check_sse(system):
    text = run("curl-sse", system.open_url)
    events = text.split("\n\n")
    assert events[-1] == "" and events[-2] == 'event: status\ndata: {"code":0,"message":"","details":[]}'
    messages = events[:-2]
    assert messages, "the idempotent example stored a KZ tea flow"
    for event in messages:
        kind, data = event.split("\n")
        assert kind == "event: message" and json.loads(data.removeprefix("data: "))["flow"]["category"] == "tea"


def check_ndjson(system):
    lines = run("curl-ndjson", system.open_url).splitlines()
    assert lines and all(json.loads(line)["result"]["flow"]["country"] == "KZ" for line in lines)


def check_watch(system):
    events = run("curl-watch", system.open_url).split("\n\n")
    assert events[0] == 'event: message\ndata: {"created":true}'
    assert events[-1] == "" and json.loads(events[-2].removeprefix("event: status\ndata: "))["code"] == 4


def check_token(system):
    body, status = run("curl-token", system.auth_url, env={"TOKEN": system.token, "PATH": "/usr/bin:/bin"}).rstrip(
        "\n").rsplit("\n", 1)
    assert status == "200" and json.loads(body)["chineseCities"] == 128
    body, status = run("curl-token", system.auth_url, env={"TOKEN": "not-a-token", "PATH": "/usr/bin:/bin"}).rstrip(
        "\n").rsplit("\n", 1)
    assert status == "401" and json.loads(body)["code"] == 16


def check_python(system):
    lines = run("python-client", system.open_url).splitlines()
    assert lines[0] == "published 2024 total, USD: 94800000000"
    assert lines[1].startswith("GetFlow of an unknown id: 5 ") and lines[1].endswith("(HTTP 404)")
    assert lines[2] == "Chinese cities in the network: 128"
    assert lines[3] == "flows recorded for KZ since 2024: 1", "the idempotent example stored one"


# In the document's order: later examples read what earlier ones stored.
CHECKS = {
    "curl-summary": check_summary,
    "curl-profile": check_profile,
    "curl-energy": check_energy,
    "curl-refused": check_refused,
    "curl-idempotent": check_idempotent,
    "curl-sse": check_sse,
    "curl-ndjson": check_ndjson,
    "curl-watch": check_watch,
    "curl-token": check_token,
    "python-client": check_python,
}


def test_every_example_is_checked():
    assert list(examples()) == list(CHECKS)


@pytest.mark.parametrize("name", list(CHECKS))
def test_example(name, system):
    CHECKS[name](system)
