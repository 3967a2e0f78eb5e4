"""Resource use of every process over a run, sampled from /proc (and the
processes' /metrics): resident memory, open file descriptors, established
TCP connections, threads, and calls in flight (the nearest to a count of
tasks that can be seen from outside a Swift process). Growth is judged per
process incarnation (a restarted replica starts a new series), from the
middle of its life to its end, so start-up and warm-up do not count as
growth.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field

ESTABLISHED = "01"
IN_FLIGHT = re.compile(r"^caravan_rpc_server_in_flight(?:\{[^}]*\})?\s+([0-9.eE+-]+)$", re.M)


@dataclass
class Sample:
    at: float
    rss_kb: int
    fds: int
    connections: int
    threads: int
    in_flight: float | None


def read_process(pid: int) -> tuple[int, int, int, int] | None:
    """RSS (kB), open descriptors, established TCP connections and threads
    of PID; None once it is gone."""
    try:
        status = open(f"/proc/{pid}/status").read()
        rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
        threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
        sockets = set()
        descriptors = os.listdir(f"/proc/{pid}/fd")
        for descriptor in descriptors:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
            except OSError:
                continue
            if target.startswith("socket:["):
                sockets.add(target[8:-1])
        established = 0
        for table in ("tcp", "tcp6"):
            try:
                lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) > 9 and fields[3] == ESTABLISHED and fields[9] in sockets:
                    established += 1
        return rss, len(descriptors), established, threads
    except (FileNotFoundError, ProcessLookupError, AttributeError):
        return None


@dataclass
class Series:
    name: str
    pid: int
    samples: list[Sample] = field(default_factory=list)

    def growth(self) -> dict | None:
        """From the median of the second quarter of its samples to the
        median of the last quarter; None with too few samples to say."""
        if len(self.samples) < 8:
            return None
        quarter = len(self.samples) // 4

        def median(values):
            values = sorted(values)
            return values[len(values) // 2]

        middle, end = self.samples[quarter:2 * quarter], self.samples[-quarter:]
        hours = max((median([s.at for s in end]) - median([s.at for s in middle])) / 3600, 1e-9)
        result = {"samples": len(self.samples), "span_seconds": round(self.samples[-1].at - self.samples[0].at, 1)}
        for metric in ("rss_kb", "fds", "connections", "threads"):
            start, finish = median([getattr(s, metric) for s in middle]), median([getattr(s, metric) for s in end])
            result[metric] = {"middle": start, "end": finish, "max": max(getattr(s, metric) for s in self.samples),
                              "per_hour": round((finish - start) / hours, 1)}
        flights = [s.in_flight for s in self.samples if s.in_flight is not None]
        if flights:
            result["in_flight"] = {"max": max(flights), "end": flights[-1]}
        return result


class Sampler:
    """Samples every process the system reports, every INTERVAL seconds, on a thread."""

    def __init__(self, system, interval: float = 2.0, scrape_every: int = 5):
        self.system = system
        self.interval = interval
        self.scrape_every = scrape_every
        self.series: dict[tuple[str, int], Series] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="soak-sampler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(30)

    def run(self) -> None:
        round_number = 0
        while not self.stopping.wait(self.interval):
            round_number += 1
            for name, pid in self.system.processes():
                reading = read_process(pid)
                if reading is None:
                    continue
                in_flight = None
                if round_number % self.scrape_every == 0:
                    in_flight = self.in_flight(name)
                series = self.series.setdefault((name, pid), Series(name, pid))
                series.samples.append(Sample(time.time(), *reading, in_flight))

    def in_flight(self, name: str) -> float | None:
        try:
            match = IN_FLIGHT.search(self.system.scrape(name))
        except Exception:  # noqa: BLE001 (a paused or partitioned process answers nothing)
            return None
        return float(match.group(1)) if match else None

    def report(self) -> list[dict]:
        rows = []
        for series in self.series.values():
            growth = series.growth()
            if growth is not None:
                rows.append({"process": series.name, "pid": series.pid, **growth})
        return sorted(rows, key=lambda row: (row["process"], row["pid"]))
