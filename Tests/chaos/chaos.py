"""Caravan under load while a seeded schedule of faults runs, then an
independent check of what clients were told against what the stores hold.

    Tests/chaos/run.sh                         # the bounded CI run: seed 21, 120 s per store
    Tests/chaos/run.sh --duration 1h --seed 7  # a soak
    Tests/chaos/run.sh --stores postgres --seed 1234 --duration 3m

For each store (SQLite: one replica per service; PostgreSQL: two), the
release executables start on hosts of their own (network namespaces),
`caravan load` drives the gateway at a steady rate, the schedule's faults
run one after another (schedule.py), resource use is sampled (soak.py);
then the load stops and the checker (checker.py) reads the stores. The
report (per store: faults with their availability figures, the checker's
verdict, resource growth) goes to standard output and to
OUT/<store>/report.json. A failing run prints its seed and schedule, and
the command that replays it. Exit status: 0 when every rule held and
every threshold was met, 1 otherwise, 2 when the system could not start.

Traffic goes only to loopback and to the namespaces made here; every
process, namespace and mount is removed at the end, on failure and on
Ctrl-C (and a later run removes what a killed run left).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "deploy"))

import availability  # noqa: E402
import checker  # noqa: E402
import history  # noqa: E402
import schedule  # noqa: E402
from faults import READY_TIMEOUT, FaultRunner  # noqa: E402
from load import Load  # noqa: E402
from netns import NamespacesUnavailable, remove_stale_namespaces  # noqa: E402
from release_system import PRODUCTS, RELEASE, alive  # noqa: E402
from soak import Sampler  # noqa: E402
from system import SERVICES, System  # noqa: E402

NAMESPACE_PREFIX = "caravan-chaos-"
CI_SEED = 21
CI_DURATION = 120.0  # with seed 21, the shortest run that meets every kind on both stores
SHORT_RUN = 300.0  # runs up to this long (seconds) get short faults and gaps
# Programs the scenario enrols in: small, so they fill and wait-lists form.
PROGRAM_CAPACITIES = (3, 5, 8)


class Thresholds:
    """What a run must meet beyond the checker's rules (the CI run's gate)."""

    recovery_seconds = 30.0  # every fault: touched calls all answered again within this after it clears
    fd_growth = 32  # per process, from the middle of its life to its end
    connection_growth = 16
    thread_growth = 8
    rss_growth_kb = 96 * 1024


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 10m, 1h)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def topology(seed: int, store: str) -> schedule.Topology:
    """Which hosts exist, and (drawn from the seed) which SQLite service's
    data is on a tmpfs and which host's clock can step."""
    count = 1 if store == "sqlite" else 2
    replicas = tuple(f"{service}-{number}" for service in SERVICES for number in range(1, count + 1))
    rng = random.Random(f"{seed}:{store}:topology")
    disk = rng.choice(SERVICES) if store == "sqlite" else None
    return schedule.Topology(store, replicas, disk, rng.choice(replicas))


def create_programs(system: System) -> list[str]:
    today = date.today()
    ids = []
    for number, capacity in enumerate(PROGRAM_CAPACITIES, start=1):
        program = {
            "title": f"Synthetic chaos program {number}", "field": "cross-border logistics",
            "hostCentre": "Horgos Yiwu International Trade City", "hostCity": "Horgos", "country": "CN",
            "language": "zh", "capacity": capacity, "startDate": (today - timedelta(days=2)).isoformat(),
            "endDate": (today + timedelta(days=400)).isoformat(), "synthetic": True,
        }
        ids.append(system.call("caravan.training.v1.TrainingService/CreateProgram", {"program": program})["program"]["id"])
    return ids


class SystemStores:
    """The checker's view of a running system: the HTTP door and SQL."""

    def __init__(self, system: System):
        self.system = system

    def call(self, method: str, request: dict) -> dict:
        return self.system.call(method, request)

    def sql(self, service: str, query: str) -> list[tuple]:
        if self.system.store == "postgres":
            output = self.system.psql(f"caravan_{service}", query)
            return [tuple(line.split("\t")) for line in output.splitlines() if line]
        import sqlite3
        path = self.system.data_dir(service) / f"{service}.sqlite"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60) as database:
            return database.execute(query).fetchall()


