"""The model of a descriptor set: messages, enums, fields, oneofs, comments,
and the checks that refuse what the generator does not support."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from google.protobuf import descriptor_pb2

from .naming import (
    FDP, MODULES, RESERVED_MEMBER_NAMES, RESERVED_TYPE_NAMES, GeneratorError, c_camel_to_lower,
    c_field_name, c_full_name_to_c, c_full_name_to_lower, lower_camel, swift_escape, upper_camel,
)


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------


@dataclass
class EnumInfo:
    full_name: str            # caravan.testing.v1.Color
    proto: descriptor_pb2.EnumDescriptorProto
    file: str
    module: str
    swift_path: List[str]     # ["KitchenSink", "Mood"]
    c_type: str
    source_path: List[int]

    @property
    def swift_name(self) -> str:
        return ".".join(self.swift_path)


@dataclass
class MessageInfo:
    full_name: str
    proto: descriptor_pb2.DescriptorProto
    file: str
    module: str
    swift_path: List[str]
    c_type: str
    c_lower: str
    source_path: List[int]
    is_map_entry: bool = False
    nested_messages: List["MessageInfo"] = field(default_factory=list)
    nested_enums: List[EnumInfo] = field(default_factory=list)

    @property
    def swift_name(self) -> str:
        return ".".join(self.swift_path)


class Index:
    """Every message and enum of the descriptor set, by full name."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet):
        self.files: Dict[str, descriptor_pb2.FileDescriptorProto] = {f.name: f for f in fds.file}
        self.messages: Dict[str, MessageInfo] = {}
        self.enums: Dict[str, EnumInfo] = {}
        self.top_messages: Dict[str, List[MessageInfo]] = {}
        self.top_enums: Dict[str, List[EnumInfo]] = {}
        for f in fds.file:
            module = module_for_package(f.package, f.name)
            self.top_messages[f.name] = []
            self.top_enums[f.name] = []
            for i, e in enumerate(f.enum_type):
                info = self._add_enum(e, f, module, [], f.package, [5, i])
                self.top_enums[f.name].append(info)
            for i, m in enumerate(f.message_type):
                info = self._add_message(m, f, module, [], f.package, [4, i])
                self.top_messages[f.name].append(info)

    def _add_enum(self, e, f, module, outer, scope, path) -> EnumInfo:
        full = f"{scope}.{e.name}" if scope else e.name
        info = EnumInfo(full, e, f.name, module, outer + [swift_type_name(e.name, full)],
                        c_full_name_to_c(full), path)
        self.enums[full] = info
        return info

    def _add_message(self, m, f, module, outer, scope, path) -> MessageInfo:
        full = f"{scope}.{m.name}" if scope else m.name
        is_entry = m.options.map_entry
        info = MessageInfo(full, m, f.name, module, outer + [swift_type_name(m.name, full)],
                           c_full_name_to_c(full), c_full_name_to_lower(full), path, is_entry)
        self.messages[full] = info
        for i, e in enumerate(m.enum_type):
            info.nested_enums.append(self._add_enum(e, f, module, info.swift_path, full, path + [4, i]))
        for i, n in enumerate(m.nested_type):
            child = self._add_message(n, f, module, info.swift_path, full, path + [3, i])
            if not child.is_map_entry:
                info.nested_messages.append(child)
        return info

    def message(self, type_name: str) -> MessageInfo:
        return self.messages[type_name.lstrip(".")]

    def enum(self, type_name: str) -> EnumInfo:
        return self.enums[type_name.lstrip(".")]


def swift_type_name(name: str, full: str) -> str:
    if name in RESERVED_TYPE_NAMES:
        raise GeneratorError(
            f"{full}: the name `{name}` would shadow a type the generated Swift code uses; rename it")
    return name


def module_for_package(package: str, file_name: str) -> str:
    if package not in MODULES:
        raise GeneratorError(
            f"{file_name}: package `{package}` has no Swift module; add it to MODULES in "
            f"Proto/Generator/caravan_swift_gen.py and a target in Package.swift")
    return MODULES[package][0]


# --------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------

SCALARS = {
    # proto type: (Swift type, JSON wrapper or None, default literal)
    FDP.TYPE_DOUBLE: ("Double", "ProtoJSON.DoubleValue", "0"),
    FDP.TYPE_FLOAT: ("Float", "ProtoJSON.FloatValue", "0"),
    FDP.TYPE_INT64: ("Int64", "ProtoJSON.Int64Value", "0"),
    FDP.TYPE_UINT64: ("UInt64", "ProtoJSON.UInt64Value", "0"),
    FDP.TYPE_INT32: ("Int32", "ProtoJSON.Int32Value", "0"),
    FDP.TYPE_FIXED64: ("UInt64", "ProtoJSON.UInt64Value", "0"),
    FDP.TYPE_FIXED32: ("UInt32", "ProtoJSON.UInt32Value", "0"),
    FDP.TYPE_BOOL: ("Bool", None, "false"),
    FDP.TYPE_STRING: ("String", None, '""'),
    FDP.TYPE_BYTES: ("[UInt8]", "ProtoJSON.BytesValue", "[]"),
    FDP.TYPE_UINT32: ("UInt32", "ProtoJSON.UInt32Value", "0"),
    FDP.TYPE_SFIXED32: ("Int32", "ProtoJSON.Int32Value", "0"),
    FDP.TYPE_SFIXED64: ("Int64", "ProtoJSON.Int64Value", "0"),
    FDP.TYPE_SINT32: ("Int32", "ProtoJSON.Int32Value", "0"),
    FDP.TYPE_SINT64: ("Int64", "ProtoJSON.Int64Value", "0"),
}

