"""The fault schedule is a function of its seed, covers every applicable
kind in a round, and fits the run."""

from __future__ import annotations

import schedule

POSTGRES = schedule.Topology("postgres", ("trade-1", "trade-2", "logistics-1", "logistics-2", "training-1",
                                          "training-2"), None, "logistics-2")
SQLITE = schedule.Topology("sqlite", ("trade-1", "logistics-1", "training-1"), "training", "trade-1")


def test_the_same_seed_gives_the_same_schedule():
    assert schedule.build(21, 150, POSTGRES, schedule.Pacing.short()) == \
        schedule.build(21, 150, POSTGRES, schedule.Pacing.short())
    assert schedule.build(21, 150, POSTGRES) != schedule.build(22, 150, POSTGRES)


def test_every_kind_the_topology_allows_comes_in_the_first_round():
    for topology in (POSTGRES, SQLITE):
        kinds = topology.applicable()
        faults = schedule.build(5, 600, topology, schedule.Pacing.short())
        assert {fault.kind for fault in faults[:len(kinds)]} == set(kinds)
    assert "postgres-restart" not in SQLITE.applicable() and "disk-full" not in POSTGRES.applicable()


def test_faults_fit_the_run_one_after_another():
    pacing = schedule.Pacing.short()
    faults = schedule.build(21, 150, SQLITE, pacing)
    assert faults[0].start == pacing.warmup
    for earlier, later in zip(faults, faults[1:]):
        assert later.start >= earlier.start + earlier.duration + earlier.settle - 0.15
    last = faults[-1]
    assert last.start + last.duration + last.settle <= 150 - pacing.cooldown


def test_targets_exist_in_the_topology():
    for fault in schedule.build(3, 900, POSTGRES):
        if fault.kind in ("kill", "pause", "delay", "loss", "partition", "clock-step"):
            assert fault.target in POSTGRES.replicas
        if fault.kind == "rolling-restart":
            assert fault.target in POSTGRES.services()