def run_store(store: str, arguments, out: Path) -> dict:
    """One store's run; its report."""
    run_dir = out / store
    run_dir.mkdir(parents=True)
    os.chmod(run_dir, 0o755)
    layout = topology(arguments.seed, store)
    pacing = schedule.Pacing.short() if arguments.duration <= SHORT_RUN else schedule.Pacing()
    faults = schedule.build(arguments.seed, arguments.duration, layout, pacing)
    log(f"{store}: seed {arguments.seed}, {arguments.duration:.0f} s of load at {arguments.rate:g} calls/s, "
        f"replicas {', '.join(layout.replicas)}; disk-full on {layout.disk_service or '-'}, "
        f"clock steps on {layout.clock_host}\n{schedule.describe(faults)}")
    report: dict = {"store": store, "seed": arguments.seed, "duration_seconds": arguments.duration,
                    "rate": arguments.rate, "schedule": [fault.to_json() for fault in faults],
                    "topology": {"replicas": layout.replicas, "disk_service": layout.disk_service,
                                 "clock_host": layout.clock_host}}
    system = System(arguments.bin, run_dir, store, 1 if store == "sqlite" else 2, layout.disk_service, layout.clock_host,
                    log)
    load = Load(system, arguments.rate, run_dir, log)
    runner = FaultRunner(system, load, log)
    sampler = Sampler(system)
    original_processes = system.processes
    system.processes = lambda: original_processes() + ([("load", load.pid)] if load.pid else [])
    records: list[availability.FaultRecord] = []
    try:
        started = time.monotonic()
        system.start()
        log(f"{store}: the system is up in {time.monotonic() - started:.1f} s")
        programs = create_programs(system)
        before = {item["id"] for item in checker.list_all(SystemStores(system), f"{checker.LOGISTICS}/ListShipments",
                                                          {}, "shipments", page_size=500)}
        sampler.start()
        load.start(programs)
        load_started = time.time()
        for previous, fault in zip([None, *faults], faults):
            # As planned; but a fault that ran long (a rolling restart
            # waiting for health) still leaves its settle time to the next.
            due = load_started + fault.start
            if previous is not None:
                due = max(due, records[-1].cleared + previous.settle)
            time.sleep(max(0.0, due - time.time()))
            records.append(runner.run(fault))
        time.sleep(max(0.0, load_started + arguments.duration - time.time()))
        report["load"] = load.stop()
        log(f"{store}: load stopped: {report['load'].get('calls')} calls, {report['load'].get('status_codes')}")
        sampler.stop()
        if system.wait_ready(120) is None:
            report["not_ready_at_end"] = system.readiness()
        attempts = history.read(load.histories())
        steady = history.read([load.history])
        context = checker.Context(programs, before)
        violations, figures = checker.check(attempts, SystemStores(system), context)
        report["checker"] = {"violations": [str(violation) for violation in violations], "figures": figures}
        report["planted"] = plant_violations(attempts, system, context)
        report["availability"] = analyse(records, steady, load)
        report["availability_by_kind"] = availability.by_kind(report["availability"])
        report["soak"] = sampler.report()
    finally:
        try:
            sampler.stop()
            runner.undo_everything()
            load.kill()
        finally:
            report["cleanup_problems"] = system.stop()
    report["failures"] = judge(report, arguments)
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    return report


def plant_violations(attempts: list[history.Attempt], system: System, context: checker.Context) -> dict:
    """Proof, on the real stores, that the checker sees what it is for:
    once it has run, two flows are written through the gateway outside
    any client's history (a second copy of an acknowledged flow, and a
    flow no client sent) and the checker runs again; it must name both.
    The stores are not checked after this."""
    acknowledged = [write for write in history.writes(attempts).values()
                    if write.method_name == "RecordFlow" and write.outcome == history.ACKNOWLEDGED]
    if not acknowledged:
        return {"planted": [], "caught": False, "why": "no acknowledged flow to copy"}
    copied = acknowledged[0].request["flow"]
    ghost = {**copied, "source": f"{checker.MARKER}planted-{os.getpid()}"}
    for flow in (copied, ghost):
        system.call(f"{checker.TRADE}/RecordFlow", {"flow": flow})
    found, _ = checker.check(attempts, SystemStores(system), context)
    twice = [str(v) for v in found if v.rule == "stored-twice" and copied["source"] in v.detail]
    unaccounted = [str(v) for v in found if v.rule == "unaccounted" and ghost["source"] in v.detail]
    return {"planted": [f"a second copy of {copied['source']}", f"a flow with {ghost['source']}"],
            "found": twice + unaccounted, "caught": bool(twice and unaccounted)}


