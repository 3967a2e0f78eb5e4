"""The system under test: caravan-gateway and the three services' replicas,
each on a host of its own (a network namespace, Tests/deploy/netns.py),
with their stores: SQLite (one replica per service, its data directory on
the harness's disk, one service's on a small tmpfs) or PostgreSQL (two
replicas per service, the cluster on a host of its own).

Everything it starts is recorded and stopped by `stop()`, whatever state
it is in (paused processes are resumed first, so that they can drain).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from netns import Network
from release_system import Server, health, poll

ROOT = Path(__file__).resolve().parents[2]
SUBNET = "198.18.1."  # the harness's hosts; only its own namespaces hold it
GATEWAY_HOST = 1
DATABASE_HOST = 2
SERVICE_HOSTS = {"trade": 10, "logistics": 20, "training": 30}  # + replica number
# Each host has its own ports; these are the harness's range on the
# machine it runs on too, so nothing it starts could meet another's server.
GATEWAY_PORT = 7400
HTTP_PORT = 7480
METRICS_PORT = 7490  # on every host
SERVICE_PORTS = {"trade": 7401, "logistics": 7402, "training": 7403}
POSTGRES_PORT = 54342
SERVICES = ("trade", "logistics", "training")
SERVICE_NAMES = {
    "trade": "caravan.trade.v1.TradeService",
    "logistics": "caravan.logistics.v1.LogisticsService",
    "training": "caravan.training.v1.TrainingService",
}
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
TMPFS_MEGABYTES = 64
START_TIMEOUT = 90  # seconds for a process to report SERVING on a busy machine


@dataclass
class Replica:
    """One backend process's place: its host (named after it), service and address."""

    name: str  # "trade-1"
    service: str
    number: int
    server: Server | None = None
    incarnation: int = 0
    paused: bool = False

    @property
    def host(self) -> str:
        return self.name


