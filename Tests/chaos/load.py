"""The clients: `caravan load` on the gateway's host, an open loop at a
steady rate over the chaos scenario (scenario.json) with keyed retries and
a history of every attempt; and, for overload faults, bursts of the
built-in gateway scenario at a multiple of that rate.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from system import System

HERE = Path(__file__).resolve().parent
CALL_TIMEOUT = "2s"  # each attempt's deadline (the aggregates' steps set their own)
RETRIES = 3  # a keyed write failing UNAVAILABLE, DEADLINE_EXCEEDED, … is sent again up to this often
RETRY_PAUSE = "300ms"  # before the first retry; doubling


class Load:
    def __init__(self, system: System, rate: float, run_dir: Path, log=print):
        self.system = system
        self.rate = rate
        self.run_dir = run_dir
        self.log = log
        self.process: subprocess.Popen | None = None
        self.bursts: list[Path] = []

    @property
    def history(self) -> Path:
        return self.run_dir / "history.jsonl"

    def histories(self) -> list[Path]:
        return [self.history, *self.bursts]

    def scenario(self, programs: list[str]) -> Path:
        text = (HERE / "scenario.json").read_text().replace("@PROGRAMS@", "|".join(programs))
        path = self.run_dir / "scenario.json"
        path.write_text(text)
        return path

    def command(self, *arguments: str) -> list[str]:
        return [*self.system.network.exec_prefix("gateway"), str(self.system.bin_dir / "caravan"), "load",
                self.system.gateway_address, *arguments]

    def start(self, programs: list[str]) -> None:
        argv = self.command(
            "--scenario-file", str(self.scenario(programs)), "--rps", str(self.rate), "--duration", "24h",
            "--timeout", CALL_TIMEOUT, "--retries", str(RETRIES), "--retry-pause", RETRY_PAUSE,
            "--connections", "2", "--history", str(self.history), "--format", "json",
            "--output", str(self.run_dir / "load-report.json"))
        log = open(self.run_dir / "logs" / "load.log", "ab")
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        # It connects (waiting up to 3 s for the connections) and starts.
        time.sleep(3)
        if self.process.poll() is not None:
            raise RuntimeError(f"caravan load exited: {(self.run_dir / 'logs' / 'load.log').read_text()[-2000:]}")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def stop(self) -> dict:
        """Ends the load as Ctrl-C does (calls in flight finish, the history
        and the report are written); its report."""
        if self.process is None:
            return {}
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        report = self.run_dir / "load-report.json"
        return json.loads(report.read_text()) if report.exists() else {}

    def burst(self, number: int, multiple: float, seconds: float) -> str:
        """The built-in gateway scenario at MULTIPLE times the steady rate
        for SECONDS (blocking); what it reported, in a line."""
        history = self.run_dir / f"burst-{number}.jsonl"
        report = self.run_dir / f"burst-{number}.json"
        self.bursts.append(history)
        argv = self.command("--scenario", "gateway", "--rps", str(self.rate * multiple), "--duration",
                            f"{seconds}s", "--timeout", CALL_TIMEOUT, "--connections", "2", "--history", str(history),
                            "--format", "json", "--output", str(report))
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
        if result.returncode != 0 or not report.exists():
            return f"burst at {self.rate * multiple:.0f}/s failed ({result.returncode}): {result.stderr.strip()[-500:]}"
        figures = json.loads(report.read_text())
        return (f"burst at {self.rate * multiple:.0f}/s: {figures['calls']} calls, {figures['qps']:.0f}/s, "
                f"statuses {figures['status_codes']}, p50 {figures['p50_us'] / 1000:.1f} ms, "
                f"p99 {figures['p99_us'] / 1000:.1f} ms")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