# Scalars whose C representation is the Swift value itself.
PLAIN_C_SCALARS = {
    FDP.TYPE_DOUBLE, FDP.TYPE_FLOAT, FDP.TYPE_INT64, FDP.TYPE_UINT64, FDP.TYPE_INT32,
    FDP.TYPE_FIXED64, FDP.TYPE_FIXED32, FDP.TYPE_UINT32, FDP.TYPE_SFIXED32,
    FDP.TYPE_SFIXED64, FDP.TYPE_SINT32, FDP.TYPE_SINT64,
}

MAP_KEY_TYPES = {
    FDP.TYPE_INT64, FDP.TYPE_UINT64, FDP.TYPE_INT32, FDP.TYPE_FIXED64, FDP.TYPE_FIXED32,
    FDP.TYPE_BOOL, FDP.TYPE_STRING, FDP.TYPE_UINT32, FDP.TYPE_SFIXED32,
    FDP.TYPE_SFIXED64, FDP.TYPE_SINT32, FDP.TYPE_SINT64,
}


@dataclass
class Field:
    proto: descriptor_pb2.FieldDescriptorProto
    owner: MessageInfo
    swift_name: str           # escaped if needed
    json_name: str
    c_name: str
    kind: str                 # "singular", "optional", "repeated", "map", "oneof"
    # C member holding the oneof case: of a real oneof, of a proto3
    # `optional` field, or of the oneof that carries a float/double's
    # presence (see float_presence_oneof).
    oneof_c_case: Optional[str] = None
    map_key: Optional[descriptor_pb2.FieldDescriptorProto] = None
    map_value: Optional[descriptor_pb2.FieldDescriptorProto] = None
    map_entry: Optional[MessageInfo] = None

    @property
    def qualified(self) -> str:
        return f"{self.owner.full_name}.{self.proto.name}"

    @property
    def number(self) -> int:
        return self.proto.number


@dataclass
class Oneof:
    name: str                 # proto name
    swift_property: str
    swift_enum: str
    c_case: str
    fields: List[Field]


def float_presence_oneof(m: descriptor_pb2.DescriptorProto, f: descriptor_pb2.FieldDescriptorProto) -> str:
    """The one-field oneof that carries a singular float/double in C.

    protobuf-c skips a proto3 float or double that compares equal to 0, so
    it would drop -0.0, which Google's encoders write (they test the bits).
    As a oneof member the field is written whenever its case is set, and
    the generated Swift sets it when the bits are not all zero.
    """
    taken = {x.name for x in m.field} | {o.name for o in m.oneof_decl}
    name = "_" + f.name
    while name in taken:  # as protoc names synthetic oneofs
        name = "X" + name
    return name


def is_message(f) -> bool:
    return f.type == FDP.TYPE_MESSAGE


def is_enum(f) -> bool:
    return f.type == FDP.TYPE_ENUM


