"""The clients' side of a run: every call attempt `caravan load --history`
recorded, grouped into calls and keyed writes, with what each client was
told: acknowledged, refused for certain, or left unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

# Statuses after which the server did not store the write: it refused the
# request as such (invalid, not found, illegal now, not allowed) or shed it
# before running it (RESOURCE_EXHAUSTED: a concurrency limit, admission
# control, a full disk whose transaction rolled back).
DEFINITE = {"INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "FAILED_PRECONDITION",
            "OUT_OF_RANGE", "UNIMPLEMENTED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED"}

ACKNOWLEDGED = "acknowledged"
REFUSED = "refused"
UNKNOWN = "unknown"


@dataclass
class Attempt:
    number: int  # the call's number in its load run
    attempt: int
    step: str
    method: str  # "/caravan.trade.v1.TradeService/RecordFlow"
    key: str | None
    sent: bool
    start: float
    end: float
    status: str
    message: str
    request: dict | None
    response: dict | list | None
    source: str = ""  # the history file (one per load process)

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    @property
    def service(self) -> str:
        """"trade", "logistics", "training" or "gateway"."""
        return self.method.split(".")[1] if self.method.startswith("/caravan.") else ""

    @property
    def method_name(self) -> str:
        return self.method.rsplit("/", 1)[-1]

    @classmethod
    def from_json(cls, entry: dict, source: str = "") -> "Attempt":
        return cls(entry["n"], entry["attempt"], entry["step"], entry["method"], entry.get("key"),
                   entry.get("sent", True), entry["start"], entry["end"], entry["status"], entry.get("message", ""),
                   entry.get("request"), entry.get("response"), source)


@dataclass
class Write:
    """Every attempt made under one idempotency key."""

    key: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def method_name(self) -> str:
        return self.attempts[0].method_name

    @property
    def service(self) -> str:
        return self.attempts[0].service

    @property
    def request(self) -> dict:
        return self.attempts[0].request or {}

    @property
    def outcome(self) -> str:
        if any(attempt.ok for attempt in self.attempts):
            return ACKNOWLEDGED
        if all(attempt.status in DEFINITE for attempt in self.attempts):
            return REFUSED
        return UNKNOWN

    @property
    def response(self) -> dict:
        """The acknowledged answer ({} unless acknowledged)."""
        for attempt in self.attempts:
            if attempt.ok and isinstance(attempt.response, dict):
                return attempt.response
        return {}


def read(paths: list[Path]) -> list[Attempt]:
    """Every attempt in the history files, oldest start first. A file's
    last line may be cut short by a load process that was killed; it is
    skipped (and so is the file's absence: a load that never started)."""
    attempts = []
    for path in paths:
        if not path.exists():
            continue
        lines = path.read_text().splitlines()
        for index, line in enumerate(lines):
            try:
                attempts.append(Attempt.from_json(json.loads(line), path.name))
            except json.JSONDecodeError:
                if index != len(lines) - 1:
                    raise
    attempts.sort(key=lambda attempt: attempt.start)
    return attempts


def writes(attempts: list[Attempt]) -> dict[str, Write]:
    """The keyed writes, by key."""
    found: dict[str, Write] = {}
    for attempt in attempts:
        if attempt.key:
            found.setdefault(attempt.key, Write(attempt.key)).attempts.append(attempt)
    for write in found.values():
        write.attempts.sort(key=lambda attempt: attempt.attempt)
    return found