class System:
    def __init__(self, bin_dir: Path, run_dir: Path, store: str, replicas_per_service: int,
                 disk_service: str | None, clock_host: str | None, log=print):
        self.bin_dir = bin_dir
        self.run_dir = run_dir
        self.store = store
        self.disk_service = disk_service
        self.clock_host = clock_host
        self.log = log
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.network = Network(SUBNET, prefix="caravan-chaos-")
        self.replicas = [Replica(f"{service}-{number}", service, number)
                         for service in SERVICES for number in range(1, replicas_per_service + 1)]
        self.gateway: Server | None = None
        self.servers: list[Server] = []  # every process started, in order
        self.tmpfs: Path | None = None
        self.postgres_dir = run_dir / "postgres"
        self.clock_file = run_dir / "faketime"
        self.executor = None
        self._local = threading.local()

    # MARK: Addresses

    def address(self, replica: Replica) -> str:
        return f"{self.network.address(replica.host)}:{SERVICE_PORTS[replica.service]}"

    @property
    def gateway_address(self) -> str:
        return f"{self.network.address('gateway')}:{GATEWAY_PORT}"

    @property
    def gateway_http(self) -> str:
        return f"{self.network.address('gateway')}:{HTTP_PORT}"

    def replica(self, name: str) -> Replica:
        return next(replica for replica in self.replicas if replica.name == name)

    def replicas_of(self, service: str) -> list[Replica]:
        return [replica for replica in self.replicas if replica.service == service]

    def data_dir(self, service: str) -> Path:
        return (self.tmpfs if service == self.disk_service else self.run_dir / "data") / service

    def database_url(self, service: str) -> str:
        return f"postgres://caravan:caravan@{self.network.address('postgres')}:{POSTGRES_PORT}/caravan_{service}"

    # MARK: Start and stop

    def start(self) -> None:
        self.network.create()
        self.network.add_host("gateway", GATEWAY_HOST)
        if self.store == "postgres":
            self.network.add_host("postgres", DATABASE_HOST)
        for replica in self.replicas:
            self.network.add_host(replica.host, SERVICE_HOSTS[replica.service] + replica.number)
        self.executor = self.network.executor("gateway")
        if self.store == "postgres":
            self.start_postgres()
            for service in SERVICES:
                self.psql("postgres", f"CREATE DATABASE caravan_{service}")
        else:
            if self.disk_service:
                self.mount_tmpfs()
            for service in SERVICES:
                self.data_dir(service).mkdir(parents=True, exist_ok=True)
        self.clock_file.write_text("+0\n")
        for replica in self.replicas:
            self.start_replica(replica)
        self.start_gateway()

    def mount_tmpfs(self) -> None:
        self.tmpfs = self.run_dir / "tmpfs"
        self.tmpfs.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MEGABYTES}m,mode=0755", f"caravan-chaos-{os.getpid()}",
                                 str(self.tmpfs)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"cannot mount a tmpfs for {self.disk_service}'s data: {result.stderr.strip()}")

    def start_postgres(self) -> None:
        environment = {
            **os.environ, "CARAVAN_PG_DIR": str(self.postgres_dir), "CARAVAN_PG_PORT": str(POSTGRES_PORT),
            "CARAVAN_PG_LISTEN": self.network.address("postgres"), "CARAVAN_PG_ALLOW": f"{SUBNET}0/24",
        }
        result = subprocess.run([*self.network.exec_prefix("postgres"), str(ROOT / "Tests/postgres/start.sh")],
                                env=environment, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()[-2000:]}")

    def postgres_bin(self) -> Path:
        return Path(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]).parent

    def pg_ctl(self, *arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.network.exec_prefix("postgres"), "runuser", "-u", "postgres", "--",
             str(self.postgres_bin() / "pg_ctl"), "-D", str(self.postgres_dir), *arguments],
            capture_output=True, text=True, timeout=120)

    def psql(self, database: str, sql: str) -> str:
        """Runs SQL through the cluster's Unix socket (a file, so no
        namespace is needed); its output, unaligned, tab-separated."""
        result = subprocess.run(
            [str(self.postgres_bin() / "psql"), "-h", str(self.postgres_dir), "-p", str(POSTGRES_PORT), "-U", "caravan",
             "-d", database, "-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-F", "\t", "-c", sql],
            env={**os.environ, "PGPASSWORD": "caravan"}, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"psql {database}: {sql[:200]}: {result.stderr.strip()}")
        return result.stdout

    def replica_settings(self, replica: Replica) -> dict[str, str]:
        """The replica's options, as CARAVAN_<SERVICE>_* variables: under
        libfaketime's preload (the clock host) an executable that `env`
        execs straight away finds no arguments (libfaketime 0.9.10, Swift 6),
        while its environment arrives whole; so every replica is configured
        the one way that works on every host."""
        host, port = self.address(replica).split(":")
        settings = {"HOST": host, "PORT": port, "LOG_LEVEL": "notice", "CALL_LOG_LEVEL": "off",
                    "METRICS_PORT": str(METRICS_PORT)}
        if self.store == "postgres":
            settings["DATABASE_URL"] = self.database_url(replica.service)
        else:
            settings["DATA_DIR"] = str(self.data_dir(replica.service))
        return {f"CARAVAN_{replica.service.upper()}_{name}": value for name, value in settings.items()}

    def prefix(self, replica: Replica) -> tuple[str, ...]:
        prefix = (*self.network.exec_prefix(replica.host), "env",
                  *(f"{name}={value}" for name, value in self.replica_settings(replica).items()))
        if replica.host == self.clock_host:
            # The wall clock (CLOCK_REALTIME) from the file, stepped by
            # rewriting it; the monotonic clocks stay the kernel's.
            prefix += (f"LD_PRELOAD={FAKETIME}", f"FAKETIME_TIMESTAMP_FILE={self.clock_file}",
                       "FAKETIME_CACHE_DURATION=1", "FAKETIME_DONT_FAKE_MONOTONIC=1")
        return prefix

    def start_replica(self, replica: Replica, wait: bool = True) -> None:
        replica.incarnation += 1
        replica.paused = False
        replica.server = Server(replica.name, [str(self.bin_dir / f"caravan-{replica.service}")], self.logs,
                                self.prefix(replica))
        self.servers.append(replica.server)
        if wait:
            self.wait_serving(replica)

    def wait_serving(self, replica: Replica, timeout: float = START_TIMEOUT) -> None:
        server = replica.server

        def serving():
            if not server.running:
                raise RuntimeError(f"{replica.name} exited ({server.process.returncode})\n{server.tail()}")
            return health(self.bin_dir, self.address(replica), "", self.network.exec_prefix("gateway")) == "SERVING"

        if not poll(serving, timeout, 0.3):
            raise RuntimeError(f"{replica.name} not SERVING within {timeout} s\n{server.tail()}")

    def start_gateway(self) -> None:
        host = self.network.address("gateway")
        argv = [str(self.bin_dir / "caravan-gateway"), "--host", host, "--port", str(GATEWAY_PORT),
                "--http-port", str(HTTP_PORT), "--log-level", "notice", "--call-log-level", "off",
                "--metrics-port", str(METRICS_PORT)]
        for service in SERVICES:
            argv += [f"--{service}", ",".join(self.address(replica) for replica in self.replicas_of(service))]
        self.gateway = Server("gateway", argv, self.logs, self.network.exec_prefix("gateway"))
        self.servers.append(self.gateway)
        if not poll(self.ready, START_TIMEOUT, 0.3):
            raise RuntimeError(f"the gateway is not ready within {START_TIMEOUT} s: {self.readiness()}\n{self.gateway.tail()}")

    def stop(self) -> list[str]:
        """Stops every process (resuming paused ones so they can drain),
        PostgreSQL, unmounts the tmpfs and removes the namespaces; returns
        what could not be cleaned up."""
        problems = []
        for server in self.servers:
            if server.running:
                try:
                    os.kill(server.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        for server in reversed(self.servers):
            try:
                server.stop(timeout=20)
            except Exception as error:  # noqa: BLE001 (every process gets its chance)
                problems.append(f"{server.name}: {error}")
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self.store == "postgres" and (self.postgres_dir / "PG_VERSION").exists():
            self.pg_ctl("stop", "-m", "immediate", "-w")
        problems += self.network.remove()
        if self.tmpfs is not None and os.path.ismount(self.tmpfs):
            result = subprocess.run(["umount", str(self.tmpfs)], capture_output=True, text=True)
            if result.returncode != 0:
                problems.append(f"umount {self.tmpfs}: {result.stderr.strip()}")
        left = self.network.left_behind()
        if left:
            problems.append(f"namespaces left behind: {left}")
        return problems

    # MARK: What the gateway sees

    def http(self, method: str, path: str, body: dict | None = None, timeout: float = 10) -> tuple[int, dict]:
        """A call to the gateway's HTTP door, made from the gateway's host."""
        return self.executor.submit(self._http, method, path, body, timeout).result(timeout + 5)

    def _http(self, method: str, path: str, body: dict | None, timeout: float) -> tuple[int, dict]:
        connection = getattr(self._local, "connection", None)
        for attempt in (1, 2):
            if connection is None:
                connection = http.client.HTTPConnection(*self.gateway_http.split(":"), timeout=timeout)
                self._local.connection = connection
            try:
                data = json.dumps(body).encode() if body is not None else None
                connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                return response.status, (json.loads(payload) if payload else {})
            except (http.client.HTTPException, OSError):
                connection.close()
                connection = None
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def call(self, method: str, request: dict, timeout: float = 30) -> dict:
        """A unary call through the HTTP door (`caravan.trade.v1.TradeService/GetFlow`); its answer, or RuntimeError."""
        status, answer = self.http("POST", f"/v1/{method}", request, timeout)
        if status != 200:
            raise RuntimeError(f"{method} {json.dumps(request)[:200]}: HTTP {status} {answer}")
        return answer

    def readiness(self) -> dict:
        try:
            return self.http("GET", "/readyz", timeout=3)[1]
        except Exception as error:  # noqa: BLE001 (not ready, whatever the reason)
            return {"error": str(error)}

    def ready(self) -> bool:
        """Every replica healthy and not ejected at the gateway."""
        backends = self.readiness().get("backends")
        if not backends:
            return False
        return all(entry.get("healthy") and not entry.get("ejected")
                   for backend in backends.values() for entry in backend.get("replicas", []))

    # MARK: Processes, for faults and sampling

    def processes(self) -> list[tuple[str, int]]:
        """(name, pid) of every running Caravan process."""
        found = [(replica.name, replica.server.pid) for replica in self.replicas
                 if replica.server is not None and replica.server.running]
        if self.gateway is not None and self.gateway.running:
            found.append(("gateway", self.gateway.pid))
        return found

    def metrics_address(self, name: str) -> str:
        return f"{self.network.address(name)}:{METRICS_PORT}"

    def scrape(self, name: str) -> str:
        """The /metrics text of process NAME ("gateway" or a replica), read from the gateway's host."""
        host, port = self.metrics_address(name).split(":")

        def fetch():
            connection = http.client.HTTPConnection(host, int(port), timeout=3)
            try:
                connection.request("GET", "/metrics")
                return connection.getresponse().read().decode()
            finally:
                connection.close()

        return self.executor.submit(fetch).result(10)

    def iptables(self, host: str, *arguments: str) -> None:
        result = subprocess.run([*self.network.exec_prefix(host), "iptables", "-w", *arguments],
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"iptables {' '.join(arguments)} on {host}: {result.stderr.strip()}")

    def step_clock(self, offset_seconds: int) -> None:
        """Sets the clock host's wall clock OFFSET seconds from the real one
        (libfaketime rereads the file within a second)."""
        self.clock_file.write_text(f"{offset_seconds:+d}\n")

    def wait_ready(self, timeout: float) -> float | None:
        """Seconds until the gateway sees every replica healthy, or None."""
        started = time.monotonic()
        return time.monotonic() - started if poll(self.ready, timeout, 0.25) else None
