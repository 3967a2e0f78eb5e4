"""Doing each fault of the schedule to the running system, and undoing it.

Network faults act inside the backend host's namespace on the packets
between it and the gateway's host (its traffic to PostgreSQL is left
alone): iptables DROP for a partition, iptables' `statistic` match for
loss, and for delay an NFQUEUE whose packets netdelay.py holds (this
kernel has no sch_netem; see netdelay.py). A clock step rewrites the file
libfaketime reads on the clock host (time namespaces offset only the
monotonic and boot clocks, and only before a process starts, so they
cannot step a running host's wall clock).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from availability import FaultRecord
from release_system import Server, poll
from schedule import Fault
from system import System

HERE = Path(__file__).resolve().parent
READY_TIMEOUT = 90  # seconds for the gateway to see every replica healthy after a fault clears
QUEUE = 7  # the NFQUEUE number netdelay binds


class FaultRunner:
    def __init__(self, system: System, load, log=print):
        self.system = system
        self.load = load
        self.log = log
        self.delayer: Server | None = None
        self.filler: Path | None = None

    def run(self, fault: Fault) -> FaultRecord:
        """Does FAULT, holds it, undoes it, and waits for the system to be ready again."""
        record = FaultRecord(fault.number, fault.kind, fault.target, dict(fault.parameters), time.time(), 0.0, None)
        self.log(f"fault {fault.describe()}")
        handler = getattr(self, "fault_" + fault.kind.replace("-", "_"))
        handler(fault, record)
        if not record.cleared:
            record.cleared = time.time()
        cleared = time.monotonic()
        record.ready_after = None if not poll(self.system.ready, READY_TIMEOUT, 0.25) else time.monotonic() - cleared
        if record.ready_after is None:
            record.notes.append(f"the gateway did not see every replica healthy within {READY_TIMEOUT} s: "
                                f"{self.system.readiness()}")
        self.log(f"  cleared; the gateway saw every replica healthy {record.ready_after and round(record.ready_after, 2)} s later")
        return record

    def hold(self, fault: Fault) -> None:
        time.sleep(fault.duration)

    # MARK: Processes

    def fault_kill(self, fault: Fault, record: FaultRecord) -> None:
        replica = self.system.replica(fault.target)
        replica.server.process.kill()
        replica.server.process.wait()
        self.hold(fault)
        record.cleared = time.time()
        started = time.monotonic()
        self.system.start_replica(replica)
        record.notes.append(f"restarted; SERVING after {time.monotonic() - started:.2f} s")

    def fault_pause(self, fault: Fault, record: FaultRecord) -> None:
        replica = self.system.replica(fault.target)
        os.kill(replica.server.pid, signal.SIGSTOP)
        replica.paused = True
        try:
            self.hold(fault)
        finally:
            os.kill(replica.server.pid, signal.SIGCONT)
            replica.paused = False

    def fault_rolling_restart(self, fault: Fault, record: FaultRecord) -> None:
        for replica in self.system.replicas_of(fault.target):
            began = time.monotonic()
            status = replica.server.stop()
            drained = time.monotonic()
            self.system.start_replica(replica)
            serving = time.monotonic()
            healthy = poll(self.system.ready, READY_TIMEOUT, 0.25)
            record.notes.append(f"{replica.name}: exit {status} after {drained - began:.2f} s, SERVING "
                                f"{serving - drained:.2f} s later, healthy at the gateway "
                                f"{'after %.2f s' % (time.monotonic() - serving) if healthy else 'never'}")
            if not healthy:
                record.never_healthy.append(replica.name)

    # MARK: The network between the gateway and one backend host

    def peer_rules(self, host: str, target: list[str], action: str = "-I") -> None:
        """TARGET (an iptables target with its options) for the packets
        from and to the gateway's host, in HOST's namespace."""
        gateway = self.system.network.address("gateway")
        self.system.iptables(host, action, "INPUT", "-s", gateway, "-j", *target)
        self.system.iptables(host, action, "OUTPUT", "-d", gateway, "-j", *target)

    def clear_rules(self, host: str) -> None:
        self.system.iptables(host, "-F", "INPUT")
        self.system.iptables(host, "-F", "OUTPUT")

    def fault_partition(self, fault: Fault, record: FaultRecord) -> None:
        self.peer_rules(fault.target, ["DROP"])
        try:
            self.hold(fault)
        finally:
            self.clear_rules(fault.target)

    def fault_loss(self, fault: Fault, record: FaultRecord) -> None:
        probability = fault.parameters["loss_percent"] / 100
        gateway = self.system.network.address("gateway")
        for chain, side in (("INPUT", "-s"), ("OUTPUT", "-d")):
            self.system.iptables(fault.target, "-I", chain, side, gateway, "-m", "statistic", "--mode", "random",
                                 "--probability", f"{probability}", "-j", "DROP")
        try:
            self.hold(fault)
        finally:
            self.clear_rules(fault.target)

    def fault_delay(self, fault: Fault, record: FaultRecord) -> None:
        # Half the delay each way: the round trip grows by the whole.
        each_way = fault.parameters["delay_ms"] / 2
        self.delayer = Server(f"netdelay-{fault.target}",
                              [sys.executable, str(HERE / "netdelay.py"), "--queue", str(QUEUE),
                               "--delay-ms", str(each_way)],
                              self.system.logs, self.system.network.exec_prefix(fault.target))
        self.system.servers.append(self.delayer)
        # The rules go in only once the queue is bound: until then,
        # --queue-bypass would let the packets through undelayed.
        poll(lambda: "netdelay: queue" in self.delayer.output() or not self.delayer.running, 30, 0.05)
        if not self.delayer.running:
            raise RuntimeError(f"netdelay did not start\n{self.delayer.tail()}")
        self.peer_rules(fault.target, ["NFQUEUE", "--queue-num", str(QUEUE), "--queue-bypass"])
        try:
            self.hold(fault)
        finally:
            self.clear_rules(fault.target)
            self.delayer.stop(timeout=10)
            self.delayer = None

    # MARK: Stores

    def fault_postgres_restart(self, fault: Fault, record: FaultRecord) -> None:
        result = self.system.pg_ctl("stop", "-m", fault.parameters["mode"], "-w")
        if result.returncode != 0:
            record.notes.append(f"pg_ctl stop: {result.stderr.strip()}")
        self.hold(fault)
        record.cleared = time.time()
        started = time.monotonic()
        self.system.start_postgres()
        record.notes.append(f"PostgreSQL accepting connections {time.monotonic() - started:.2f} s after its start")

    def fault_disk_full(self, fault: Fault, record: FaultRecord) -> None:
        self.filler = self.system.tmpfs / "filler"
        before = os.statvfs(self.system.tmpfs)
        # Unbuffered: a buffered file would try to write its rest again on
        # close, and fail there.
        with open(self.filler, "wb", buffering=0) as filler:
            try:
                os.posix_fallocate(filler.fileno(), 0, before.f_bavail * before.f_frsize)
            except OSError:
                pass
            # Whatever fallocate left, written until the disk refuses.
            block = b"\0" * 65536
            try:
                while filler.write(block):
                    pass
            except OSError:
                pass
        left = os.statvfs(self.system.tmpfs)
        record.notes.append(f"{fault.target}'s tmpfs filled: {before.f_bavail * before.f_frsize} bytes were free, "
                            f"{left.f_bavail * left.f_frsize} left")
        try:
            self.hold(fault)
        finally:
            self.filler.unlink()
            self.filler = None

    def fault_clock_step(self, fault: Fault, record: FaultRecord) -> None:
        self.system.step_clock(fault.parameters["step_seconds"])
        try:
            self.hold(fault)
        finally:
            self.system.step_clock(0)

    # MARK: Load

    def fault_overload(self, fault: Fault, record: FaultRecord) -> None:
        burst = self.load.burst(fault.number, fault.parameters["multiple"], fault.duration)
        record.cleared = time.time()
        record.notes.append(burst)

    def undo_everything(self) -> None:
        """After an interruption: whatever a fault left in place is undone."""
        for replica in self.system.replicas:
            if replica.paused and replica.server is not None and replica.server.running:
                os.kill(replica.server.pid, signal.SIGCONT)
                replica.paused = False
        if self.delayer is not None:
            self.delayer.stop(timeout=5)
        if self.filler is not None and self.filler.exists():
            self.filler.unlink()
        if self.system.clock_host:
            self.system.step_clock(0)
