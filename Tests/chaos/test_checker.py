"""The checker against stores made by hand: a consistent run passes, and
each rule catches the fault it is for (so none of them can pass vacuously).
Runs without a build: `python3 -m pytest Tests/chaos`.
"""

from __future__ import annotations

import copy

import pytest

import checker
from checker import Context, TRADE, LOGISTICS, TRAINING
from history import Attempt

T0 = 1_700_000_000.0


class FakeStores:
    """The slices of the three services' API and tables the checker reads."""

    def __init__(self):
        self.flows: list[dict] = []
        self.summary_override: dict = {}
        self.shipments: dict[str, dict] = {}
        self.events: dict[str, list[dict]] = {}
        self.trainees: list[str] = []
        self.programs: dict[str, dict] = {}
        self.enrolments: list[dict] = []
        self.ledger: dict[str, dict[str, bytes]] = {"trade": {}, "logistics": {}, "training": {}}
        self.ledger_methods: dict[str, str] = {}

    def call(self, method: str, request: dict) -> dict:
        name = method.rsplit("/", 1)[1]
        if name == "ListFlows":
            return {"flows": copy.deepcopy(self.flows)}
        if name == "GetSummary":
            chosen = [f for f in self.flows if f["year"] == request["year"]
                      and (not request["country"] or f["country"] == request["country"])]
            by_category: dict[str, float] = {}
            for flow in chosen:
                by_category[flow["category"]] = by_category.get(flow["category"], 0) + flow["valueUsd"]
            summary = {"recordedTotalUsd": sum(f["valueUsd"] for f in chosen), "flowCount": str(len(chosen)),
                       "exportUsd": sum(f["valueUsd"] for f in chosen if f["direction"] == "DIRECTION_EXPORT"),
                       "importUsd": sum(f["valueUsd"] for f in chosen if f["direction"] == "DIRECTION_IMPORT"),
                       "byCategoryUsd": by_category}
            summary.update(self.summary_override.get((request["year"], request["country"]), {}))
            return summary
        if name == "ListShipments":
            return {"shipments": [copy.deepcopy(s) for s in self.shipments.values()]}
        if name == "TrackShipment":
            return {"shipment": self.shipments[request["id"]], "events": copy.deepcopy(self.events[request["id"]])}
        if name == "GetProgram":
            return {"program": copy.deepcopy(self.programs[request["id"]])}
        if name == "ListEnrolments":
            listed = [copy.deepcopy(e) for e in self.enrolments if e["programId"] == request["programId"]]
            position = 0
            for entry in listed:
                if entry["status"] == checker.WAITLISTED:
                    position += 1
                    entry.setdefault("waitlistPosition", position)
            return {"enrolments": listed}
        raise AssertionError(f"unexpected call {method}")

    def sql(self, service: str, query: str) -> list[tuple]:
        if query.startswith("SELECT key FROM idempotency_key"):
            return [(key,) for key in self.ledger[service]]
        if query.startswith("SELECT key, response FROM idempotency_key"):
            return [(key, response) for key, response in self.ledger[service].items()
                    if self.ledger_methods.get(key) == "BookShipment"]
        if query.startswith("SELECT name FROM trainee"):
            return [(name,) for name in self.trainees]
        raise AssertionError(f"unexpected SQL {query}")


def booking_response(shipment_id: str) -> bytes:
    """BookShipmentResponse{shipment: Shipment{id, containers_teu: 3}} in protobuf's wire format."""
    identifier = shipment_id.encode()
    shipment = bytes([0x0A, len(identifier)]) + identifier + bytes([0x28, 3])
    return bytes([0x0A, len(shipment)]) + shipment


