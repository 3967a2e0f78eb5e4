#!/usr/bin/env python3
"""Lists the changes from one descriptor set to another that break wire or
JSON compatibility, in the spirit of `buf breaking`: services and the
gateway are upgraded one at a time, so every .proto change must keep
working against the release before it.

Proto/check-breaking.sh runs it with the descriptor set committed for the
last release (Proto/Release/descriptor-set.binpb) and the current one.

What breaks:
- a service, method, message or enum removed (or renamed: the old name is gone);
- a method's request or response type, or whether it streams, changed;
- a field removed without `reserved` for its number and its name;
- a field's type, name or JSON name changed (a renamed field changes JSON),
  its cardinality (singular, `optional`, repeated, map) or its oneof;
- a field number or name that the last release reserved taken again;
- an enum value removed without `reserved` for its number and name, or renamed.

Adding services, methods, messages, fields and enum values is compatible.
Prints one line per break, `<element>: <what>`, and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, Iterator, List, Tuple

try:
    from google.protobuf import descriptor_pb2
except ImportError:  # pragma: no cover - check-breaking.sh installs it
    sys.exit("caravan_breaking.py needs the protobuf package: pip install -r Proto/Generator/requirements.txt")

FDP = descriptor_pb2.FieldDescriptorProto
TYPE_NAMES = {v: k[len("TYPE_"):].lower() for k, v in FDP.Type.items()}


def load(path: str) -> descriptor_pb2.FileDescriptorSet:
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as inp:
        fds.ParseFromString(inp.read())
    return fds


def walk_messages(scope: str, messages) -> Iterator[Tuple[str, descriptor_pb2.DescriptorProto]]:
    for m in messages:
        full = f"{scope}.{m.name}"
        yield full, m
        yield from walk_messages(full, m.nested_type)


class Schema:
    """Every service, message and enum of a descriptor set, by full name."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet):
        self.services: Dict[str, descriptor_pb2.ServiceDescriptorProto] = {}
        self.messages: Dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: Dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        for f in fds.file:
            for s in f.service:
                self.services[f"{f.package}.{s.name}"] = s
            for e in f.enum_type:
                self.enums[f"{f.package}.{e.name}"] = e
            for full, m in walk_messages(f.package, f.message_type):
                self.messages[full] = m
                for e in m.enum_type:
                    self.enums[f"{full}.{e.name}"] = e


def in_ranges(number: int, ranges) -> bool:
    # DescriptorProto.ReservedRange ends are exclusive; EnumReservedRange ends inclusive.
    return any(r.start <= number < r.end for r in ranges)


def in_enum_ranges(number: int, ranges) -> bool:
    return any(r.start <= number <= r.end for r in ranges)


def cardinality(field: descriptor_pb2.FieldDescriptorProto, schema: Schema) -> str:
    if field.label == FDP.LABEL_REPEATED:
        target = schema.messages.get(field.type_name.lstrip("."))
        return "map" if target is not None and target.options.map_entry else "repeated"
    return "optional" if field.proto3_optional else "singular"


def field_type(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM):
        return field.type_name.lstrip(".")
    return TYPE_NAMES[field.type]


def oneof_name(field, message) -> str:
    if field.HasField("oneof_index") and not field.proto3_optional:
        return message.oneof_decl[field.oneof_index].name
    return ""


