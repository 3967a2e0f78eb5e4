"""The independent checker: after the run, what the clients were told
(history.py) against what the stores hold, read through the services' API
(the gateway's HTTP door) and, where the API cannot say, plain SQL on the
services' tables (the idempotency ledger, trainees by name).

Rules, each reported by name:

  acknowledged-missing   an acknowledged write is not stored, or not as acknowledged
  refused-present        a write the client saw refused with a definite error is stored
  stored-twice           a write (or its retries under one key) is stored more than once
  unaccounted            a stored write no client call can have made
  over-capacity          a program's ENROLLED count above its capacity (final or observed)
  seats-held             a program's counts differ from its enrolments
  waitlist               wait-list positions not 1..k in order, or a wait while a seat is free
  trade-totals           a summary's totals differ from the sum of the stored flows
  shipment-history       a shipment's events not a legal history of its state machine
  enrolment              an enrolment's state contradicts what its writes were told

The markers that make writes findable are in the scenario (scenario.json):
each flow's `source`, each event's `note` and each trainee's `name` carry
the call's own uuid, the same in every retry of the call.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Protocol

import history as history_module
from history import ACKNOWLEDGED, REFUSED, Attempt, Write

TRADE = "caravan.trade.v1.TradeService"
LOGISTICS = "caravan.logistics.v1.LogisticsService"
TRAINING = "caravan.training.v1.TrainingService"
MARKER = "synthetic: chaos "  # flows' source and events' note begin with it, then the call's uuid
TRAINEE_MARKER = "Synthetic trainee (chaos) "


class Stores(Protocol):
    """What the checker reads: calls through the API, rows through SQL."""

    def call(self, method: str, request: dict) -> dict: ...

    def sql(self, service: str, query: str) -> list[tuple]: ...


@dataclass(frozen=True)
class Violation:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass
class Context:
    """What the harness knew before the load started."""

    programs: list[str]  # the programs the scenario enrols in
    shipments_before: set[str]


def check(attempts: list[Attempt], stores: Stores, context: Context) -> tuple[list[Violation], dict]:
    """Every rule over the run; the violations, and figures on what was checked."""
    writes = history_module.writes(attempts)
    by_method: dict[str, list[Write]] = defaultdict(list)
    for write in writes.values():
        by_method[write.method_name].append(write)
    violations: list[Violation] = []
    figures: dict = {"writes": dict(Counter(write.outcome for write in writes.values())),
                     "retried_keys": sum(1 for write in writes.values() if len(write.attempts) > 1)}
    violations += check_ledger(writes, stores)
    violations += check_flows(by_method["RecordFlow"], stores, figures)
    violations += check_trade_totals(stores, figures)
    violations += check_shipments(by_method, stores, context, figures)
    violations += check_trainees(by_method["RegisterTrainee"], stores, figures)
    violations += check_programs(attempts, by_method, stores, context, figures)
    return violations, figures


# MARK: The idempotency ledger


def check_ledger(writes: dict[str, Write], stores: Stores) -> list[Violation]:
    """Each service records a keyed write's key in the write's own
    transaction: an acknowledged key must be there, a refused one not."""
    violations = []
    stored: dict[str, set[str]] = {}
    for service in {write.service for write in writes.values()}:
        rows = stores.sql(service, "SELECT key FROM idempotency_key WHERE key LIKE 'load-%'")
        stored[service] = {row[0] for row in rows}
    for write in writes.values():
        present = write.key in stored[write.service]
        if write.outcome == ACKNOWLEDGED and not present:
            violations.append(Violation("acknowledged-missing", f"{write.method_name} {write.key}: acknowledged, "
                                        f"not in {write.service}'s idempotency ledger"))
        if write.outcome == REFUSED and present:
            violations.append(Violation("refused-present", f"{write.method_name} {write.key}: refused "
                                        f"({statuses(write)}) yet in {write.service}'s idempotency ledger"))
    return violations


def statuses(write: Write) -> str:
    return ", then ".join(attempt.status for attempt in write.attempts)


def marker_of(text: str) -> str | None:
    return text if text.startswith(MARKER) else None


def check_marked(writes_by_marker: dict[str, Write], stored: Counter, what: str) -> list[Violation]:
    """Each marked write is stored once if acknowledged, never if refused,
    at most once if unknown; nothing marked is stored without a write."""
    violations = []
    for marker, write in writes_by_marker.items():
        count = stored.get(marker, 0)
        if write.outcome == ACKNOWLEDGED and count == 0:
            violations.append(Violation("acknowledged-missing", f"{what} {write.key} ({marker}): acknowledged, not stored"))
        if write.outcome == REFUSED and count > 0:
            violations.append(Violation("refused-present", f"{what} {write.key} ({marker}): refused "
                                        f"({statuses(write)}), stored {count} time(s)"))
        if count > 1:
            retried = f" after {len(write.attempts)} attempts" if len(write.attempts) > 1 else ""
            violations.append(Violation("stored-twice", f"{what} {write.key} ({marker}): stored {count} times{retried}"))
    for marker in stored.keys() - writes_by_marker.keys():
        violations.append(Violation("unaccounted", f"{what} {marker}: stored, but no client call sent it"))
    return violations


# MARK: Trade


def list_all(stores: Stores, method: str, request: dict, field: str, page_size: int = 1000) -> list[dict]:
    """Every item of a paged list method."""
    items, token = [], ""
    while True:
        answer = stores.call(method, {**request, "pageSize": page_size, "pageToken": token})
        items += answer.get(field, [])
        token = answer.get("nextPageToken", "")
        if not token:
            return items


def check_flows(writes: list[Write], stores: Stores, figures: dict) -> list[Violation]:
    flows = list_all(stores, f"{TRADE}/ListFlows", {"filter": {}}, "flows")
    figures["flows_stored"] = len(flows)
    by_marker = {write.request["flow"]["source"]: write for write in writes}
    stored = Counter(flow.get("source", "") for flow in flows if marker_of(flow.get("source", "")))
    violations = check_marked(by_marker, stored, "flow")
    by_id = {flow["id"]: flow for flow in flows}
    for write in writes:
        if write.outcome != ACKNOWLEDGED:
            continue
        acknowledged = write.response.get("flow", {})
        flow = by_id.get(acknowledged.get("id"))
        if flow is None:
            violations.append(Violation("acknowledged-missing", f"flow {write.key}: id {acknowledged.get('id')} not stored"))
            continue
        asked = write.request["flow"]
        for field in ("year", "month", "country", "direction", "category", "source", "synthetic"):
            if str(flow.get(field, "")).lower() != str(asked.get(field, "")).lower():
                violations.append(Violation("acknowledged-missing", f"flow {flow['id']}: {field} stored as "
                                            f"{flow.get(field)!r}, sent as {asked.get(field)!r}"))
        if not close(float(flow.get("valueUsd", 0)), float(asked.get("valueUsd", 0))):
            violations.append(Violation("acknowledged-missing", f"flow {flow['id']}: valueUsd {flow.get('valueUsd')} "
                                        f"stored, {asked.get('valueUsd')} sent"))
    return violations


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def check_trade_totals(stores: Stores, figures: dict) -> list[Violation]:
    """GetSummary's totals (kept by the store as it writes) against the
    flows ListFlows returns, for every year and partner that has flows."""
    flows = list_all(stores, f"{TRADE}/ListFlows", {"filter": {}}, "flows")
    violations = []
    years = sorted({int(flow["year"]) for flow in flows})
    checked = 0
    for year in years:
        in_year = [flow for flow in flows if int(flow["year"]) == year]
        for country in [""] + sorted({flow["country"] for flow in in_year}):
            chosen = [flow for flow in in_year if not country or flow["country"] == country]
            summary = stores.call(f"{TRADE}/GetSummary", {"year": year, "country": country})
            label = f"{year} {country or 'all partners'}"
            expected = {
                "recordedTotalUsd": sum(float(flow.get("valueUsd", 0)) for flow in chosen),
                "exportUsd": sum(float(flow.get("valueUsd", 0)) for flow in chosen
                                 if flow.get("direction") == "DIRECTION_EXPORT"),
                "importUsd": sum(float(flow.get("valueUsd", 0)) for flow in chosen
                                 if flow.get("direction") == "DIRECTION_IMPORT"),
            }
            for field, value in expected.items():
                if not close(float(summary.get(field, 0)), value):
                    violations.append(Violation("trade-totals", f"{label}: {field} {summary.get(field, 0)}, "
                                                f"the stored flows sum to {value}"))
            if int(summary.get("flowCount", 0)) != len(chosen):
                violations.append(Violation("trade-totals", f"{label}: flowCount {summary.get('flowCount', 0)}, "
                                            f"{len(chosen)} flows stored"))
            by_category: dict[str, float] = defaultdict(float)
            for flow in chosen:
                by_category[flow["category"].strip().lower()] += float(flow.get("valueUsd", 0))
            reported = {key.strip().lower(): float(value) for key, value in summary.get("byCategoryUsd", {}).items()}
            for category in by_category.keys() | reported.keys():
                if not close(reported.get(category, 0), by_category.get(category, 0)):
                    violations.append(Violation("trade-totals", f"{label}: category {category!r} "
                                                f"{reported.get(category, 0)}, stored flows {by_category.get(category, 0)}"))
            checked += 1
    figures["summaries_checked"] = checked
    return violations


# MARK: Logistics

# The shipment state machine, written out here from docs and the proto
# rather than imported, so the checker does not share the code it checks.
BOOKED, IN_TRANSIT, DELIVERED, CANCELLED = ("SHIPMENT_STATUS_BOOKED", "SHIPMENT_STATUS_IN_TRANSIT",
                                            "SHIPMENT_STATUS_DELIVERED", "SHIPMENT_STATUS_CANCELLED")
TRANSITIONS = {
    (None, "SHIPMENT_EVENT_KIND_BOOKED"): BOOKED,
    (BOOKED, "SHIPMENT_EVENT_KIND_DEPARTED"): IN_TRANSIT,
    (BOOKED, "SHIPMENT_EVENT_KIND_DELAYED"): BOOKED,
    (BOOKED, "SHIPMENT_EVENT_KIND_CANCELLED"): CANCELLED,
    (IN_TRANSIT, "SHIPMENT_EVENT_KIND_DELAYED"): IN_TRANSIT,
    (IN_TRANSIT, "SHIPMENT_EVENT_KIND_CROSSED_BORDER"): IN_TRANSIT,
    (IN_TRANSIT, "SHIPMENT_EVENT_KIND_ARRIVED_AT_TERMINAL"): IN_TRANSIT,
    (IN_TRANSIT, "SHIPMENT_EVENT_KIND_DELIVERED"): DELIVERED,
    (IN_TRANSIT, "SHIPMENT_EVENT_KIND_CANCELLED"): CANCELLED,
}


def replay(events: list[dict]) -> tuple[str | None, str | None]:
    """The status after EVENTS, and the first problem with them (None if legal)."""
    status = None
    for index, event in enumerate(events, start=1):
        if int(event.get("sequence", 0)) != index:
            return status, f"event {index} has sequence {event.get('sequence', 0)} (not 1, 2, … without gaps)"
        following = TRANSITIONS.get((status, event.get("kind")))
        if following is None:
            return status, f"event {index} {event.get('kind')} cannot follow {status or 'nothing'}"
        status = following
    return status, None


def shipment_id_from_ledger(response: bytes) -> str:
    """The shipment id in a stored BookShipmentResponse: field 1 (the
    shipment), its field 1 (the id). Read by hand from protobuf's wire
    format, so the checker needs no generated code."""
    shipment = proto_field(response, 1)
    return proto_field(shipment, 1).decode() if shipment is not None else ""


def proto_field(data: bytes, number: int) -> bytes | None:
    """The first length-delimited field NUMBER of a message, or None."""
    offset = 0

    def varint() -> int:
        nonlocal offset
        value, shift = 0, 0
        while True:
            byte = data[offset]
            offset += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while offset < len(data):
        tag = varint()
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            varint()
        elif wire == 1:
            offset += 8
        elif wire == 5:
            offset += 4
        elif wire == 2:
            length = varint()
            if field == number:
                return data[offset:offset + length]
            offset += length
        else:
            raise ValueError(f"wire type {wire} in a stored response")
    return None


def ledger_bytes(value) -> bytes:
    """A BLOB from SQLite (bytes) or a bytea from psql (text, \\x…)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    text = str(value)
    return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()


