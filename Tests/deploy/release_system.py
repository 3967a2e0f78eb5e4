"""Real Caravan processes for the deploy tests: the release build's
executables, each with its own log file, watched until they listen and
report SERVING, and stopped however a test ends.

Shared by test_separate_hosts.py and test_rolling_restart.py (and the small
helpers by test_deploy.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# CARAVAN_BIN_DIR proves another build than .build/release (as Tests/contracts does).
RELEASE = Path(os.environ["CARAVAN_BIN_DIR"]) if os.environ.get("CARAVAN_BIN_DIR") else ROOT / ".build" / "release"
PRODUCTS = ("caravan-trade", "caravan-logistics", "caravan-training", "caravan-gateway", "caravan")
# What each backend's health service and the gateway's routing call it.
SERVICE_NAMES = {
    "trade": "caravan.trade.v1.TradeService",
    "logistics": "caravan.logistics.v1.LogisticsService",
    "training": "caravan.training.v1.TrainingService",
}
STOP_TIMEOUT = 30  # seconds after SIGTERM; a drain takes at most its 10 s grace


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def alive(pid: int) -> bool:
    """True while PID runs (a zombie whose parent is gone but not reaped by
    this container's init is not running)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def as_from_a_terminal() -> None:
    """For Popen's preexec_fn: SIGINT and SIGQUIT back to their defaults, as
    a command typed at a terminal has them. A test run started in the
    background of a non-interactive shell (`.ci/run &`, nohup, some CI
    runners) inherits them ignored, and a shell started with SIGINT ignored
    cannot trap it: run.sh would never see the Ctrl-C a test sends it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def release_bin() -> Path:
    """The release build's bin directory; skips the test without it."""
    missing = [name for name in PRODUCTS if not os.access(RELEASE / name, os.X_OK)]
    if missing:
        pytest.skip(f"no release build of {', '.join(missing)} in {RELEASE} (run `swift build -c release` first)")
    return RELEASE


def poll(condition, timeout: float, interval: float = 0.2):
    """Calls CONDITION until it returns something true or TIMEOUT seconds
    pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Server:
    """One executable run in its own session, output appended to
    LOG_DIR/NAME.log. PREFIX runs it elsewhere (`ip netns exec NS`, which
    execs in place, so the pid is the executable's)."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, prefix: tuple[str, ...] = ()):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            log.write(f"--- {' '.join([*prefix, *argv])}\n".encode())
            self.process = subprocess.Popen(
                [*prefix, *argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        """What this run (not earlier runs sharing the log) has written."""
        with open(self.log, "rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = 30) -> str:
        return f"--- the end of {self.log}:\n" + "\n".join(self.output().splitlines()[-lines:])

    def announced(self, what: str = "listening on", timeout: float = 60) -> str:
        """The host:port from the executable's first `<name> WHAT HOST:PORT` line."""
        pattern = re.compile(rf"{re.escape(what)} (\S+:\d+)$", re.M)

        def find():
            match = pattern.search(self.output())
            if match is None and not self.running:
                raise AssertionError(f"{self.name} exited ({self.process.returncode}) before '{what}'\n{self.tail()}")
            return match and match.group(1)

        address = poll(find, timeout, 0.05)
        assert address, f"{self.name} announced no '{what}' within {timeout} s\n{self.tail()}"
        return address

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then waits for the drain; SIGKILL only after TIMEOUT.
        Returns the exit status (negative: the signal that ended it)."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class Servers:
    """Every server a test starts, stopped at teardown in reverse order."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Server] = []

    def start(self, name: str, argv: list[str], prefix: tuple[str, ...] = ()) -> Server:
        server = Server(name, argv, self.log_dir, prefix)
        self.started.append(server)
        return server

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        for server in reversed(self.started):
            server.stop(timeout)


@pytest.fixture
def servers(tmp_path):
    """A `Servers` whose processes are stopped when the test ends, passed or not."""
    registry = Servers(tmp_path)
    try:
        yield registry
    finally:
        registry.stop_all()


def health(bin_dir: Path, address: str, service: str = "", prefix: tuple[str, ...] = ()) -> str:
    """`caravan health`'s verdict (SERVING, NOT_SERVING, …) or its error."""
    result = subprocess.run(
        [*prefix, str(bin_dir / "caravan"), "health", "--timeout", "1s", address, *([service] if service else [])],
        capture_output=True, text=True, timeout=30)
    return (result.stdout or result.stderr).strip()


def wait_serving(bin_dir: Path, server: Server, address: str, service: str = "",
                 prefix: tuple[str, ...] = (), timeout: float = 60) -> None:
    def serving():
        if not server.running:
            raise AssertionError(f"{server.name} exited ({server.process.returncode})\n{server.tail()}")
        return health(bin_dir, address, service, prefix) == "SERVING"

    assert poll(serving, timeout), (
        f"{server.name} at {address} not SERVING {service} within {timeout} s: "
        f"{health(bin_dir, address, service, prefix)}\n{server.tail()}")


def call(bin_dir: Path, address: str, method: str, request: dict, timeout: str = "5s",
         prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`caravan call` (its answer as JSON on stdout)."""
    return subprocess.run(
        [*prefix, str(bin_dir / "caravan"), "call", "--timeout", timeout, address, method, json.dumps(request)],
        capture_output=True, text=True, timeout=60)


def http_json(url: str) -> dict:
    """GET URL's JSON body, whatever the HTTP status (/readyz answers 503 when not ready)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)