def compare_messages(name: str, old, new, old_schema: Schema, new_schema: Schema) -> List[str]:
    if old.options.map_entry:
        return []  # a map entry is checked as its field
    breaks: List[str] = []
    new_by_number = {f.number: f for f in new.field}
    new_reserved_names = set(new.reserved_name)
    for f in old.field:
        g = new_by_number.get(f.number)
        where = f"{name}: field {f.number} `{f.name}`"
        if g is None:
            missing = []
            if not in_ranges(f.number, new.reserved_range):
                missing.append(f"reserved {f.number};")
            if f.name not in new_reserved_names:
                missing.append(f'reserved "{f.name}";')
            if missing:
                breaks.append(f"{where} was removed without `{' '.join(missing)}`")
            continue
        if field_type(f) != field_type(g):
            breaks.append(f"{where} changed type from {field_type(f)} to {field_type(g)}")
        if f.name != g.name:
            breaks.append(f"{where} was renamed to `{g.name}` (its JSON name changes; add a new field instead)")
        elif f.json_name != g.json_name:
            breaks.append(f"{where} changed its JSON name from `{f.json_name}` to `{g.json_name}`")
        if cardinality(f, old_schema) != cardinality(g, new_schema):
            breaks.append(f"{where} changed cardinality from {cardinality(f, old_schema)} to {cardinality(g, new_schema)}")
        if oneof_name(f, old) != oneof_name(g, new):
            breaks.append(f"{where} moved from oneof `{oneof_name(f, old) or '-'}` to `{oneof_name(g, new) or '-'}`")
    old_numbers = {f.number for f in old.field}
    for g in new.field:
        if g.number not in old_numbers and in_ranges(g.number, old.reserved_range):
            breaks.append(f"{name}: field {g.number} `{g.name}` takes a number the last release reserved")
        if g.name in set(old.reserved_name):
            breaks.append(f"{name}: field `{g.name}` takes a name the last release reserved")
    return breaks


def compare_enums(name: str, old, new) -> List[str]:
    breaks: List[str] = []
    new_by_number = {v.number: v for v in new.value}
    for v in old.value:
        w = new_by_number.get(v.number)
        if w is None:
            missing = []
            if not in_enum_ranges(v.number, new.reserved_range):
                missing.append(f"reserved {v.number};")
            if v.name not in set(new.reserved_name):
                missing.append(f'reserved "{v.name}";')
            if missing:
                breaks.append(f"{name}: value {v.number} `{v.name}` was removed without `{' '.join(missing)}`")
        elif v.name != w.name:
            breaks.append(f"{name}: value {v.number} `{v.name}` was renamed to `{w.name}` (JSON carries the name)")
    old_numbers = {v.number for v in old.value}
    for w in new.value:
        if w.number not in old_numbers and in_enum_ranges(w.number, old.reserved_range):
            breaks.append(f"{name}: value {w.number} `{w.name}` takes a number the last release reserved")
    return breaks


def compare_services(name: str, old, new) -> List[str]:
    breaks: List[str] = []
    new_methods = {m.name: m for m in new.method}
    for m in old.method:
        n = new_methods.get(m.name)
        where = f"{name}/{m.name}"
        if n is None:
            breaks.append(f"{where}: the method was removed (or renamed)")
            continue
        for what, a, b in (("request type", m.input_type, n.input_type), ("response type", m.output_type, n.output_type)):
            if a != b:
                breaks.append(f"{where}: the {what} changed from {a.lstrip('.')} to {b.lstrip('.')}")
        if (m.client_streaming, m.server_streaming) != (n.client_streaming, n.server_streaming):
            breaks.append(f"{where}: whether it streams changed")
    return breaks


def breaking_changes(old_fds, new_fds) -> List[str]:
    old, new = Schema(old_fds), Schema(new_fds)
    breaks: List[str] = []
    for kind, old_items, new_items in (("service", old.services, new.services),
                                       ("message", old.messages, new.messages),
                                       ("enum", old.enums, new.enums)):
        for name in sorted(old_items):
            if name not in new_items:
                if kind == "message" and old_items[name].options.map_entry:
                    continue  # reported with its field
                breaks.append(f"{name}: the {kind} was removed (or renamed)")
                continue
            if kind == "service":
                breaks += compare_services(name, old_items[name], new_items[name])
            elif kind == "message":
                breaks += compare_messages(name, old_items[name], new_items[name], old, new)
            else:
                breaks += compare_enums(name, old_items[name], new_items[name])
    return breaks


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--against", required=True, help="descriptor set of the last release")
    ap.add_argument("current", help="descriptor set of the current .proto files")
    args = ap.parse_args(argv)
    breaks = breaking_changes(load(args.against), load(args.current))
    for line in breaks:
        print(line)
    return 1 if breaks else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