def check_shipments(by_method: dict[str, list[Write]], stores: Stores, context: Context,
                    figures: dict) -> list[Violation]:
    violations = []
    shipments = list_all(stores, f"{LOGISTICS}/ListShipments", {}, "shipments", page_size=500)
    new = {shipment["id"]: shipment for shipment in shipments if shipment["id"] not in context.shipments_before}
    figures["shipments_stored"] = len(new)
    bookings = by_method["BookShipment"]
    by_key = {write.key: write for write in bookings}
    # Which key's write made which shipment, from the ledger.
    made_by: dict[str, list[str]] = defaultdict(list)
    for key, response in stores.sql("logistics", "SELECT key, response FROM idempotency_key "
                                                 "WHERE method LIKE '%BookShipment'"):
        made_by[shipment_id_from_ledger(ledger_bytes(response))].append(key)
    for shipment_id in new:
        keys = made_by.get(shipment_id, [])
        if not keys:
            violations.append(Violation("unaccounted", f"shipment {shipment_id}: stored, no idempotency key made it "
                                        "(a booking stored outside its key's transaction, or twice)"))
        elif len(keys) > 1:
            violations.append(Violation("stored-twice", f"shipment {shipment_id}: the answer of keys {keys}"))
        elif keys[0] not in by_key:
            violations.append(Violation("unaccounted", f"shipment {shipment_id}: made by key {keys[0]}, "
                                        "which no client call sent"))
    keys_by_shipment = {key: shipment_id for shipment_id, keys in made_by.items() for key in keys}
    for write in bookings:
        if write.outcome == ACKNOWLEDGED:
            acknowledged = write.response.get("shipment", {}).get("id")
            if acknowledged not in new:
                violations.append(Violation("acknowledged-missing", f"shipment {acknowledged} ({write.key}): "
                                            "acknowledged, not stored"))
            elif keys_by_shipment.get(write.key) != acknowledged:
                violations.append(Violation("acknowledged-missing", f"shipment {acknowledged} ({write.key}): the "
                                            f"ledger says the key made {keys_by_shipment.get(write.key)}"))
    events = by_method["RecordShipmentEvent"]
    by_marker = {write.request.get("note", ""): write for write in events}
    stored_notes: Counter = Counter()
    sequences: dict[str, tuple[str, int]] = {}
    histories = 0
    for shipment_id in sorted(new):
        track = stores.call(f"{LOGISTICS}/TrackShipment", {"id": shipment_id})
        history = track.get("events", [])
        histories += 1
        status, problem = replay(history)
        if problem:
            violations.append(Violation("shipment-history", f"{shipment_id}: {problem}: "
                                        f"{[event.get('kind') for event in history]}"))
        elif status != track.get("shipment", {}).get("status"):
            violations.append(Violation("shipment-history", f"{shipment_id}: status "
                                        f"{track.get('shipment', {}).get('status')}, its events lead to {status}"))
        for event in history:
            note = event.get("note", "")
            if marker_of(note):
                stored_notes[note] += 1
                sequences[note] = (shipment_id, int(event.get("sequence", 0)))
    figures["shipment_histories_checked"] = histories
    violations += check_marked(by_marker, stored_notes, "shipment event")
    for marker, write in by_marker.items():
        if write.outcome == ACKNOWLEDGED and marker in sequences:
            event = write.response.get("event", {})
            where = (event.get("shipmentId"), int(event.get("sequence", 0)))
            if sequences[marker] != where:
                violations.append(Violation("acknowledged-missing", f"shipment event {write.key}: acknowledged as "
                                            f"{where}, stored as {sequences[marker]}"))
    return violations


