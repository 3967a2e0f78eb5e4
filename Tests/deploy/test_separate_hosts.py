"""Proof that each service runs on a host of its own: every release
executable in its own network namespace, the namespaces joined by veth
pairs to a bridge in a "switch" namespace, addresses from 198.18.0.0/15 (the
range reserved for network tests; see netns.py). Nothing in the root
namespace changes but the namespaces' names under /run/netns.

A client on the gateway's host gets a full country profile; cutting one
service's link (its packets then vanish: no RST, no ICMP) fails that
section within the call's deadline while the others stay OK; restoring the
link recovers without restarting anything.

Needs root and iproute2 (Tests/deploy/run.sh installs it); skips with the
reason where network namespaces cannot be made.
"""

from __future__ import annotations

import json
import time

import pytest

from netns import Network, NamespacesUnavailable, remove_stale_namespaces
from release_system import (
    SERVICE_NAMES,
    Servers,
    call,
    health,
    poll,
    release_bin,
    wait_serving,
)

SUBNET_PREFIX = "198.18.0."  # a /24 inside 198.18.0.0/15; only the test's own namespaces hold it
HOSTS = {"gateway": 1, "trade": 11, "logistics": 12, "training": 13}
PORTS = {"gateway": 7000, "trade": 7001, "logistics": 7002, "training": 7003}  # each host has its own ports
CALL_TIMEOUT_SECONDS = 3  # the client's deadline for one country profile
RECOVERY_TIMEOUT = 30  # seconds for a restored link to carry a complete profile again


def address(role: str) -> str:
    return f"{SUBNET_PREFIX}{HOSTS[role]}:{PORTS[role]}"


@pytest.fixture
def network():
    remove_stale_namespaces()
    network = Network(SUBNET_PREFIX)
    try:
        try:
            network.create()
        except NamespacesUnavailable as reason:
            pytest.skip(str(reason))
        for role, number in HOSTS.items():
            network.add_host(role, number)
        yield network
    finally:
        failures = network.remove()
        assert not failures, f"could not remove: {failures}"
        left = network.left_behind()
        assert not left, f"namespaces left behind: {left}"


@pytest.fixture
def hosts(network, tmp_path):
    """The system on four hosts; the servers stop before the namespaces go
    (fixtures tear down in reverse order)."""
    registry = Servers(tmp_path)
    try:
        yield network, registry
    finally:
        registry.stop_all(timeout=15)


def try_country_profile(bin_dir, network: Network) -> tuple[dict | None, str, float]:
    """The gateway's CountryProfile for KZ 2024, called from the gateway's
    host under CALL_TIMEOUT_SECONDS: the answer (None when the call
    failed), the error, and the seconds it took."""
    started = time.monotonic()
    result = call(bin_dir, address("gateway"), "/caravan.gateway.v1.Gateway/CountryProfile",
                  {"country": "KZ", "year": 2024}, timeout=f"{CALL_TIMEOUT_SECONDS}s",
                  prefix=network.exec_prefix("gateway"))
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        return None, f"CountryProfile failed ({result.returncode}): {result.stderr.strip()}", elapsed
    return json.loads(result.stdout), "", elapsed


def country_profile(bin_dir, network: Network) -> tuple[dict, float]:
    """As try_country_profile, and the call must succeed: an overrun
    deadline would have ended it DEADLINE_EXCEEDED, so an answer shows it
    came within the deadline."""
    profile, error, elapsed = try_country_profile(bin_dir, network)
    assert profile is not None, error
    return profile, elapsed


def statuses(profile: dict) -> dict[str, str]:
    return {section: profile.get(section, {}).get("outcome", {}).get("status", "missing")
            for section in ("trade", "logistics", "training", "hub")}


ALL_OK = {section: "SECTION_STATUS_OK" for section in ("trade", "logistics", "training", "hub")}