def analyse(records: list[availability.FaultRecord], steady: list[history.Attempt], load: Load) -> list[dict]:
    calls = availability.calls(steady)
    rows = []
    for index, record in enumerate(records):
        next_start = records[index + 1].started if index + 1 < len(records) else float("inf")
        burst = None
        if record.kind == "overload":
            burst = availability.calls(history.read([load.run_dir / f"burst-{record.number}.jsonl"]))
        rows.append(availability.analyse(record, calls, next_start, burst).to_json())
    return rows


def judge(report: dict, arguments) -> list[str]:
    """Why the run fails (empty when it passes)."""
    failures = [f"checker: {violation}" for violation in report.get("checker", {}).get("violations", [])]
    if "checker" not in report:
        failures.append("the run did not reach the checker")
    elif not report.get("planted", {}).get("caught"):
        failures.append(f"the checker missed violations planted in the stores: {report.get('planted')}")
    failures += [f"cleanup: {problem}" for problem in report.get("cleanup_problems", [])]
    if report.get("not_ready_at_end"):
        failures.append(f"not every replica healthy at the end: {report['not_ready_at_end']}")
    for row in report.get("availability", []):
        label = f"fault #{row['fault']} {row['kind']} {row['target']}"
        if row["recovery_seconds"] is None:
            failures.append(f"{label}: the calls it touched were not all served again before the next fault "
                            "(or the end of the load)")
        elif row["recovery_seconds"] > Thresholds.recovery_seconds:
            failures.append(f"{label}: calls all served again only {row['recovery_seconds']} s after it cleared "
                            f"(limit {Thresholds.recovery_seconds:.0f} s)")
        if row.get("never_healthy"):
            failures.append(f"{label}: the gateway never saw {', '.join(row['never_healthy'])} healthy again "
                            f"within {READY_TIMEOUT} s of its restart")
        if row["ready_after_seconds"] is None:
            failures.append(f"{label}: the gateway never saw every replica healthy again")
    for row in report.get("soak", []):
        for metric, limit in (("fds", Thresholds.fd_growth), ("connections", Thresholds.connection_growth),
                              ("threads", Thresholds.thread_growth), ("rss_kb", Thresholds.rss_growth_kb)):
            grown = row[metric]["end"] - row[metric]["middle"]
            if grown > limit:
                failures.append(f"soak: {row['process']} (pid {row['pid']}) {metric} grew by {grown} "
                                f"(limit {limit}) from the middle of its life to its end")
    return failures


def print_report(report: dict) -> None:
    store = report["store"]
    print(f"\n=== {store}: {report.get('load', {}).get('calls', 0)} calls, "
          f"statuses {report.get('load', {}).get('status_codes')}")
    for row in report.get("availability", []):
        share = "-" if row["ok_share"] is None else f"{row['ok_share'] * 100:.1f}%"
        served = "-" if row["served_share"] is None else f"{row['served_share'] * 100:.1f}%"
        print(f"  #{row['fault']:<3} {row['kind']:<16} {row['target']:<12} held {row['held_seconds']:5.1f} s  "
              f"ok {share:>6} served {served:>6} of {row['touched_calls']:<4} longest without an answer "
              f"{row['longest_without_answer_seconds']:5.2f} s  recovery {row['recovery_seconds']} s  "
              f"ready {row['ready_after_seconds']} s")
        if row.get("aggregates"):
            print(f"       aggregates while cut off: {row['aggregates']}")
        if row.get("overload"):
            print(f"       overload: {row['overload']}")
        for note in row.get("notes", []):
            print(f"       {note}")
    for kind, row in report.get("availability_by_kind", {}).items():
        def percent(share):
            return "-" if share is None else f"{share * 100:.1f}%"
        print(f"  {kind:<16} x{row['faults']}  lowest ok {percent(row['min_ok_share']):>6}, served "
              f"{percent(row['min_served_share']):>6}; longest without an answer "
              f"{row['longest_without_answer_seconds']:.2f} s; slowest recovery {row['slowest_recovery_seconds']} s")
    checked = report.get("checker", {})
    print(f"  checker: {checked.get('figures')}")
    planted = report.get("planted", {})
    print(f"  planted violations {'caught' if planted.get('caught') else 'MISSED'}: {planted.get('found') or planted}")
    for violation in checked.get("violations", []):
        print(f"  VIOLATION {violation}")
    for row in report.get("soak", []):
        print(f"  soak {row['process']:<12} rss {row['rss_kb']['middle'] // 1024}→{row['rss_kb']['end'] // 1024} MB "
              f"(max {row['rss_kb']['max'] // 1024}), fds {row['fds']['middle']}→{row['fds']['end']}, "
              f"connections {row['connections']['middle']}→{row['connections']['end']}, "
              f"threads {row['threads']['middle']}→{row['threads']['end']}"
              + (f", in flight max {row['in_flight']['max']:.0f}" if row.get("in_flight") else ""))


