#!/usr/bin/env python3
"""Encodes messages with Google's own protobuf runtime, as a reference.

Generates Python classes from Proto/caravan/**/*.proto with
`protoc --python_out` into a temporary directory, reads a list of cases
(each a message type and its proto3 JSON), and prints one line per case:

    <case name> <hex of the deterministic binary encoding>

Tests/CaravanMessagesTests compares these bytes with what the generated
Swift code (over protobuf-c) produces for the same messages.

Deterministic means fields in field-number order and map entries in
ascending key order (bytes for strings), as Google's C++ runtime writes
them. The Python runtime pinned here (upb, protobuf 4.21) sorts map
entries wrongly in its deterministic mode (its comparators return a
bool), so this script puts messages together field by field from
single-field encodings made by that runtime, map entries in key order.
For messages without maps the result is checked to equal the runtime's
own deterministic encoding.

Usage:
    protobuf_reference.py                 # the cases in reference_cases.json
    protobuf_reference.py --cases FILE    # the cases in FILE
    protobuf_reference.py --stdin         # the cases on standard input

A case file is JSON: {"cases": [{"name": ..., "type": "caravan.echo.v1.EchoRequest",
"json": {...}}, ...]}. JSON is parsed strictly (unknown fields are errors),
so a case also checks that its JSON is valid proto3 JSON for Google.

Needs python3 and protoc; installs the pinned `protobuf` package
(Proto/Generator/requirements.txt) with pip when it is missing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROTO = ROOT / "Proto"
REQUIREMENTS = PROTO / "Generator" / "requirements.txt"


def wanted_protobuf_version() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("protobuf=="):
            return line.split("==", 1)[1].strip()
    sys.exit(f"no protobuf pin in {REQUIREMENTS}")


def ensure_protobuf():
    wanted = wanted_protobuf_version()
    try:
        import google.protobuf as pb
        if pb.__version__ == wanted:
            return
    except ImportError:
        pass
    print(f"protobuf_reference.py: installing protobuf=={wanted}", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
        check=True, stdout=sys.stderr)
    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m == "google" or m.startswith("google.")]:
        del sys.modules[name]


def generate_python(out_dir: str) -> list:
    protoc = shutil.which("protoc")
    if protoc is None:
        sys.exit("protobuf_reference.py: protoc not found (apt-get install protobuf-compiler)")
    files = sorted(str(p.relative_to(PROTO)) for p in (PROTO / "caravan").rglob("*.proto"))
    subprocess.run([protoc, "-I", str(PROTO), f"--python_out={out_dir}", *files], check=True)
    return [f[: -len(".proto")].replace("/", ".") + "_pb2" for f in files]


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def is_map(field) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def has_maps(descriptor, seen=None) -> bool:
    seen = seen or set()
    if descriptor.full_name in seen:
        return False
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        if is_map(field):
            return True
        if field.message_type is not None and has_maps(field.message_type, seen):
            return True
    return False


def canonical(message) -> bytes:
    """The deterministic encoding, map entries sorted by key."""
    from google.protobuf.descriptor import FieldDescriptor

    out = bytearray()
    for field, value in sorted(message.ListFields(), key=lambda pair: pair[0].number):
        if is_map(field):
            value_is_message = field.message_type.fields_by_name["value"].message_type is not None
            for key in sorted(value.keys()):
                single = type(message)()
                target = getattr(single, field.name)
                if value_is_message:
                    target[key].CopyFrom(value[key])
                else:
                    target[key] = value[key]
                out += single.SerializeToString(deterministic=True)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if field.label == FieldDescriptor.LABEL_REPEATED else [value]
            for item in items:
                body = canonical(item)
                out += varint(field.number << 3 | 2) + varint(len(body)) + body
        else:
            single = type(message)()
            if field.label == FieldDescriptor.LABEL_REPEATED:
                getattr(single, field.name).extend(value)
            else:
                setattr(single, field.name, value)
            out += single.SerializeToString(deterministic=True)
    return bytes(out)


def main() -> int:
    ap = argparse.ArgumentParser(description="Reference protobuf encodings from Google's runtime.")
    ap.add_argument("--cases", default=str(HERE / "reference_cases.json"), help="case file (JSON)")
    ap.add_argument("--stdin", action="store_true", help="read the case file from standard input")
    args = ap.parse_args()

    cases = json.load(sys.stdin) if args.stdin else json.loads(Path(args.cases).read_text())
    ensure_protobuf()
    from google.protobuf import json_format, symbol_database

    with tempfile.TemporaryDirectory(prefix="caravan-pyproto-") as tmp:
        modules = generate_python(tmp)
        sys.path.insert(0, tmp)
        for module in modules:
            importlib.import_module(module)
        db = symbol_database.Default()
        for case in cases["cases"]:
            cls = db.GetSymbol(case["type"])
            message = cls()
            json_format.ParseDict(case["json"], message)
            data = canonical(message)
            if not has_maps(message.DESCRIPTOR):
                direct = message.SerializeToString(deterministic=True)
                if data != direct:
                    sys.exit(f"protobuf_reference.py: {case['name']}: field-by-field encoding "
                             f"{data.hex()} differs from the runtime's {direct.hex()}")
            print(case["name"], data.hex())
    return 0


if __name__ == "__main__":
    sys.exit(main())
