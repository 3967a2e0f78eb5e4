"""The system the contract tests run against: the release build's three
services on fresh data directories, a gateway in front of them with
authentication off and one with it on (and a token for it), each HTTP
door on a free loopback port. Started once per run, stopped at the end.
Without a release build the tests that need it skip, saying so.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "deploy"))

from release_system import Servers, http_json, poll, release_bin  # noqa: E402


@dataclass
class System:
    bin: Path
    open_url: str  # the HTTP door of the gateway without authentication
    auth_url: str  # the HTTP door of the gateway that requires tokens
    token: str  # caravan.read and caravan.write, for auth_url


@pytest.fixture(scope="session")
def system(tmp_path_factory) -> System:
    # CARAVAN_BIN_DIR runs them against another build (a debug one, say).
    bin_dir = Path(os.environ["CARAVAN_BIN_DIR"]) if os.environ.get("CARAVAN_BIN_DIR") else release_bin()
    work = tmp_path_factory.mktemp("contracts")
    servers = Servers(work)
    try:
        backends = {}
        for name in ("trade", "logistics", "training"):
            data = work / name
            data.mkdir()
            server = servers.start(name, [str(bin_dir / f"caravan-{name}"), "--port", "0", "--data-dir", str(data),
                                          "--log-level", "warning"])
            backends[name] = server.announced()
        key = work / "auth.key"
        key.write_text(base64.b64encode(os.urandom(48)).decode())
        key.chmod(0o600)
        doors = []
        for name, extra in (("gateway-open", []), ("gateway-auth", ["--auth-key-file", str(key)])):
            argv = [str(bin_dir / "caravan-gateway"), "--port", "0", "--http-port", "0", "--log-level", "warning",
                    *extra, *[arg for name, address in backends.items() for arg in (f"--{name}", address)]]
            gateway = servers.start(name, argv)
            doors.append("http://" + gateway.announced("HTTP on"))
        for door in doors:
            assert poll(lambda: http_json(door + "/readyz").get("ready"), 60), f"{door} not ready"
        token = subprocess.run(
            [str(bin_dir / "caravan"), "token", "--key-file", str(key), "--subject", "contracts",
             "--scope", "caravan.read caravan.write", "--ttl", "2h"],
            capture_output=True, text=True, check=True).stdout.strip()
        yield System(bin_dir, doors[0], doors[1], token)
    finally:
        servers.stop_all()