class Run:
    """A history and the stores it left, built together, consistent unless a test breaks them."""

    def __init__(self):
        self.attempts: list[Attempt] = []
        self.stores = FakeStores()
        self.number = 0
        self.programs = ["prog-1"]
        self.stores.programs["prog-1"] = {"id": "prog-1", "capacity": 2, "enrolled": 0, "waitlisted": 0}

    def attempt(self, method: str, request: dict, status: str = "OK", response=None, key: str | None = None,
                attempt: int = 1, number: int | None = None) -> Attempt:
        if number is None:
            self.number += 1
            number = self.number
        at = T0 + number + attempt / 10
        made = Attempt(number, attempt, method.rsplit("/", 1)[1], "/" + method, key, True, at, at + 0.01, status,
                       "", request, response if status == "OK" else None, "history.jsonl")
        self.attempts.append(made)
        return made

    def flow(self, marker: str, statuses=("OK",), stored: int | None = None, value: float = 100.0) -> str:
        """A RecordFlow call under one key with these attempts' statuses; stored STORED times (default:
        once if acknowledged)."""
        key = f"load-{marker}"
        request = {"flow": {"year": 2024, "month": 3, "country": "KZ", "direction": "DIRECTION_EXPORT",
                            "category": "electronics", "valueUsd": value, "source": f"synthetic: chaos {marker}",
                            "synthetic": True}}
        acknowledged = "OK" in statuses
        copies = stored if stored is not None else int(acknowledged)
        ids = [f"flow-{marker}-{index}" for index in range(copies)]
        self.number += 1
        for index, status in enumerate(statuses, start=1):
            response = {"flow": {**request["flow"], "id": ids[0] if ids else "flow-none"}}
            self.attempt(f"{TRADE}/RecordFlow", request, status, response, key, index, self.number)
        for flow_id in ids:
            self.stores.flows.append({**request["flow"], "id": flow_id})
        if copies:
            self.stores.ledger["trade"][key] = b""
        return key

    def booking(self, shipment_id: str, status: str = "OK", in_ledger: bool = True,
                events: list[tuple[str, str, str]] | None = None) -> str:
        """A BookShipment and, when stored, its shipment with EVENTS (kind, note marker, event call status)."""
        key = f"load-book-{shipment_id}"
        self.attempt(f"{LOGISTICS}/BookShipment", {"originCityId": "xian"}, status,
                     {"shipment": {"id": shipment_id}}, key)
        if status != "OK":
            return key
        if in_ledger:
            self.stores.ledger["logistics"][key] = booking_response(shipment_id)
            self.stores.ledger_methods[key] = "BookShipment"
        history = [{"sequence": "1", "kind": "SHIPMENT_EVENT_KIND_BOOKED"}]
        status_now = checker.BOOKED
        for kind, marker, call_status in events or []:
            note = f"synthetic: chaos {marker}"
            event_key = f"load-event-{marker}"
            sequence = len(history) + 1
            self.attempt(f"{LOGISTICS}/RecordShipmentEvent", {"shipmentId": shipment_id, "kind": kind, "note": note},
                         call_status, {"event": {"shipmentId": shipment_id, "sequence": str(sequence)}}, event_key)
            if call_status == "OK":
                history.append({"sequence": str(sequence), "kind": kind, "note": note})
                status_now = checker.TRANSITIONS[(status_now, kind)]
                self.stores.ledger["logistics"][event_key] = b""
        self.stores.shipments[shipment_id] = {"id": shipment_id, "status": status_now}
        self.stores.events[shipment_id] = history
        return key

    def enrol(self, trainee: str, enrolment_id: str, status: str, call_status: str = "OK") -> str:
        key = f"load-enrol-{trainee}"
        self.attempt(f"{TRAINING}/Enrol", {"traineeId": trainee, "programId": "prog-1"}, call_status,
                     {"enrolment": {"id": enrolment_id, "status": status}}, key)
        if call_status == "OK":
            self.stores.enrolments.append({"id": enrolment_id, "traineeId": trainee, "programId": "prog-1",
                                           "status": status})
            program = self.stores.programs["prog-1"]
            program["enrolled" if status == checker.ENROLLED else "waitlisted"] += 1
            self.stores.ledger["training"][key] = b""
        return key

    def check(self) -> list[checker.Violation]:
        violations, _ = checker.check(self.attempts, self.stores, Context(self.programs, set()))
        return violations


def rules(violations) -> set[str]:
    return {violation.rule for violation in violations}


