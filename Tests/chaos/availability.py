"""What each fault did to the clients, from the history: the share of calls
answered OK while it held (and served: OK or refused on the request's
merits), the longest stretch without a served call, how long after it
cleared the calls it touched were all served again (aggregates complete,
not partial), and for a partition how the gateway's aggregates answered
within their deadline.

Times are wall-clock seconds, as the history and the fault log record them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from history import Attempt

AGGREGATES = {"CountryProfile", "PartnershipOverview"}
# Answers on the request's merits: the service ran the call and said no
# (an illegal shipment event, a trainee already enrolled). The scenario
# makes such calls on purpose; they say the system is up.
ON_THE_MERITS = {"INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "FAILED_PRECONDITION", "OUT_OF_RANGE"}
STABLE_SECONDS = 2.0  # recovered: every touched call starting in this long after answered fully
SECTIONS = {"trade": ("trade", "hub"), "logistics": ("logistics",), "training": ("training",)}


@dataclass
class Call:
    """A call as its client saw it: from its first attempt's start to its
    last attempt's end, with the last attempt's status."""

    source: str
    number: int
    method: str  # the method's name
    service: str  # "trade", …, "gateway"
    start: float
    end: float
    status: str
    response: dict | list | None
    timeout: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    @property
    def served(self) -> bool:
        """OK, or refused on the request's merits."""
        return self.ok or self.status in ON_THE_MERITS

    @property
    def complete(self) -> bool:
        """Served, and for an aggregate, with every section (not partial)."""
        return self.served and not (self.method in AGGREGATES and isinstance(self.response, dict)
                                    and self.response.get("partial"))


def calls(attempts: list[Attempt]) -> list[Call]:
    grouped: dict[tuple[str, int], list[Attempt]] = {}
    for attempt in attempts:
        grouped.setdefault((attempt.source, attempt.number), []).append(attempt)
    found = []
    for (source, number), group in grouped.items():
        group.sort(key=lambda attempt: attempt.attempt)
        first, last = group[0], group[-1]
        found.append(Call(source, number, first.method_name, first.service, first.start, last.end, last.status,
                          last.response))
    found.sort(key=lambda call: call.start)
    return found


@dataclass
class FaultRecord:
    """A fault as it happened: its schedule entry and the harness's clock."""

    number: int
    kind: str
    target: str
    parameters: dict
    started: float
    cleared: float
    ready_after: float | None  # seconds from clearing until the gateway saw every replica healthy
    notes: list[str] = field(default_factory=list)
    # Replicas a rolling restart brought back that the gateway never saw
    # healthy before it went on to the next one.
    never_healthy: list[str] = field(default_factory=list)

    def touches(self, call: Call) -> bool:
        """Whether CALL goes (or may go) through what the fault acts on."""
        if self.kind in ("postgres-restart", "overload"):
            return True
        service = self.target.split("-")[0]
        return call.service in (service, "gateway")


@dataclass
class Availability:
    fault: FaultRecord
    calls: int
    ok_share: float | None
    served_share: float | None
    longest_without_answer: float
    recovery: float | None  # seconds after clearing; None: not within the observed calls
    aggregates: dict | None = None  # partitions: how the gateway's aggregates answered
    overload: dict | None = None

    def to_json(self) -> dict:
        return {"fault": self.fault.number, "kind": self.fault.kind, "target": self.fault.target,
                "parameters": self.fault.parameters, "held_seconds": round(self.fault.cleared - self.fault.started, 2),
                "touched_calls": self.calls,
                "ok_share": None if self.ok_share is None else round(self.ok_share, 4),
                "served_share": None if self.served_share is None else round(self.served_share, 4),
                "longest_without_answer_seconds": round(self.longest_without_answer, 2),
                "recovery_seconds": None if self.recovery is None else round(self.recovery, 2),
                "ready_after_seconds": None if self.fault.ready_after is None else round(self.fault.ready_after, 2),
                "started": round(self.fault.started, 3), "cleared": round(self.fault.cleared, 3),
                "never_healthy": self.fault.never_healthy,
                "aggregates": self.aggregates, "overload": self.overload, "notes": self.fault.notes}


