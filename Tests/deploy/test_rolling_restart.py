"""Proof that a service restarts replica by replica without a failed call:
two replicas of caravan-logistics sharing one WAL-mode SQLite file (the
same --data-dir) behind caravan-gateway, with trade and training, all
release builds on loopback. While `caravan load` drives the gateway with
reads, writes (each with its own idempotency key) and the gateway's
aggregate, each replica in turn gets SIGTERM, drains, exits, is started
again on its port and reports SERVING, and the gateway sees it healthy
again before the next one goes. The load reports zero failed calls, and
the database holds exactly one shipment per successful booking.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

import pytest

from release_system import (
    SERVICE_NAMES,
    free_port,
    http_json,
    poll,
    release_bin,
    servers,  # noqa: F401 (a fixture)
    wait_serving,
)

LOGISTICS = "/caravan.logistics.v1.LogisticsService/"
# (name, method, request template, extra `caravan load` arguments)
LOADS = [
    ("book", ["--call", LOGISTICS + "BookShipment", "--data",
              '{"originCityId":"{{pick chongqing|xian|yiwu}}","destinationCityId":"{{pick duisburg|almaty|tashkent}}",'
              '"cargoCategoryId":"electronics","containersTeu":{{rand 1 40}},"synthetic":true}',
              "--idempotency-keys", "--concurrency", "4"]),
    ("route", ["--call", LOGISTICS + "FindRoute", "--data", '{"fromCityId":"xian","toCityId":"duisburg"}',
               "--concurrency", "4"]),
    # The built-in gateway scenario: profiles and overviews (fanning out to
    # every service) and calls routed to each.
    ("gateway", ["--scenario", "gateway", "--concurrency", "2"]),
]
SETTLE_SECONDS = 2  # of load before the first restart, between restarts and after the last
MINIMUM_CALLS = 20  # per load: enough calls that the restarts happened under load


def readiness(http: str) -> dict:
    return http_json(f"http://{http}/readyz")


def gateway_sees_healthy(http: str, replica: str) -> bool:
    for entry in readiness(http)["backends"]["logistics"]["replicas"]:
        if entry["address"] == replica:
            return entry["healthy"] and not entry["ejected"]
    raise AssertionError(f"the gateway does not know the replica {replica}: {readiness(http)}")


def shipments(data_dir) -> int:
    with sqlite3.connect(f"file:{data_dir}/logistics.sqlite?mode=ro", uri=True, timeout=30) as database:
        return database.execute("SELECT count(*) FROM shipment").fetchone()[0]


def stop_load(load: subprocess.Popen) -> tuple[str, str]:
    """Ends a `caravan load` as Ctrl-C does (the calls in flight finish and
    the report is written); kills it if it does not end."""
    if load.poll() is None:
        load.send_signal(signal.SIGINT)
    try:
        return load.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        load.kill()
        return load.communicate()


def test_rolling_restart_of_logistics_fails_no_call(servers, tmp_path):
    bin_dir = release_bin()
    data = {name: tmp_path / "data" / name for name in SERVICE_NAMES}
    for directory in data.values():
        directory.mkdir(parents=True)

    def start_backend(name: str, port: int, data_dir):
        server = servers.start(
            name,
            [str(bin_dir / f"caravan-{name.split('-')[0]}"), "--port", str(port), "--data-dir", str(data_dir),
             "--log-level", "info"])
        address = server.announced()
        wait_serving(bin_dir, server, address)
        return server, address

    _, trade = start_backend("trade", 0, data["trade"])
    _, training = start_backend("training", 0, data["training"])
    replica_ports = [free_port(), free_port()]
    assert replica_ports[0] != replica_ports[1]
    replicas = {}
    addresses = []
    for index, port in enumerate(replica_ports):
        server, address = start_backend(f"logistics-{index}", port, data["logistics"])
        replicas[address] = server
        addresses.append(address)

    gateway = servers.start("gateway", [
        str(bin_dir / "caravan-gateway"), "--port", "0", "--http-port", "0", "--log-level", "info",
        "--trade", trade, "--training", training, "--logistics", ",".join(addresses)])
    gateway_address = gateway.announced()
    http = gateway.announced("HTTP on")
    assert poll(lambda: all(gateway_sees_healthy(http, address) for address in addresses), 30), readiness(http)
    before = shipments(data["logistics"])

    loads = {}
    reports = {name: tmp_path / f"load-{name}.json" for name, *_ in LOADS}
    try:
        for name, arguments in LOADS:
            loads[name] = subprocess.Popen(
                [str(bin_dir / "caravan"), "load", gateway_address, *arguments,
                 "--duration", "300s", "--timeout", "15s", "--format", "json", "--output", str(reports[name])],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(SETTLE_SECONDS)

        timings = []
        for address, server in list(replicas.items()):
            assert all(load.poll() is None for load in loads.values()), "a load ended before the restarts"
            started = time.monotonic()
            status = server.stop()
            stopped = time.monotonic()
            assert status == 0, f"{server.name} exited {status} after SIGTERM\n{server.tail()}"
            assert "Draining" in server.output(), server.tail()
            port = int(address.rsplit(":", 1)[1])
            restarted, _ = start_backend(server.name, port, data["logistics"])
            serving = time.monotonic()
            replicas[address] = restarted
            # As a rollout waits for readiness: the next replica goes only once
            # the gateway can use this one again.
            assert poll(lambda: gateway_sees_healthy(http, address), 30), readiness(http)
            timings.append(
                f"{server.name}: drained and exited in {stopped - started:.2f} s, SERVING again after "
                f"{serving - stopped:.2f} s, healthy at the gateway after {time.monotonic() - serving:.2f} s")
            time.sleep(SETTLE_SECONDS)
    finally:
        outputs = {name: stop_load(load) for name, load in loads.items()}

    print("\n".join(timings))
    for name, load in loads.items():
        assert load.returncode == 0, f"caravan load ({name}) exited {load.returncode}: {outputs[name][1]}"
        report = json.loads(reports[name].read_text())
        print(f"{name}: {report['calls']} calls, {report['errors']} errors, {report['qps']:.0f}/s, "
              f"p99 {report['p99_us'] / 1000:.1f} ms, max {report['max_us'] / 1000:.1f} ms")
        assert report["errors"] == 0 and set(report["status_codes"]) == {"OK"}, (
            f"{name}: {report['errors']} of {report['calls']} calls failed: {report['status_codes']} "
            f"{report['top_errors']}\n{gateway.tail()}")
        assert report["calls"] >= MINIMUM_CALLS, f"{name}: only {report['calls']} calls"

    # Retried bookings (same idempotency key, shared ledger) were made once.
    booked = json.loads(reports["book"].read_text())["calls"]
    assert shipments(data["logistics"]) - before == booked