@pytest.fixture
def run() -> Run:
    """A consistent run: flows (one retried), bookings with legal events
    (one refused), trainees, enrolments filling a program and its wait-list."""
    run = Run()
    run.flow("a")
    run.flow("b", statuses=("DEADLINE_EXCEEDED", "OK"))
    run.flow("c", statuses=("INVALID_ARGUMENT",))
    run.flow("d", statuses=("UNAVAILABLE", "UNAVAILABLE"), stored=1)
    run.booking("s-1", events=[("SHIPMENT_EVENT_KIND_DEPARTED", "e1", "OK"),
                               ("SHIPMENT_EVENT_KIND_BOOKED", "e2", "FAILED_PRECONDITION"),
                               ("SHIPMENT_EVENT_KIND_DELIVERED", "e3", "OK")])
    run.booking("s-2", events=[("SHIPMENT_EVENT_KIND_CANCELLED", "e4", "OK")])
    for name in ("t1", "t2", "t3"):
        run.attempt(f"{TRAINING}/RegisterTrainee", {"trainee": {"name": f"{checker.TRAINEE_MARKER}{name}"}}, "OK",
                    {"trainee": {"id": name}}, f"load-trainee-{name}")
        run.stores.trainees.append(f"{checker.TRAINEE_MARKER}{name}")
        run.stores.ledger["training"][f"load-trainee-{name}"] = b""
    run.enrol("t1", "enr-1", checker.ENROLLED)
    run.enrol("t2", "enr-2", checker.ENROLLED)
    run.enrol("t3", "enr-3", checker.WAITLISTED)
    return run


def test_a_consistent_run_passes(run):
    assert run.check() == []


def test_an_acknowledged_write_that_is_not_stored(run):
    run.stores.flows = [flow for flow in run.stores.flows if "chaos a" not in flow["source"]]
    assert "acknowledged-missing" in rules(run.check())


def test_an_acknowledged_write_stored_differently(run):
    run.stores.flows[0]["country"] = "UZ"
    assert "acknowledged-missing" in rules(run.check())


def test_a_refused_write_that_is_stored(run):
    run.flow("x", statuses=("FAILED_PRECONDITION",), stored=1)
    assert rules(run.check()) >= {"refused-present"}


def test_a_retried_write_stored_twice(run):
    run.flow("y", statuses=("DEADLINE_EXCEEDED", "OK"), stored=2)
    found = [v for v in run.check() if v.rule == "stored-twice"]
    assert found and "after 2 attempts" in found[0].detail


def test_a_write_no_client_sent(run):
    run.stores.flows.append({**run.stores.flows[0], "id": "flow-ghost", "source": "synthetic: chaos ghost"})
    assert "unaccounted" in rules(run.check())


def test_the_ledger_holds_a_refused_key_and_misses_an_acknowledged_one(run):
    run.stores.ledger["trade"]["load-c"] = b""
    del run.stores.ledger["trade"]["load-a"]
    found = run.check()
    assert {"refused-present", "acknowledged-missing"} <= rules(found)
    assert any("load-c" in v.detail for v in found if v.rule == "refused-present")


def test_totals_that_differ_from_the_flows(run):
    run.stores.summary_override[(2024, "KZ")] = {"recordedTotalUsd": 12345.0}
    found = [v for v in run.check() if v.rule == "trade-totals"]
    assert found and "2024 KZ" in found[0].detail


def test_a_flow_count_that_differs(run):
    run.stores.summary_override[(2024, "")] = {"flowCount": "7"}
    assert "trade-totals" in rules(run.check())


def test_an_illegal_shipment_history(run):
    run.stores.events["s-2"].append({"sequence": "3", "kind": "SHIPMENT_EVENT_KIND_DELIVERED"})
    assert "shipment-history" in rules(run.check())


def test_a_gap_in_event_sequences(run):
    run.stores.events["s-1"][2]["sequence"] = "4"
    assert "shipment-history" in rules(run.check())


def test_a_status_its_events_do_not_lead_to(run):
    run.stores.shipments["s-1"]["status"] = checker.IN_TRANSIT
    assert "shipment-history" in rules(run.check())


