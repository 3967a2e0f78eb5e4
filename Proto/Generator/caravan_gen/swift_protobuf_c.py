"""Generated Swift that fills protoc-c structs (encoding) and copies out of
them (decoding)."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from .model import PLAIN_C_SCALARS, Field, MessageModel, Oneof, is_message
from .naming import FDP, GeneratorError, c_field_name
from .writer import swift_string


class ProtobufCCodegen:
    """The ProtoMessage conformance: buildCMessage(in:) and init(copying:)."""

    # -- protobuf-c ---------------------------------------------------------

    def c_fields_path(self) -> str:
        """How generated code reaches the protoc-c struct's members."""
        return "c.pointee"

    def gen_c_conformance(self, model: MessageModel):
        w = self.w
        info = model.info
        w(f"extension {info.swift_name} {{")
        w.indent()
        w(f"public static var protoMessageName: String {{ {swift_string(info.full_name)} }}")
        w()
        w("public static var protobufCDescriptor: UnsafePointer<ProtobufCMessageDescriptor> {")
        w(f"    {info.c_lower}__descriptor_ptr()")
        w("}")
        w()
        w("public func buildCMessage(in arena: ProtoArena) throws(ProtoEncodingError) -> UnsafeMutablePointer<ProtobufCMessage> {")
        w.indent()
        w(f"let c = arena.allocate({info.c_type}.self)")
        w(f"{info.c_lower}__init(c)")
        for fld in model.plain_fields:
            self.gen_encode_field(fld)
        for oneof in model.oneofs:
            self.gen_encode_oneof(oneof)
        w("return ProtoArena.base(of: c)")
        w.dedent()
        w("}")
        w()
        w("public init(copying cMessage: UnsafePointer<ProtobufCMessage>) throws(ProtoDecodingError) {")
        w.indent()
        if model.fields:
            w(f"let c = ProtoDecoding.cast(cMessage, to: {info.c_type}.self)")
            # Decoded into locals, then one memberwise init: a throwing
            # init that assigns self's properties one by one ends with a
            # copy and a destroy of the whole struct.
            for fld in model.plain_fields:
                self.gen_decode_field(fld)
            for oneof in model.oneofs:
                self.gen_decode_oneof(oneof)
            members = self.member_list(model)
            args = [f"{n.strip('`')}: {self.local(n)}" for (n, _, _) in members]
            if len(args) <= 3:
                w(f"self.init({', '.join(args)})")
            else:
                w("self.init(")
                for i, arg in enumerate(args):
                    w(f"    {arg}" + ("," if i < len(args) - 1 else ""))
                w(")")
        else:
            w("_ = cMessage")
            w("self.init()")
        w.dedent()
        w("}")
        w.dedent()
        w("}")
        w()

    # Encoding: Swift value -> C member expression.

    def c_value(self, f: descriptor_pb2.FieldDescriptorProto, expr: str, qualified: str, present: bool) -> str:
        """The C representation of `expr` (a Swift value of field type `f`).

        `present`: a string must not use protobuf-c's shared empty string,
        which protobuf-c treats as "not set" inside a oneof.
        """
        t = f.type
        if t in PLAIN_C_SCALARS:
            return expr
        if t == FDP.TYPE_BOOL:
            return f"({expr} ? 1 : 0)"
        if t == FDP.TYPE_ENUM:
            return f".init(rawValue: .init(truncatingIfNeeded: {expr}.rawValue))"
        if t == FDP.TYPE_STRING:
            fn = "presentString" if present else "string"
            return f"try arena.{fn}({expr}, field: {swift_string(qualified)})"
        if t == FDP.TYPE_BYTES:
            return f"arena.bytes({expr})"
        if t == FDP.TYPE_MESSAGE:
            info = self.index.message(f.type_name)
            return f"ProtoArena.cast(try {expr}.buildCMessage(in: arena), to: {info.c_type}.self)"
        raise GeneratorError(f"unsupported type {t}")

    def gen_encode_field(self, fld: Field):
        w = self.w
        p = fld.proto
        c = self.c_fields_path()
        sv = f"self.{fld.swift_name}"
        if fld.kind == "singular":
            if is_message(p):
                w(f"if let v = {sv} {{ {c}.{fld.c_name} = {self.c_value(p, 'v', fld.qualified, False)} }}")
            elif fld.oneof_c_case:
                # A float or double: written unless all bits are 0, so that
                # -0.0 survives (protobuf-c alone would drop it).
                w(f"if {sv}.bitPattern != 0 {{")
                w(f"    {c}.{fld.oneof_c_case} = .init(rawValue: {fld.number})")
                w(f"    {c}.{fld.c_name} = {sv}")
                w("}")
            else:
                w(f"{c}.{fld.c_name} = {self.c_value(p, sv, fld.qualified, False)}")
        elif fld.kind == "optional":
            w(f"if let v = {sv} {{")
            w.indent()
            w(f"{c}.{fld.oneof_c_case} = .init(rawValue: {fld.number})")
            w(f"{c}.{fld.c_name} = {self.c_value(p, 'v', fld.qualified, True)}")
            w.dedent()
            w("}")
        elif fld.kind == "repeated":
            w(f"{c}.n_{fld.c_name} = {sv}.count")
            if p.type in PLAIN_C_SCALARS:
                w(f"{c}.{fld.c_name} = arena.copy({sv})")
            else:
                inner = self.c_value(p, "v", fld.qualified, False)
                throws = "throws(ProtoEncodingError) " if inner.startswith("try") or "try " in inner else ""
                w(f"{c}.{fld.c_name} = {'try ' if throws else ''}arena.map({sv}) {{ v {throws}in {inner} }}")
        elif fld.kind == "map":
            self.gen_encode_map(fld)

    def gen_encode_map(self, fld: Field):
        w = self.w
        c = self.c_fields_path()
        entry = fld.map_entry
        key, value = fld.map_key, fld.map_value
        sv = f"self.{fld.swift_name}"
        if key.type == FDP.TYPE_BOOL:
            order = "{ !$0.key && $1.key }"
        elif key.type == FDP.TYPE_STRING:
            order = "{ $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }"
        else:
            order = "{ $0.key < $1.key }"
        w(f"{c}.n_{fld.c_name} = {sv}.count")
        w(f"{c}.{fld.c_name} = try arena.map({sv}.sorted(by: {order})) {{ entry throws(ProtoEncodingError) in")
        w.indent()
        w(f"let e = arena.allocate({entry.c_type}.self)")
        w(f"{entry.c_lower}__init(e)")
        key_c = c_field_name(key.name)
        value_c = c_field_name(value.name)
        w("e.pointee._key_case = .init(rawValue: 1)")
        w(f"e.pointee.{key_c} = {self.c_value(key, 'entry.key', fld.qualified, True)}")
        w("e.pointee._value_case = .init(rawValue: 2)")
        w(f"e.pointee.{value_c} = {self.c_value(value, 'entry.value', fld.qualified, True)}")
        w("return e")
        w.dedent()
        w("}")

    def gen_encode_oneof(self, oneof: Oneof):
        w = self.w
        c = self.c_fields_path()
        w(f"switch self.{oneof.swift_property} {{")
        for fld in oneof.fields:
            w(f"case .{fld.swift_name}(let v)?:")
            w.indent()
            w(f"{c}.{oneof.c_case} = .init(rawValue: {fld.number})")
            w(f"{c}.{fld.c_name} = {self.c_value(fld.proto, 'v', fld.qualified, True)}")
            w.dedent()
        w("case nil:")
        w("    break")
        w("}")

    # Decoding: C member -> Swift value expression.

    def swift_value(self, f: descriptor_pb2.FieldDescriptorProto, expr: str, qualified: str) -> str:
        t = f.type
        if t in PLAIN_C_SCALARS:
            return expr
        if t == FDP.TYPE_BOOL:
            return f"{expr} != 0"
        if t == FDP.TYPE_ENUM:
            return f"{self.swift_type(f)}(rawValue: Int32(truncatingIfNeeded: {expr}.rawValue))"
        if t == FDP.TYPE_STRING:
            return f"try ProtoDecoding.string({expr}, field: {swift_string(qualified)})"
        if t == FDP.TYPE_BYTES:
            return f"ProtoDecoding.bytes({expr})"
        if t == FDP.TYPE_MESSAGE:
            return f"try {self.swift_type(f)}(copying: ProtoDecoding.base(of: {expr}))"
        raise GeneratorError(f"unsupported type {t}")

    @staticmethod
    def local(swift_name: str) -> str:
        """The local holding a decoded field until the memberwise init."""
        return "_" + swift_name.strip("`")

    def gen_decode_field(self, fld: Field):
        w = self.w
        p = fld.proto
        c = self.c_fields_path()
        sv = self.local(fld.swift_name)
        member = f"{c}.{fld.c_name}"
        if fld.kind == "singular":
            if is_message(p):
                w(f"let {sv}: {self.property_type(fld)}")
                w(f"if let p = {member} {{ {sv} = {self.swift_value(p, 'p', fld.qualified)} }} else {{ {sv} = nil }}")
            elif fld.oneof_c_case:
                w(f"let {sv} = {c}.{fld.oneof_c_case}.rawValue == {fld.number} ? {member} : 0")
            else:
                w(f"let {sv} = {self.swift_value(p, member, fld.qualified)}")
        elif fld.kind == "optional":
            if is_message(p):
                w(f"let {sv}: {self.property_type(fld)}")
                w(f"if {c}.{fld.oneof_c_case}.rawValue == {fld.number}, let p = {member} {{ "
                  f"{sv} = {self.swift_value(p, 'p', fld.qualified)} }} else {{ {sv} = nil }}")
            else:
                w(f"let {sv}: {self.property_type(fld)} = "
                  f"{c}.{fld.oneof_c_case}.rawValue == {fld.number} ? {self.swift_value(p, member, fld.qualified)} : nil")
        elif fld.kind == "repeated":
            count = f"{c}.n_{fld.c_name}"
            if p.type in PLAIN_C_SCALARS:
                w(f"let {sv} = ProtoDecoding.array({member}, count: {count})")
            elif is_message(p):
                w(f"let {sv} = try ProtoDecoding.messages({member}, count: {count}, as: {self.swift_type(p)}.self)")
            else:
                inner = self.swift_value(p, "v", fld.qualified)
                throws = "throws(ProtoDecodingError) " if "try " in inner else ""
                w(f"let {sv} = {'try ' if throws else ''}ProtoDecoding.map({member}, count: {count}) {{ v {throws}in {inner} }}")
        elif fld.kind == "map":
            self.gen_decode_map(fld)

    def gen_decode_map(self, fld: Field):
        w = self.w
        c = self.c_fields_path()
        key, value = fld.map_key, fld.map_value
        key_c = c_field_name(key.name)
        value_c = c_field_name(value.name)
        sv = self.local(fld.swift_name)
        w(f"let {sv} = try ProtoDecoding.dictionary({c}.{fld.c_name}, count: {c}.n_{fld.c_name}) {{ e throws(ProtoDecodingError) in")
        w.indent()
        kdef = self.default_value(key)
        w(f"let key = e.pointee._key_case.rawValue == 1 ? {self.swift_value(key, 'e.pointee.' + key_c, fld.qualified)} : {kdef}")
        if is_message(value):
            w(f"let value: {self.swift_type(value)}")
            w(f"if e.pointee._value_case.rawValue == 2, let p = e.pointee.{value_c} {{ "
              f"value = {self.swift_value(value, 'p', fld.qualified)} }} else {{ value = {self.swift_type(value)}() }}")
        else:
            vdef = self.default_value(value)
            w(f"let value = e.pointee._value_case.rawValue == 2 ? {self.swift_value(value, 'e.pointee.' + value_c, fld.qualified)} : {vdef}")
        w("return (key, value)")
        w.dedent()
        w("}")

    def gen_decode_oneof(self, oneof: Oneof):
        w = self.w
        c = self.c_fields_path()
        sv = self.local(oneof.swift_property)
        w(f"let {sv}: {oneof.swift_enum}?")
        w(f"switch {c}.{oneof.c_case}.rawValue {{")
        for fld in oneof.fields:
            w(f"case {fld.number}:")
            w.indent()
            member = f"{c}.{fld.c_name}"
            if is_message(fld.proto):
                w(f"if let p = {member} {{ {sv} = .{fld.swift_name}({self.swift_value(fld.proto, 'p', fld.qualified)}) }} else {{ {sv} = nil }}")
            else:
                w(f"{sv} = .{fld.swift_name}({self.swift_value(fld.proto, member, fld.qualified)})")
            w.dedent()
        w("default:")
        w(f"    {sv} = nil")
        w("}")