def remove_leftovers() -> None:
    """What a run killed before its teardown left: namespaces (with what
    runs in them, PostgreSQL included) and tmpfs mounts."""
    removed = remove_stale_namespaces(NAMESPACE_PREFIX)
    if removed:
        log(f"removed namespaces a killed run left: {removed}")
    for line in Path("/proc/mounts").read_text().splitlines():
        source, target = line.split()[:2]
        match = re.fullmatch(r"caravan-chaos-(\d+)", source)  # the tmpfs's source names the run's pid
        if match and not alive(int(match.group(1))):
            subprocess.run(["umount", "-l", target])
            log(f"unmounted a tmpfs a killed run left: {target}")


def interrupt(*_) -> None:
    """SIGTERM ends the run as Ctrl-C does: through every `finally`."""
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=CI_SEED, help=f"the schedule's seed (default {CI_SEED})")
    parser.add_argument("--duration", type=parse_duration, default=CI_DURATION,
                        help=f"seconds of load per store (90s, 10m, 1h; default {CI_DURATION:.0f}s)")
    parser.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both (comma-separated)")
    parser.add_argument("--rate", type=float, default=40, help="steady calls per second (default 40)")
    parser.add_argument("--bin", type=Path, default=RELEASE,
                        help=f"the directory of the executables (default the release build, {RELEASE.relative_to(ROOT)})")
    parser.add_argument("--out", type=Path, help="where logs, histories and reports go "
                        "(default /tmp/caravan-chaos-PID, removed after a passing run)")
    arguments = parser.parse_args()
    stores = [store.strip() for store in arguments.stores.split(",") if store.strip()]
    if not stores or any(store not in ("sqlite", "postgres") for store in stores):
        parser.error("--stores takes sqlite, postgres or both")
    arguments.bin = arguments.bin.resolve()
    missing = [name for name in PRODUCTS if not os.access(arguments.bin / name, os.X_OK)]
    if missing:
        print(f"chaos: no build of {', '.join(missing)} in {arguments.bin} (run `swift build -c release`)",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, interrupt)
    remove_leftovers()
    out = arguments.out or Path(f"/tmp/caravan-chaos-{os.getpid()}")
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o755)  # PostgreSQL runs as its own user below it
    replay = (f"Tests/chaos/run.sh --seed {arguments.seed} --duration {arguments.duration:g}s "
              f"--stores {','.join(stores)} --rate {arguments.rate:g} --bin {arguments.bin}")
    reports, failures = [], []
    try:
        for store in stores:
            report = run_store(store, arguments, out)
            reports.append(report)
            print_report(report)
            failures += [f"{store}: {failure}" for failure in report["failures"]]
    except NamespacesUnavailable as reason:
        print(f"chaos: cannot make the hosts: {reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nchaos: interrupted; everything it started is stopped. Logs in {out}", file=sys.stderr)
        return 130
    except Exception:
        print(f"\nchaos: the run failed (seed {arguments.seed}); replay: {replay}\nlogs in {out}", file=sys.stderr)
        raise
    (out / "report.json").write_text(json.dumps(reports, indent=2))
    if failures:
        print(f"\nFAILED (seed {arguments.seed}): {len(failures)} problem(s)")
        for failure in failures:
            print(f"  {failure}")
        for report in reports:
            faults = [schedule.Fault(**fault) for fault in report["schedule"]]
            print(f"schedule ({report['store']}):\n{schedule.describe(faults)}")
        print(f"replay: {replay}\nlogs, histories and reports: {out}")
        return 1
    print(f"\nPASSED (seed {arguments.seed}): every rule held and every threshold was met.")
    if arguments.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