def test_a_shipment_without_a_ledger_key(run):
    run.stores.shipments["s-9"] = {"id": "s-9", "status": checker.BOOKED}
    run.stores.events["s-9"] = [{"sequence": "1", "kind": "SHIPMENT_EVENT_KIND_BOOKED"}]
    assert "unaccounted" in rules(run.check())


def test_a_refused_event_that_is_stored(run):
    run.stores.events["s-2"].append({"sequence": "3", "kind": "SHIPMENT_EVENT_KIND_BOOKED",
                                     "note": "synthetic: chaos e2"})
    assert "refused-present" in rules(run.check())


def test_a_trainee_stored_twice(run):
    run.stores.trainees.append(f"{checker.TRAINEE_MARKER}t1")
    assert "stored-twice" in rules(run.check())


def test_more_enrolled_than_seats(run):
    run.stores.programs["prog-1"]["enrolled"] = 3
    run.stores.enrolments[2]["status"] = checker.ENROLLED
    run.stores.programs["prog-1"]["waitlisted"] = 0
    assert "over-capacity" in rules(run.check())


def test_an_answer_that_showed_more_enrolled_than_seats(run):
    run.attempt(f"{TRAINING}/GetProgram", {"id": "prog-1"}, "OK",
                {"program": {"id": "prog-1", "capacity": 2, "enrolled": 3}})
    found = [v for v in run.check() if v.rule == "over-capacity"]
    assert found and "GetProgram" in found[0].detail


def test_counts_that_differ_from_the_enrolments(run):
    run.stores.programs["prog-1"]["waitlisted"] = 0
    assert "seats-held" in rules(run.check())


def test_a_gap_in_the_wait_list(run):
    run.stores.enrolments[2]["waitlistPosition"] = 2
    assert "waitlist" in rules(run.check())


def test_a_wait_while_a_seat_is_free(run):
    run.stores.enrolments[1]["status"] = checker.WITHDRAWN
    run.stores.programs["prog-1"]["enrolled"] = 1
    found = rules(run.check())
    assert "waitlist" in found


def test_an_acknowledged_seat_lost_to_the_wait_list(run):
    run.stores.enrolments[0]["status"] = checker.WAITLISTED
    run.stores.enrolments[0]["waitlistPosition"] = 1
    run.stores.enrolments[2]["waitlistPosition"] = 2
    run.stores.programs["prog-1"].update(enrolled=1, waitlisted=2)
    assert "enrolment" in rules(run.check())


def test_an_acknowledged_withdrawal_not_stored(run):
    run.attempt(f"{TRAINING}/Withdraw", {"enrolmentId": "enr-1"}, "OK", {"withdrawn": {"id": "enr-1"}},
                "load-withdraw-1")
    assert "acknowledged-missing" in rules(run.check())


def test_the_ledger_response_is_read_from_protobuf_and_from_psql_hex():
    response = booking_response("s-42")
    assert checker.shipment_id_from_ledger(response) == "s-42"
    assert checker.shipment_id_from_ledger(checker.ledger_bytes("\\x" + response.hex())) == "s-42"
    assert checker.shipment_id_from_ledger(b"") == ""


def test_replay_follows_the_state_machine():
    legal = [{"sequence": "1", "kind": "SHIPMENT_EVENT_KIND_BOOKED"},
             {"sequence": "2", "kind": "SHIPMENT_EVENT_KIND_DELAYED"},
             {"sequence": "3", "kind": "SHIPMENT_EVENT_KIND_DEPARTED"},
             {"sequence": "4", "kind": "SHIPMENT_EVENT_KIND_CROSSED_BORDER"},
             {"sequence": "5", "kind": "SHIPMENT_EVENT_KIND_DELIVERED"}]
    assert checker.replay(legal) == (checker.DELIVERED, None)
    status, problem = checker.replay(legal[:1] + [{"sequence": "2", "kind": "SHIPMENT_EVENT_KIND_DELIVERED"}])
    assert status == checker.BOOKED and "cannot follow" in problem
