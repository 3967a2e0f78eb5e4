"""Hosts of their own for real Caravan processes: a network namespace per
host, joined by veth pairs to a bridge in a "switch" namespace, addresses
from 198.18.0.0/15 (the range reserved for network tests). Nothing in the
root namespace changes but the namespaces' names under /run/netns.

Shared by Tests/deploy/test_separate_hosts.py and the chaos harness
(Tests/chaos), which adds faults inside the namespaces it makes here.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

from release_system import alive

NAME_PREFIX = "caravan-"  # namespaces are caravan-<pid>-<role>
CLONE_NEWNET = 0x40000000


class NamespacesUnavailable(Exception):
    """Network namespaces (or bridges in them) cannot be made here; the
    message says why."""


def ip(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *arguments], capture_output=True, text=True, timeout=30)


def checked_ip(*arguments: str) -> None:
    result = ip(*arguments)
    assert result.returncode == 0, f"ip {' '.join(arguments)}: {result.stderr.strip()}"


class Network:
    """A switch namespace with a bridge, and a namespace per host with one
    interface (eth0) whose veth peer is a port of the bridge. Every name
    carries this process's pid, so concurrent runs do not collide; SUBNET
    is the hosts' /24 ("198.18.0.")."""

    def __init__(self, subnet: str = "198.18.0.", prefix: str = NAME_PREFIX):
        self.subnet = subnet
        self.tag = f"{prefix}{os.getpid()}"
        self.switch = f"{self.tag}-switch"
        self.namespaces: list[str] = []
        self.hosts: dict[str, int] = {}

    def create(self) -> None:
        """Makes the switch; raises NamespacesUnavailable where that cannot be done."""
        if os.geteuid() != 0:
            raise NamespacesUnavailable("network namespaces need root (ip netns add); not running as root")
        if shutil.which("ip") is None:
            raise NamespacesUnavailable("iproute2's ip is not installed")
        probe = ip("netns", "add", self.switch)
        if probe.returncode != 0:
            raise NamespacesUnavailable(f"network namespaces are not permitted here: ip netns add: {probe.stderr.strip()}")
        self.namespaces.append(self.switch)
        bridge = ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        if bridge.returncode != 0:
            raise NamespacesUnavailable(f"no bridges in network namespaces here: {bridge.stderr.strip()}")
        checked_ip("-n", self.switch, "link", "set", "lo", "up")
        checked_ip("-n", self.switch, "link", "set", "br0", "up")

    def namespace(self, role: str) -> str:
        return f"{self.tag}-{role}"

    def port(self, role: str) -> str:
        return f"p-{role}"[:15]  # the bridge's port for ROLE, in the switch namespace

    def address(self, role: str) -> str:
        return f"{self.subnet}{self.hosts[role]}"

    def add_host(self, role: str, number: int) -> None:
        """A host ROLE at SUBNET.NUMBER."""
        name = self.namespace(role)
        checked_ip("netns", "add", name)
        self.namespaces.append(name)
        self.hosts[role] = number
        checked_ip("-n", name, "link", "set", "lo", "up")
        # Made inside the namespaces: no interface ever appears in the root namespace.
        checked_ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", self.port(role),
                   "netns", self.switch)
        checked_ip("-n", self.switch, "link", "set", self.port(role), "master", "br0")
        checked_ip("-n", self.switch, "link", "set", self.port(role), "up")
        checked_ip("-n", name, "addr", "add", f"{self.subnet}{number}/24", "dev", "eth0")
        checked_ip("-n", name, "link", "set", "eth0", "up")

    def cut(self, role: str) -> None:
        """Takes ROLE's port off the bridge: both ends stay up, and frames to
        and from the host are dropped in the switch, as when a link in the
        path fails silently."""
        checked_ip("-n", self.switch, "link", "set", self.port(role), "nomaster")

    def restore(self, role: str) -> None:
        checked_ip("-n", self.switch, "link", "set", self.port(role), "master", "br0")

    def unplug(self, role: str) -> None:
        """Takes the switch's end of ROLE's cable down: the host sees no carrier."""
        checked_ip("-n", self.switch, "link", "set", self.port(role), "down")

    def plug(self, role: str) -> None:
        checked_ip("-n", self.switch, "link", "set", self.port(role), "up")

    def exec_prefix(self, role: str) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.namespace(role))

    def executor(self, role: str, workers: int = 4) -> ThreadPoolExecutor:
        """Threads that live in ROLE's namespace: sockets they open reach
        the hosts' addresses (a network namespace is a property of a
        thread, so the harness's own threads stay where they are)."""
        path = f"/run/netns/{self.namespace(role)}"
        return ThreadPoolExecutor(workers, thread_name_prefix=role, initializer=enter_namespace, initargs=(path,))

    def remove(self) -> list[str]:
        """Kills what still runs in the namespaces made, deletes them (their
        interfaces go with them); returns the failures."""
        failures = []
        for name in reversed(self.namespaces):
            kill_namespace_processes(name)
            result = ip("netns", "delete", name)
            if result.returncode != 0:
                failures.append(f"{name}: {result.stderr.strip()}")
        self.namespaces.clear()
        return failures

    def left_behind(self) -> list[str]:
        return [name for name in ip("netns", "list").stdout.split() if name.startswith(self.tag + "-")]


_libc = ctypes.CDLL(None, use_errno=True)


def enter_namespace(path: str) -> None:
    """Moves the calling thread into the network namespace at PATH."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(descriptor, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns {path}: {os.strerror(error)}")
    finally:
        os.close(descriptor)


def kill_namespace_processes(name: str) -> None:
    """SIGKILL to every process in namespace NAME (only ever one this
    harness made: its name carries the harness's pid)."""
    for pid in ip("netns", "pids", name).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def remove_stale_namespaces(prefix: str = NAME_PREFIX) -> list[str]:
    """Namespaces left by a run that was killed before its teardown (its
    pid no longer runs), with anything still running in them; returns
    their names."""
    removed = []
    listing = ip("netns", "list").stdout
    for name, pid in re.findall(rf"^({re.escape(prefix)}(\d+)-\S+)", listing, re.M):
        if not alive(int(pid)):
            kill_namespace_processes(name)
            ip("netns", "delete", name)
            removed.append(name)
    return removed