class MessageModel:
    """A message's fields, grouped the way the Swift code needs them."""

    def __init__(self, info: MessageInfo, index: Index):
        self.info = info
        self.index = index
        self.fields: List[Field] = []       # declaration order, oneof members included
        self.oneofs: List[Oneof] = []
        m = info.proto
        nested_names = {n.swift_path[-1] for n in info.nested_messages} | {
            e.swift_path[-1] for e in info.nested_enums}
        real_oneofs: Dict[int, Oneof] = {}
        for i, od in enumerate(m.oneof_decl):
            members = [f for f in m.field if f.HasField("oneof_index") and f.oneof_index == i]
            if members and members[0].proto3_optional:
                continue  # synthetic: a proto3 optional field
            enum_name = upper_camel(od.name)
            if enum_name in nested_names or enum_name in RESERVED_TYPE_NAMES:
                enum_name += "Oneof"
            oneof = Oneof(od.name, swift_escape(lower_camel(od.name)), enum_name,
                          c_camel_to_lower(od.name) + "_case", [])
            real_oneofs[i] = oneof
            self.oneofs.append(oneof)
        seen_swift: Dict[str, str] = {}
        for f in m.field:
            if f.label == FDP.LABEL_REQUIRED or f.type == FDP.TYPE_GROUP:
                raise GeneratorError(f"{info.full_name}.{f.name}: proto2 constructs are not supported")
            swift_name = lower_camel(f.name)
            if swift_name in RESERVED_MEMBER_NAMES:
                raise GeneratorError(
                    f"{info.full_name}.{f.name}: the Swift name `{swift_name}` clashes with a generated member")
            if swift_name in seen_swift:
                raise GeneratorError(
                    f"{info.full_name}: fields `{seen_swift[swift_name]}` and `{f.name}` both become `{swift_name}` in Swift")
            seen_swift[swift_name] = f.name
            json_name = f.json_name or lower_camel(f.name)
            fld = Field(f, info, swift_escape(swift_name), json_name, c_field_name(f.name), "singular")
            if f.proto3_optional:
                fld.kind = "optional"
                fld.oneof_c_case = c_camel_to_lower(m.oneof_decl[f.oneof_index].name) + "_case"
            elif f.HasField("oneof_index"):
                fld.kind = "oneof"
                fld.oneof_c_case = real_oneofs[f.oneof_index].c_case
                real_oneofs[f.oneof_index].fields.append(fld)
            elif f.type in (FDP.TYPE_FLOAT, FDP.TYPE_DOUBLE) and f.label != FDP.LABEL_REPEATED:
                fld.oneof_c_case = c_camel_to_lower(float_presence_oneof(m, f)) + "_case"
            elif f.label == FDP.LABEL_REPEATED:
                if is_message(f) and index.message(f.type_name).is_map_entry:
                    entry = index.message(f.type_name)
                    fld.kind = "map"
                    fld.map_entry = entry
                    fld.map_key = next(x for x in entry.proto.field if x.number == 1)
                    fld.map_value = next(x for x in entry.proto.field if x.number == 2)
                    if fld.map_key.type not in MAP_KEY_TYPES:
                        raise GeneratorError(f"{fld.qualified}: unsupported map key type")
                else:
                    fld.kind = "repeated"
            self.fields.append(fld)
        for oneof in self.oneofs:
            if oneof.swift_property.strip("`") in seen_swift:
                raise GeneratorError(f"{info.full_name}: oneof `{oneof.name}` clashes with a field name")

    @property
    def plain_fields(self) -> List[Field]:
        return [f for f in self.fields if f.kind != "oneof"]

    def oneof_of(self, fld: Field) -> Oneof:
        return next(o for o in self.oneofs if fld in o.fields)


# --------------------------------------------------------------------------
# Comments
# --------------------------------------------------------------------------


class Comments:
    def __init__(self, f: descriptor_pb2.FileDescriptorProto):
        self.by_path: Dict[Tuple[int, ...], descriptor_pb2.SourceCodeInfo.Location] = {}
        for loc in f.source_code_info.location:
            self.by_path[tuple(loc.path)] = loc

    def file_comment(self) -> List[str]:
        """The comment at the top of the file (before `syntax`), as lines."""
        loc = self.by_path.get((12,))
        if loc is None:
            return []
        texts = list(loc.leading_detached_comments) + ([loc.leading_comments] if loc.leading_comments else [])
        lines: List[str] = []
        for text in texts:
            if lines:
                lines.append("")
            block = text.rstrip("\n").split("\n")
            lines.extend(l[1:] if l.startswith(" ") else l for l in block)
        return [""] + lines if lines else []

    def doc(self, path: List[int], indent: str) -> List[str]:
        loc = self.by_path.get(tuple(path))
        if loc is None:
            return []
        text = loc.leading_comments or loc.trailing_comments
        if not text.strip():
            return []
        lines = text.rstrip("\n").split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if all(l.startswith(" ") or not l for l in lines):
            lines = [l[1:] for l in lines]
        return [f"{indent}///" + (f" {l.rstrip()}" if l.strip() else "") for l in lines]


# --------------------------------------------------------------------------
# Checks over the whole set
# --------------------------------------------------------------------------


def check_no_recursion(index: Index, files: List[str]):
    """Fails on message types that contain themselves, directly or not."""
    edges: Dict[str, List[str]] = {}
    for name, info in index.messages.items():
        targets = []
        for f in info.proto.field:
            if is_message(f):
                targets.append(f.type_name.lstrip("."))
        edges[name] = targets
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(n: str):
        state[n] = 1
        stack.append(n)
        for t in edges.get(n, []):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                raise GeneratorError(
                    "recursive message types are not supported (a message may not contain "
                    "itself, directly or through other messages): " + " -> ".join(cycle))
            if state.get(t) is None:
                visit(t)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if state.get(n) is None:
            visit(n)


def check_file(f: descriptor_pb2.FileDescriptorProto):
    if f.syntax != "proto3":
        raise GeneratorError(f"{f.name}: only proto3 files are supported (syntax is {f.syntax or 'proto2'!r})")
    if f.extension:
        raise GeneratorError(f"{f.name}: extensions are not supported")
    for dep in f.dependency:
        if not dep.startswith("caravan/"):
            raise GeneratorError(
                f"{f.name}: imports {dep}; only files under Proto/caravan/ can be imported "
                f"(well-known types have no Swift module here)")