def wait_complete(bin_dir, network: Network, what: str) -> tuple[dict, float]:
    """Polls until a complete profile arrives; it and the seconds it took.
    Failed calls on the way count as not yet complete."""
    started = time.monotonic()
    seen = []

    def complete():
        profile, error, _ = try_country_profile(bin_dir, network)
        seen.append(profile or error)
        return profile and statuses(profile) == ALL_OK and not profile.get("partial", False) and profile

    profile = poll(complete, RECOVERY_TIMEOUT, 0.5)
    assert profile, f"{what}: no complete profile within {RECOVERY_TIMEOUT} s; the last: {seen[-1:]}"
    return profile, time.monotonic() - started


def test_each_service_on_its_own_host(hosts, tmp_path):
    network, registry = hosts
    bin_dir = release_bin()
    gateway_prefix = network.exec_prefix("gateway")

    for backend in SERVICE_NAMES:
        data = tmp_path / backend
        data.mkdir()
        host, port = address(backend).split(":")
        server = registry.start(
            backend,
            [str(bin_dir / f"caravan-{backend}"), "--host", host, "--port", port, "--data-dir", str(data),
             "--log-level", "warning"],
            prefix=network.exec_prefix(backend))
        # Probed across the switch, from the gateway's host.
        wait_serving(bin_dir, server, address(backend), prefix=gateway_prefix)
    host, port = address("gateway").split(":")
    arguments = [str(bin_dir / "caravan-gateway"), "--host", host, "--port", port, "--http-port=-1",
                 "--log-level", "warning"]
    for backend in SERVICE_NAMES:
        arguments += [f"--{backend}", address(backend)]
    gateway = registry.start("gateway", arguments, prefix=gateway_prefix)
    for name in SERVICE_NAMES.values():  # the gateway's health mirrors what it can reach
        wait_serving(bin_dir, gateway, address("gateway"), name, prefix=gateway_prefix)

    profile, _ = wait_complete(bin_dir, network, "at the start")
    assert profile["country"] == "KZ"
    assert profile["logistics"]["cities"] > 0 and profile["hub"]["hub"], profile

    for backend, cut, restore, failed in [
        ("logistics", network.cut, network.restore, ["logistics"]),
        ("trade", network.unplug, network.plug, ["trade", "hub"]),
    ]:
        cut(backend)
        profile, elapsed = country_profile(bin_dir, network)
        expected = {**ALL_OK, **{section: "failed or timed out" for section in failed}}
        seen = {section: ("failed or timed out" if status in ("SECTION_STATUS_FAILED", "SECTION_STATUS_TIMED_OUT")
                          else status) for section, status in statuses(profile).items()}
        assert seen == expected, f"{backend} cut ({cut.__name__}): {statuses(profile)}\n{profile}"
        assert profile["partial"] is True
        for section in failed:
            # The gateway's own clock for the section: within the caller's deadline.
            assert int(profile[section]["outcome"]["latencyMicros"]) < CALL_TIMEOUT_SECONDS * 1_000_000, profile[section]
        print(f"{backend} {cut.__name__}: profile in {elapsed:.2f} s with {failed} "
              f"{[profile[s]['outcome']['status'] for s in failed]}")
        # The gateway notices (its keepalive ends the silent connection) and
        # says so in its health service.
        noticed = time.monotonic()
        assert poll(lambda: health(bin_dir, address("gateway"), SERVICE_NAMES[backend], gateway_prefix)
                    == "NOT_SERVING", 20), f"the gateway still reports {backend} SERVING with its link cut"
        print(f"{backend}: NOT_SERVING at the gateway {time.monotonic() - noticed:.2f} s later")

        restore(backend)
        _, recovered = wait_complete(bin_dir, network, f"{backend} after {restore.__name__}")
        print(f"{backend} {restore.__name__}: complete again after {recovered:.2f} s")
        wait_serving(bin_dir, gateway, address("gateway"), SERVICE_NAMES[backend], prefix=gateway_prefix, timeout=15)

    for server in registry.started:
        assert server.running, f"{server.name} exited\n{server.tail()}"
