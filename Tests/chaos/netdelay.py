"""Delays packets by a fixed time: a userspace stand-in for `tc qdisc … netem
delay`, for kernels built without sch_netem (this machine's is one).

iptables rules in a network namespace send the packets to delay to an
NFQUEUE (`-j NFQUEUE --queue-num N --queue-bypass`); this program, run in
that namespace, binds the queue over netfilter's netlink socket, keeps each
packet's id for DELAY and then accepts it, oldest first. Packets keep their
order (one delay for all), as netem's do without jitter. Only the packet
metadata is copied to userspace, never the payload.

    ip netns exec NS python3 netdelay.py --queue 7 --delay-ms 150

SIGTERM or SIGINT accepts every held packet and exits; with --queue-bypass
in the rule, traffic then flows undelayed. Standard library only (the
netlink messages are packed by hand; see linux/netfilter/nfnetlink_queue.h).
"""

from __future__ import annotations

import argparse
import collections
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT_BATCH = 3
NFQNL_MSG_CONFIG = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQA_CFG_F_FAIL_OPEN = 1
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
QUEUE_MAXLEN = 20000


def attribute(kind: int, payload: bytes) -> bytes:
    header = struct.pack("=HH", 4 + len(payload), kind)
    padding = b"\0" * (-len(payload) % 4)
    return header + payload + padding


def message(kind: int, queue: int, attributes: bytes, flags: int = NLM_F_REQUEST, sequence: int = 0) -> bytes:
    # nfgenmsg: family AF_UNSPEC, version 0, resource id (the queue) big-endian.
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + attributes
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, sequence, 0) + body


def attributes(data: bytes, offset: int):
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            return
        yield kind & 0x7FFF, data[offset + 4: offset + length]
        offset += (length + 3) & ~3


class Queue:
    def __init__(self, number: int):
        self.number = number
        self.socket = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.socket.bind((0, 0))
        self.sequence = 0
        self.configure(attribute(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0)))
        self.configure(attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
                       + attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN))
                       # A full queue lets packets through rather than drop them.
                       + attribute(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))
                       + attribute(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN)))

    def configure(self, attrs: bytes) -> None:
        self.sequence += 1
        self.socket.send(message(NFQNL_MSG_CONFIG, self.number, attrs, NLM_F_REQUEST | NLM_F_ACK, self.sequence))
        reply = self.socket.recv(65536)
        length, kind = struct.unpack_from("=IH", reply)
        if kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", reply, 16)
            if error != 0:
                raise OSError(-error, f"binding NFQUEUE {self.number}: {os.strerror(-error)}")

    def packets(self) -> list[int]:
        """The ids of the packets that have arrived (non-blocking)."""
        ids = []
        while True:
            try:
                data = self.socket.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return ids
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if length < 16:
                    break
                if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    for attr, payload in attributes(data[offset:offset + length], 20):
                        if attr == NFQA_PACKET_HDR:
                            ids.append(struct.unpack_from("!I", payload)[0])
                offset += (length + 3) & ~3

    def accept_through(self, packet_id: int) -> None:
        """Accepts every held packet with an id up to PACKET_ID."""
        verdict = attribute(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))
        self.socket.send(message(NFQNL_MSG_VERDICT_BATCH, self.number, verdict))


def run(queue_number: int, delay: float) -> None:
    queue = Queue(queue_number)
    held: collections.deque[tuple[float, int]] = collections.deque()
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"netdelay: queue {queue_number}, {delay * 1000:.0f} ms", flush=True)
    while not stopping:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else 0.5
        try:
            select.select([queue.socket], [], [], timeout)
        except InterruptedError:
            pass
        now = time.monotonic()
        for packet_id in queue.packets():
            held.append((now + delay, packet_id))
        due = None
        while held and held[0][0] <= now:
            due = held.popleft()[1]
        if due is not None:
            queue.accept_through(due)
    if held:
        queue.accept_through(held[-1][1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", type=int, required=True, help="the NFQUEUE number the rules use")
    parser.add_argument("--delay-ms", type=float, required=True, help="how long each packet is held")
    arguments = parser.parse_args()
    run(arguments.queue, arguments.delay_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
