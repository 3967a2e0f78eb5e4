#!/usr/bin/env python3
"""Generates Caravan's Swift message and service code from a descriptor set.

Proto/generate.sh runs it on the output of
`protoc --descriptor_set_out=... --include_imports --include_source_info`.
It writes:

- one `<name>.pb.swift` per .proto file into `<swift-out>/<Module>/`, and a
  `<Module>Schemas.pb.swift` registry per module (see MODULES);
- the C support headers of the CCaravanProto target into `<c-include-out>`:
  `caravan_proto_shim.h` (static inline accessors Swift needs), the
  umbrella `CCaravanProto.h` and `module.modulemap`;
- the OpenAPI 3.1 document of the gateway's HTTP door (caravan_gen/openapi.py),
  as JSON and as `GatewayOpenAPI.pb.swift` in CaravanGatewayAPI, which serves it;
- a "C-compatible" copy of the descriptor set for protoc-c 1.4.1, which
  rejects proto3 `optional`. The copy turns each proto3 `optional` field
  into a member of a real one-field oneof (its synthetic oneof), and each
  map entry's key and value too (so both are always encoded, as Google's
  encoders do); the wire format is unchanged, and the generated Swift reads
  and writes presence through those oneof cases.

The generated Swift encodes by filling the protoc-c structs directly (no
descriptor walking) and decodes by copying out of them. Output is
deterministic: declaration order everywhere, maps encoded by sorted key.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List

try:
    from google.protobuf import descriptor_pb2
except ImportError:  # pragma: no cover - generate.sh installs it
    sys.exit("caravan_swift_gen.py needs the protobuf package: "
             "pip install -r Proto/Generator/requirements.txt")

# The package next to this script: caravan_gen/{naming,model,writer,
# swift_file,swift_protobuf_c,swift_json,swift_services,c_support}.py.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from caravan_gen.c_support import gen_module_map, gen_shim, gen_umbrella, make_c_compatible  # noqa: E402
from caravan_gen.model import Index, check_file, check_no_recursion  # noqa: E402
from caravan_gen.naming import MODULES, GeneratorError  # noqa: E402
from caravan_gen.openapi import gen_openapi_json, gen_openapi_swift  # noqa: E402
from caravan_gen.swift_file import FileGenerator  # noqa: E402
from caravan_gen.swift_services import gen_registry  # noqa: E402


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def write(path: str, text: str):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--descriptor-set", required=True,
                    help="protoc --descriptor_set_out output (with imports and source info)")
    ap.add_argument("--swift-out", required=True, help="directory receiving <Module>/*.pb.swift")
    ap.add_argument("--c-include-out", required=True, help="include directory of CCaravanProto")
    ap.add_argument("--c-descriptor-set-out", required=True, help="descriptor set for protoc-c")
    ap.add_argument("--openapi-out", required=True, help="the gateway's OpenAPI document (JSON)")
    ap.add_argument("files", nargs="+", help="the .proto files to generate, relative to Proto/")
    args = ap.parse_args(argv)

    fds = descriptor_pb2.FileDescriptorSet()
    with open(args.descriptor_set, "rb") as inp:
        fds.ParseFromString(inp.read())
    files = sorted(args.files)
    try:
        for f in fds.file:
            check_file(f)
        index = Index(fds)
        check_no_recursion(index, files)
        no_source: Dict[str, bytes] = {}
        for f in fds.file:
            copy = descriptor_pb2.FileDescriptorProto()
            copy.CopyFrom(f)
            copy.ClearField("source_code_info")
            no_source[f.name] = copy.SerializeToString(deterministic=True)

        services_by_module: Dict[str, List[str]] = {m: [] for (m, _) in MODULES.values()}
        files_by_module: Dict[str, List[str]] = {m: [] for (m, _) in MODULES.values()}
        for name in files:
            fd = index.files[name]
            gen = FileGenerator(fd, index, no_source)
            text = gen.generate()
            base = os.path.basename(name)[: -len(".proto")]
            write(os.path.join(args.swift_out, gen.module, f"{base}.pb.swift"), text)
            services_by_module[gen.module].extend(gen.services_generated)
            files_by_module[gen.module].append(name)
        for (module, has_core) in sorted(MODULES.values()):
            write(os.path.join(args.swift_out, module, f"{module}Schemas.pb.swift"),
                  gen_registry(module, has_core, files_by_module[module], index, services_by_module[module]))

        openapi = gen_openapi_json(index)
        write(args.openapi_out, openapi)
        write(os.path.join(args.swift_out, "CaravanGatewayAPI", "GatewayOpenAPI.pb.swift"), gen_openapi_swift(openapi))
        write(os.path.join(args.c_include_out, "caravan_proto_shim.h"), gen_shim(files, index))
        write(os.path.join(args.c_include_out, "CCaravanProto.h"), gen_umbrella(files))
        write(os.path.join(args.c_include_out, "module.modulemap"), gen_module_map())
        c_set = make_c_compatible(fds)
        with open(args.c_descriptor_set_out, "wb") as out:
            out.write(c_set.SerializeToString(deterministic=True))
    except GeneratorError as error:
        print(f"caravan_swift_gen.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
