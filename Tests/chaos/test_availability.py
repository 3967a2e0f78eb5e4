"""The availability figures from made-up histories: what counts as served,
when a fault has recovered, and the longest stretch without an answer.
Runs without a build: `python3 -m pytest Tests/chaos`.
"""

from __future__ import annotations

import availability
from availability import Call, FaultRecord

T0 = 1_700_000_000.0


def call(start: float, status: str = "OK", method: str = "RecordFlow", service: str = "trade",
         response: dict | None = None, number: int = 0) -> Call:
    return Call("history.jsonl", number, method, service, T0 + start, T0 + start + 0.05, status, response or {})


def fault(started: float, cleared: float, kind: str = "partition", target: str = "trade-1") -> FaultRecord:
    return FaultRecord(1, kind, target, {}, T0 + started, T0 + cleared, 0.1)


def steady(first: float, last: float, status: str = "OK", every: float = 0.25) -> list[Call]:
    count = int(round((last - first) / every))
    return [call(first + index * every, status) for index in range(count)]


def test_refusals_on_the_merits_are_served_and_do_not_delay_recovery():
    calls = steady(0, 10) + [call(6.1, "FAILED_PRECONDITION"), call(7.3, "ALREADY_EXISTS")]
    calls.sort(key=lambda c: c.start)
    result = availability.analyse(fault(2, 5), calls, float("inf"))
    assert result.recovery == 0.0
    assert result.served_share == 1.0


def test_recovery_is_the_start_of_the_first_stretch_that_is_all_served():
    calls = steady(0, 2) + steady(2, 7, "UNAVAILABLE") + [call(7.0, "DEADLINE_EXCEEDED")] + steady(8, 14)
    calls.sort(key=lambda c: c.start)
    result = availability.analyse(fault(2, 5), calls, float("inf"))
    assert result.ok_share == 0.0
    assert result.recovery == 3.0  # cleared at 5, first served call of the good stretch at 8
    assert 6.0 <= result.longest_without_answer <= 6.1  # from the fault's start to 8 s and its answer


def test_no_recovery_when_failures_go_on_to_the_end():
    calls = steady(0, 2) + steady(2, 12, "UNAVAILABLE")
    result = availability.analyse(fault(2, 5), calls, float("inf"))
    assert result.recovery is None


def test_a_partial_aggregate_is_served_but_not_complete():
    partial = call(6, method="CountryProfile", service="gateway", response={"partial": True})
    assert partial.served and not partial.complete
    calls = steady(0, 5.9) + [partial] + steady(6.1, 12)
    result = availability.analyse(fault(2, 5), calls, float("inf"))
    assert result.recovery is not None and result.recovery > 1.0


def test_calls_to_other_services_are_not_touched_by_a_partition():
    logistics = [call(start, "UNAVAILABLE", "BookShipment", "logistics") for start in (3, 4)]
    calls = sorted(steady(0, 10) + logistics, key=lambda c: c.start)
    result = availability.analyse(fault(2, 5), calls, float("inf"))
    assert result.ok_share == 1.0 and result.recovery == 0.0


def test_figures_per_kind_take_the_worst_fault_of_each_kind():
    first = availability.analyse(fault(2, 5), steady(0, 2) + steady(2, 6, "UNAVAILABLE") + steady(6, 12),
                                 float("inf")).to_json()
    second = availability.analyse(fault(2, 5), steady(0, 12), float("inf")).to_json()
    never = availability.analyse(fault(2, 5, kind="kill"), steady(0, 2) + steady(2, 12, "UNAVAILABLE"),
                                 float("inf")).to_json()
    summary = availability.by_kind([first, second, never])
    assert summary["partition"]["faults"] == 2
    assert summary["partition"]["min_ok_share"] == 0.0
    assert summary["partition"]["slowest_recovery_seconds"] == 1.0
    assert summary["kill"]["slowest_recovery_seconds"] is None
