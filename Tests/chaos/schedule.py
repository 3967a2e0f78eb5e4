"""The fault schedule: which fault, on which target, when and for how long,
drawn from a seed. Pure: the same seed, duration and topology give the
same schedule, so a failing run is replayed with its seed.

The kinds are dealt in rounds (every kind applicable to the topology once
per round, in the round's random order), so a run as long as one round
meets every kind; targets, durations and parameters are drawn per fault.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

# Every kind of fault, in the order the documentation lists them.
KINDS = (
    "kill",  # SIGKILL a replica; restarted after the fault's duration
    "pause",  # SIGSTOP a replica; SIGCONT after the duration
    "delay",  # packets between the gateway and a backend host held DELAY ms each way
    "loss",  # a share of those packets dropped
    "partition",  # all of those packets dropped
    "postgres-restart",  # PostgreSQL stopped (immediate or fast), started after the duration
    "disk-full",  # the SQLite data directory's tmpfs filled; freed after the duration
    "clock-step",  # one backend host's wall clock stepped; stepped back after the duration
    "rolling-restart",  # every replica of a service, one at a time: SIGTERM, drain, start, healthy
    "overload",  # a burst of gateway load at a multiple of the steady rate
)


@dataclass(frozen=True)
class Topology:
    """What the faults can act on."""

    store: str  # "sqlite" or "postgres"
    replicas: tuple[str, ...]  # "trade-1", "logistics-2", …: each its own host
    disk_service: str | None  # the SQLite service whose data directory is a tmpfs
    clock_host: str | None  # the backend host whose processes run under a steppable clock

    def services(self) -> list[str]:
        return sorted({replica.split("-")[0] for replica in self.replicas})

    def applicable(self) -> list[str]:
        kinds = []
        for kind in KINDS:
            if kind == "postgres-restart" and self.store != "postgres":
                continue
            if kind == "disk-full" and self.disk_service is None:
                continue
            if kind == "clock-step" and self.clock_host is None:
                continue
            kinds.append(kind)
        return kinds


@dataclass(frozen=True)
class Fault:
    number: int
    kind: str
    target: str  # a replica, a service (rolling-restart, disk-full), "postgres" or "gateway"
    start: float  # seconds after the load starts (planned; a fault waits for the system to be ready)
    duration: float  # seconds the fault holds (a rolling restart takes what it takes)
    settle: float  # seconds of unfaulted load after it clears, before the next
    parameters: dict = field(default_factory=dict)

    def describe(self) -> str:
        extra = ", ".join(f"{key} {value}" for key, value in sorted(self.parameters.items()))
        held = "" if self.kind == "rolling-restart" else f" for {self.duration:.1f} s"
        return f"#{self.number} {self.kind} {self.target}{held}{' (' + extra + ')' if extra else ''}"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Pacing:
    """How long faults hold and how long the system gets between them."""

    warmup: float = 10.0  # unfaulted load first: the baseline
    cooldown: float = 10.0  # unfaulted load last, before the checker runs
    fault_seconds: tuple[float, float] = (4.0, 10.0)
    settle_seconds: tuple[float, float] = (6.0, 12.0)

    @staticmethod
    def short() -> "Pacing":
        """For the bounded CI run: short faults, short gaps."""
        return Pacing(warmup=8.0, cooldown=8.0, fault_seconds=(3.0, 5.0), settle_seconds=(5.0, 7.0))


def build(seed: int, duration: float, topology: Topology, pacing: Pacing = Pacing()) -> list[Fault]:
    """The faults of a run of DURATION seconds of load."""
    rng = random.Random(f"{seed}:{topology.store}")
    kinds = topology.applicable()
    faults: list[Fault] = []
    at = pacing.warmup
    deck: list[str] = []
    while True:
        if not deck:
            deck = list(kinds)
            rng.shuffle(deck)
        kind = deck.pop()
        target, parameters = _target(kind, rng, topology)
        hold = round(rng.uniform(*pacing.fault_seconds), 1)
        settle = round(rng.uniform(*pacing.settle_seconds), 1)
        if kind == "rolling-restart":
            # Roughly what a drain, a start and the gateway's next health
            # check take per replica; planned for, not enforced.
            hold = 5.0 * sum(1 for replica in topology.replicas if replica.split("-")[0] == target)
        if at + hold + settle > duration - pacing.cooldown:
            break
        faults.append(Fault(len(faults) + 1, kind, target, round(at, 1), hold, settle, parameters))
        at += hold + settle
    return faults


def _target(kind: str, rng: random.Random, topology: Topology) -> tuple[str, dict]:
    replicas = list(topology.replicas)
    if kind in ("kill", "pause"):
        return rng.choice(replicas), {}
    if kind == "delay":
        return rng.choice(replicas), {"delay_ms": rng.choice((100, 250, 500, 1500))}
    if kind == "loss":
        return rng.choice(replicas), {"loss_percent": rng.choice((5, 20, 50))}
    if kind == "partition":
        return rng.choice(replicas), {}
    if kind == "postgres-restart":
        return "postgres", {"mode": rng.choice(("immediate", "fast"))}
    if kind == "disk-full":
        return topology.disk_service, {}
    if kind == "clock-step":
        return topology.clock_host, {"step_seconds": rng.choice((-3600, -300, 300, 86400))}
    if kind == "rolling-restart":
        return rng.choice(topology.services()), {}
    if kind == "overload":
        return "gateway", {"multiple": rng.choice((3, 5, 8))}
    raise ValueError(f"unknown fault kind {kind}")


def describe(faults: list[Fault]) -> str:
    return "\n".join(f"  t+{fault.start:6.1f} s  {fault.describe()}" for fault in faults)
