"""Names: the Swift modules per proto package, protoc-c's C naming rules
(protobuf-c 1.4.1, protoc-c/c_helpers.cc) and Swift naming."""

from __future__ import annotations

from typing import Dict, List, Tuple

from google.protobuf import descriptor_pb2


FDP = descriptor_pb2.FieldDescriptorProto

# Proto package -> (Swift module, whether the module may use CaravanCore).
MODULES: Dict[str, Tuple[str, bool]] = {
    "caravan.rpc.v1": ("CaravanEnvelope", False),
    "caravan.health.v1": ("CaravanHealthAPI", True),
    "caravan.reflection.v1": ("CaravanReflectionAPI", True),
    "caravan.echo.v1": ("CaravanEchoAPI", True),
    "caravan.trade.v1": ("CaravanTradeAPI", True),
    "caravan.logistics.v1": ("CaravanLogisticsAPI", True),
    "caravan.training.v1": ("CaravanTrainingAPI", True),
    "caravan.gateway.v1": ("CaravanGatewayAPI", True),
    "caravan.testing.v1": ("CaravanTestingAPI", True),
}

GENERATOR_NAME = "Proto/generate.sh"


class GeneratorError(Exception):
    """A .proto construct the generator refuses, with a message for humans."""


# --------------------------------------------------------------------------
# protoc-c's naming rules (protobuf-c 1.4.1, protoc-c/c_helpers.cc)
# --------------------------------------------------------------------------

C_KEYWORDS = {
    "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case",
    "catch", "char", "class", "compl", "const", "const_cast", "continue",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum",
    "explicit", "extern", "false", "float", "for", "friend", "goto", "if",
    "inline", "int", "long", "mutable", "namespace", "new", "not", "not_eq",
    "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "return", "short", "signed", "sizeof", "static",
    "static_cast", "struct", "switch", "template", "this", "throw", "true", "try",
    "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual",
    "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
}


def _is_c_upper(ch: str) -> bool:
    return "A" <= ch <= "Z"


def c_camel_to_lower(name: str) -> str:
    was_upper = True
    out = []
    for ch in name:
        is_upper = _is_c_upper(ch)
        if is_upper:
            if not was_upper:
                out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
        was_upper = is_upper
    return "".join(out)


def c_to_camel(name: str) -> str:
    out = []
    next_upper = True
    for ch in name:
        if ch == "_":
            next_upper = True
        elif next_upper:
            out.append(ch.upper())
            next_upper = False
        else:
            out.append(ch)
    return "".join(out)


def c_full_name_to_c(full_name: str) -> str:
    return "__".join(c_to_camel(p) for p in full_name.split(".") if p)


def c_full_name_to_lower(full_name: str) -> str:
    return "__".join(c_camel_to_lower(p) for p in full_name.split(".") if p)


def c_field_name(name: str) -> str:
    result = name.lower()
    return result + "_" if result in C_KEYWORDS else result


# --------------------------------------------------------------------------
# Swift naming
# --------------------------------------------------------------------------

SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate",
    "func", "import", "init", "inout", "internal", "let", "open", "operator",
    "private", "precedencegroup", "protocol", "public", "rethrows", "static",
    "struct", "subscript", "typealias", "var", "break", "case", "catch",
    "continue", "default", "defer", "do", "else", "fallthrough", "for",
    "guard", "if", "in", "repeat", "return", "throw", "switch", "where",
    "while", "Any", "as", "await", "false", "is", "nil", "self", "Self",
    "super", "throws", "true", "try", "_", "Protocol", "Type",
}

# Type names the generated code refers to unqualified; a proto type of the
# same name would shadow them.
RESERVED_TYPE_NAMES = {
    "String", "Int", "Int32", "Int64", "UInt32", "UInt64", "UInt8", "Float",
    "Double", "Bool", "Array", "Dictionary", "Optional", "Result", "Error",
    "Sendable", "Equatable", "Hashable", "Codable", "Encoder", "Decoder",
    "StaticString", "Never", "Type", "Protocol", "Self", "Any",
    "ProtoMessage", "ProtoEnum", "ProtoArena", "ProtoEncodingError",
    "ProtoDecodingError", "ProtoDecoding", "ProtoJSON", "ProtoJSONKey",
    "ProtobufCMessage", "ProtobufCMessageDescriptor", "CodingKeys",
}

# Member names the generated code declares on every message.
RESERVED_MEMBER_NAMES = {
    "protoMessageName", "protobufCDescriptor", "buildCMessage", "encode",
    "hashValue",
}


def swift_escape(name: str) -> str:
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def lower_camel(snake: str) -> str:
    """`interval_millis` -> `intervalMillis`; `ListServices` -> `listServices`."""
    parts = [p for p in snake.split("_") if p]
    if not parts:
        return snake
    first = parts[0]
    # Lower a leading run of capitals ("HTTPRequest" -> "httpRequest").
    i = 0
    while i < len(first) and first[i].isupper():
        i += 1
    if i == 0:
        head = first
    elif i == len(first) or i == 1:
        head = first[:i].lower() + first[i:]
    else:
        head = first[: i - 1].lower() + first[i - 1:]
    return head + "".join(p[0].upper() + p[1:] for p in parts[1:])


def upper_camel(snake: str) -> str:
    s = lower_camel(snake)
    return s[:1].upper() + s[1:]


def upper_snake(camel: str) -> str:
    """`ServingStatus` -> `SERVING_STATUS`."""
    out = []
    for i, ch in enumerate(camel):
        if ch.isupper() and i > 0 and (camel[i - 1].islower() or camel[i - 1].isdigit()):
            out.append("_")
        out.append(ch.upper())
    return "".join(out)


def enum_case_names(enum_name: str, values: List[str]) -> List[str]:
    """Swift names of enum values: the enum-name prefix dropped, lowerCamelCase."""
    prefix = upper_snake(enum_name) + "_"

    def convert(value: str, strip: bool) -> str:
        raw = value[len(prefix):] if strip and value.startswith(prefix) else value
        return lower_camel(raw.lower())

    stripped = [convert(v, True) for v in values]
    ok = all(s and not s[0].isdigit() for s in stripped)
    # Aliases (allow_alias) may share a number but must not share a name.
    pairs = list(zip(values, stripped))
    names_by_value: Dict[str, str] = {}
    for v, s in pairs:
        names_by_value.setdefault(s, v)
    if ok and len(names_by_value) == len(set(values)):
        return stripped
    return [convert(v, False) for v in values]