def analyse(fault: FaultRecord, all_calls: list[Call], next_start: float, burst: list[Call] | None = None) -> Availability:
    """FAULT's effect on the calls that touch it, up to NEXT_START (when the next fault began)."""
    touched = [call for call in all_calls if fault.touches(call) and fault.started <= call.start < next_start]
    during = [call for call in touched if call.start < fault.cleared]
    ok_share = sum(call.ok for call in during) / len(during) if during else None
    served_share = sum(call.served for call in during) / len(during) if during else None
    recovery = recovery_after(fault.cleared, [call for call in touched if call.start >= fault.started])
    horizon = fault.cleared + (recovery or 0.0)
    successes = sorted(call.end for call in touched if call.served and call.end <= max(horizon, fault.cleared))
    longest, last = 0.0, fault.started
    for end in successes:
        longest = max(longest, end - last)
        last = end
    longest = max(longest, min(horizon, next_start) - last) if touched else 0.0
    result = Availability(fault, len(during), ok_share, served_share, max(longest, 0.0), recovery)
    if fault.kind == "partition":
        result.aggregates = aggregates_during(fault, during)
    if fault.kind == "overload" and burst is not None:
        result.overload = overload_figures(fault, all_calls, burst)
    return result


def recovery_after(cleared: float, touched: list[Call]) -> float | None:
    """Seconds from CLEARED to the start of the first call after which every
    touched call starting within STABLE_SECONDS is complete; 0 when none
    after clearing failed; None when it never settles in the calls given."""
    after = [call for call in touched if call.start >= cleared]
    if all(call.complete for call in after):
        return 0.0
    for index, call in enumerate(after):
        if not call.complete:
            continue
        window = [other for other in after[index:] if other.start < call.start + STABLE_SECONDS]
        if all(other.complete for other in window) and after[-1].start >= call.start + STABLE_SECONDS:
            return call.start - cleared
    return None


def aggregates_during(fault: FaultRecord, during: list[Call]) -> dict:
    """How the gateway's aggregates answered while one backend was cut off:
    answered (OK), partial, the cut-off service's sections failed or timed
    out, within the call's deadline."""
    service = fault.target.split("-")[0]
    aggregates = [call for call in during if call.method in AGGREGATES]
    answered = [call for call in aggregates if call.ok and isinstance(call.response, dict)]
    partial = [call for call in answered if call.response.get("partial")]
    section_failed = [call for call in partial if any(
        call.response.get(section, {}).get("outcome", {}).get("status") in
        ("SECTION_STATUS_FAILED", "SECTION_STATUS_TIMED_OUT") for section in SECTIONS.get(service, ()))]
    latencies = sorted(call.end - call.start for call in aggregates)
    return {"calls": len(aggregates), "answered": len(answered), "partial": len(partial),
            "cut_service_sections_failed": len(section_failed),
            "failed": len(aggregates) - len(answered),
            "max_latency_seconds": round(latencies[-1], 3) if latencies else None}


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))]


def overload_figures(fault: FaultRecord, steady: list[Call], burst: list[Call]) -> dict:
    """The burst's own calls, and the steady load's before and during it."""
    in_burst = [call for call in burst if fault.started <= call.start < fault.cleared]
    before = [call for call in steady if fault.started - 10 <= call.start < fault.started]
    during = [call for call in steady if fault.started <= call.start < fault.cleared]
    codes: dict[str, int] = {}
    for call in in_burst:
        codes[call.status] = codes.get(call.status, 0) + 1

    def p99_ms(group):
        value = percentile([call.end - call.start for call in group if call.ok], 0.99)
        return None if value is None else round(value * 1000, 1)

    seconds = max(fault.cleared - fault.started, 1e-9)
    return {"burst_calls": len(in_burst), "burst_ok_per_second": round(sum(c.ok for c in in_burst) / seconds, 1),
            "burst_statuses": codes, "burst_p99_ms": p99_ms(in_burst),
            "steady_p99_ms_before": p99_ms(before), "steady_p99_ms_during": p99_ms(during),
            "steady_ok_share_during": round(sum(c.ok for c in during) / len(during), 4) if during else None}


def by_kind(rows: list[dict]) -> dict[str, dict]:
    """The per-fault figures (``Availability.to_json``) summed up per kind:
    how many, the lowest OK and served shares, the longest stretch without
    an answer and the slowest recovery (None if any never recovered)."""
    kinds: dict[str, dict] = {}
    for row in rows:
        kinds.setdefault(row["kind"], []).append(row)
    summary = {}
    for kind, group in kinds.items():
        shares = [row["ok_share"] for row in group if row["ok_share"] is not None]
        served = [row["served_share"] for row in group if row["served_share"] is not None]
        recoveries = [row["recovery_seconds"] for row in group]
        summary[kind] = {
            "faults": len(group),
            "min_ok_share": min(shares) if shares else None,
            "min_served_share": min(served) if served else None,
            "longest_without_answer_seconds": max(row["longest_without_answer_seconds"] for row in group),
            "slowest_recovery_seconds": None if None in recoveries else max(recoveries),
        }
    return summary