# MARK: Training


def check_trainees(writes: list[Write], stores: Stores, figures: dict) -> list[Violation]:
    rows = stores.sql("training", f"SELECT name FROM trainee WHERE name LIKE '{TRAINEE_MARKER}%'")
    stored = Counter(row[0] for row in rows)
    figures["trainees_stored"] = sum(stored.values())
    by_marker = {write.request["trainee"]["name"]: write for write in writes}
    return check_marked(by_marker, stored, "trainee")


ENROLLED, WAITLISTED, WITHDRAWN = ("ENROLMENT_STATUS_ENROLLED", "ENROLMENT_STATUS_WAITLISTED",
                                   "ENROLMENT_STATUS_WITHDRAWN")


def check_programs(attempts: list[Attempt], by_method: dict[str, list[Write]], stores: Stores, context: Context,
                   figures: dict) -> list[Violation]:
    violations = []
    # What clients saw while it ran: no answer ever showed more enrolled than seats.
    for attempt in attempts:
        if attempt.ok and isinstance(attempt.response, dict):
            for program in programs_in(attempt.response):
                if int(program.get("enrolled", 0)) + int(program.get("completed", 0)) > int(program.get("capacity", 0)):
                    violations.append(Violation("over-capacity", f"{program.get('id')}: {attempt.method_name} at "
                                                f"{attempt.end:.3f} answered enrolled {program.get('enrolled', 0)} "
                                                f"of {program.get('capacity')} seats"))
    enrolments: dict[str, dict] = {}
    for program_id in context.programs:
        program = stores.call(f"{TRAINING}/GetProgram", {"id": program_id})["program"]
        listed = list_all(stores, f"{TRAINING}/ListEnrolments", {"programId": program_id}, "enrolments")
        capacity, enrolled = int(program.get("capacity", 0)), int(program.get("enrolled", 0))
        waitlisted = int(program.get("waitlisted", 0))
        held = [entry for entry in listed if entry.get("status") == ENROLLED]
        waiting = [entry for entry in listed if entry.get("status") == WAITLISTED]
        if enrolled + int(program.get("completed", 0)) > capacity:
            violations.append(Violation("over-capacity", f"{program_id}: {enrolled} enrolled, {capacity} seats"))
        if enrolled != len(held) or waitlisted != len(waiting):
            violations.append(Violation("seats-held", f"{program_id}: counts say {enrolled} enrolled and {waitlisted} "
                                        f"waiting; its enrolments {len(held)} and {len(waiting)}"))
        positions = [int(entry.get("waitlistPosition", 0)) for entry in waiting]
        if positions != list(range(1, len(waiting) + 1)):
            violations.append(Violation("waitlist", f"{program_id}: positions in enrolment order {positions}"))
        if waiting and len(held) < capacity:
            violations.append(Violation("waitlist", f"{program_id}: {len(waiting)} waiting while "
                                        f"{capacity - len(held)} seat(s) are free"))
        for entry in listed:
            enrolments[entry["id"]] = entry
    figures["enrolments_checked"] = len(enrolments)
    by_trainee = {(entry.get("traineeId"), entry.get("programId")): entry for entry in enrolments.values()}
    withdrawn_by: dict[str, list[Write]] = defaultdict(list)
    for write in by_method["Withdraw"]:
        withdrawn_by[write.request.get("enrolmentId", "")].append(write)
    for write in by_method["Enrol"]:
        key = (write.request.get("traineeId"), write.request.get("programId"))
        stored = by_trainee.get(key)
        if write.outcome == ACKNOWLEDGED:
            acknowledged = write.response.get("enrolment", {})
            if stored is None or stored["id"] != acknowledged.get("id"):
                violations.append(Violation("acknowledged-missing", f"enrolment {acknowledged.get('id')} "
                                            f"({write.key}): acknowledged, stored as {stored}"))
                continue
            withdrawals = withdrawn_by.get(stored["id"], [])
            if stored.get("status") == WITHDRAWN and not any(w.outcome != REFUSED for w in withdrawals):
                violations.append(Violation("enrolment", f"{stored['id']}: WITHDRAWN, but every withdrawal was refused"))
            if (acknowledged.get("status") == ENROLLED and stored.get("status") == WAITLISTED):
                violations.append(Violation("enrolment", f"{stored['id']}: acknowledged ENROLLED, now WAITLISTED"))
        elif write.outcome == REFUSED and stored is not None:
            violations.append(Violation("refused-present", f"enrolment {stored['id']} ({write.key}): refused "
                                        f"({statuses(write)}), stored"))
    for enrolment_id, writes in withdrawn_by.items():
        stored = enrolments.get(enrolment_id)
        outcomes = {write.outcome for write in writes}
        if ACKNOWLEDGED in outcomes and (stored is None or stored.get("status") != WITHDRAWN):
            violations.append(Violation("acknowledged-missing", f"withdrawal of {enrolment_id}: acknowledged, "
                                        f"enrolment is {stored and stored.get('status')}"))
        if outcomes == {REFUSED} and stored is not None and stored.get("status") == WITHDRAWN:
            violations.append(Violation("refused-present", f"withdrawal of {enrolment_id}: refused, enrolment WITHDRAWN"))
    return violations


def programs_in(response: dict) -> list[dict]:
    """The training programs an answer shows (GetProgram, ListPrograms, TraineeHistory)."""
    found = []
    if isinstance(response.get("program"), dict):
        found.append(response["program"])
    found += [program for program in response.get("programs", []) if isinstance(program, dict)]
    found += [entry["program"] for entry in response.get("entries", []) if isinstance(entry.get("program"), dict)]
    return [program for program in found if "capacity" in program]
