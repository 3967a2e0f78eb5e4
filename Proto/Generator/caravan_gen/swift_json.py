"""Generated Codable conformances in the proto3 JSON mapping."""

from __future__ import annotations

from typing import Optional

from google.protobuf import descriptor_pb2

from .model import SCALARS, Field, MessageModel, is_enum, is_message
from .naming import FDP
from .writer import swift_string


class JSONCodegen:
    """encode(to:) and init(from:) of a message."""

    # -- JSON -----------------------------------------------------------------

    def json_wrapper(self, f: descriptor_pb2.FieldDescriptorProto) -> Optional[str]:
        if is_message(f) or is_enum(f):
            return None
        return SCALARS[f.type][1]

    def json_is_default(self, fld: Field, expr: str) -> str:
        """A condition true when `expr` must be written (is not the default)."""
        p = fld.proto
        if fld.kind in ("repeated", "map"):
            return f"!{expr}.isEmpty"
        if is_enum(p):
            return f"{expr}.rawValue != 0"
        t = p.type
        if t == FDP.TYPE_BOOL:
            return expr
        if t in (FDP.TYPE_STRING, FDP.TYPE_BYTES):
            return f"!{expr}.isEmpty"
        if t in (FDP.TYPE_FLOAT, FDP.TYPE_DOUBLE):
            return f"{expr}.bitPattern != 0"  # -0.0 is written, as in binary
        return f"{expr} != 0"

    def json_encode_value(self, f, expr: str) -> str:
        wrapper = self.json_wrapper(f)
        return f"{wrapper}({expr})" if wrapper else expr

    def json_keys(self, fld: Field) -> str:
        keys = swift_string(fld.json_name)
        if fld.proto.name != fld.json_name:
            keys += f", or: {swift_string(fld.proto.name)}"
        return keys

    def gen_json_conformance(self, model: MessageModel):
        w = self.w
        info = model.info
        w(f"extension {info.swift_name} {{")
        w.indent()
        w("public func encode(to encoder: any Encoder) throws {")
        w.indent()
        if model.fields:
            w("var container = encoder.container(keyedBy: ProtoJSONKey.self)")
        else:
            w("_ = encoder.container(keyedBy: ProtoJSONKey.self)")
        for fld in model.plain_fields:
            self.gen_json_encode_field(fld)
        for oneof in model.oneofs:
            w(f"switch self.{oneof.swift_property} {{")
            for fld in oneof.fields:
                w(f"case .{fld.swift_name}(let v)?:")
                w(f"    try container.encode({self.json_encode_value(fld.proto, 'v')}, forKey: {swift_string(fld.json_name)})")
            w("case nil:")
            w("    break")
            w("}")
        w.dedent()
        w("}")
        w()
        w("public init(from decoder: any Decoder) throws {")
        w.indent()
        w("self.init()")
        if model.fields:
            w("let container = try decoder.container(keyedBy: ProtoJSONKey.self)")
        else:
            w("_ = try decoder.container(keyedBy: ProtoJSONKey.self)")
        for fld in model.plain_fields:
            self.gen_json_decode_field(fld)
        for oneof in model.oneofs:
            for fld in oneof.fields:
                t = self.json_decode_type(fld.proto)
                conv = ".value" if self.json_wrapper(fld.proto) else ""
                w(f"if let v = try container.decodeProto({t}.self, forKey: {self.json_keys(fld)}) {{")
                w.indent()
                w(f"try ProtoJSON.checkOneofUnset(self.{oneof.swift_property} == nil, oneof: {swift_string(oneof.name)}, in: container)")
                w(f"self.{oneof.swift_property} = .{fld.swift_name}(v{conv})")
                w.dedent()
                w("}")
        w.dedent()
        w("}")
        w.dedent()
        w("}")
        w()

    def json_decode_type(self, f) -> str:
        return self.json_wrapper(f) or self.swift_type(f)

    def gen_json_encode_field(self, fld: Field):
        w = self.w
        p = fld.proto
        sv = f"self.{fld.swift_name}"
        key = swift_string(fld.json_name)
        if fld.kind == "map":
            vw = self.json_wrapper(fld.map_value)
            vexpr = f"{sv}.mapValues {{ {vw}($0) }}" if vw else sv
            w(f"if !{sv}.isEmpty {{ try container.encodeProtoMap({vexpr}, forKey: {key}) }}")
        elif fld.kind == "repeated":
            wrapper = self.json_wrapper(p)
            vexpr = f"{sv}.map {{ {wrapper}($0) }}" if wrapper else sv
            w(f"if !{sv}.isEmpty {{ try container.encode({vexpr}, forKey: {key}) }}")
        elif fld.kind == "optional" or is_message(p):
            w(f"if let v = {sv} {{ try container.encode({self.json_encode_value(p, 'v')}, forKey: {key}) }}")
        else:
            w(f"if {self.json_is_default(fld, sv)} {{ try container.encode({self.json_encode_value(p, sv)}, forKey: {key}) }}")

    def gen_json_decode_field(self, fld: Field):
        w = self.w
        p = fld.proto
        sv = f"self.{fld.swift_name}"
        keys = self.json_keys(fld)
        if fld.kind == "map":
            kt = self.swift_type(fld.map_key)
            vw = self.json_wrapper(fld.map_value)
            vt = vw or self.swift_type(fld.map_value)
            conv = ".mapValues(\\.value)" if vw else ""
            w(f"if let v = try container.decodeProtoMap({kt}.self, {vt}.self, forKey: {keys}) {{ {sv} = v{conv} }}")
        elif fld.kind == "repeated":
            wrapper = self.json_wrapper(p)
            t = wrapper or self.swift_type(p)
            conv = ".map(\\.value)" if wrapper else ""
            w(f"if let v = try container.decodeProto([{t}].self, forKey: {keys}) {{ {sv} = v{conv} }}")
        else:
            wrapper = self.json_wrapper(p)
            t = wrapper or self.swift_type(p)
            conv = ".value" if wrapper else ""
            w(f"if let v = try container.decodeProto({t}.self, forKey: {keys}) {{ {sv} = v{conv} }}")
