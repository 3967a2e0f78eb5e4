"""The OpenAPI 3.1 document of the gateway's HTTP/JSON door, from the
descriptor set: a path per routed method, the aggregates' GET routes and
the door's own routes, and a schema per message and enum in proto3's
canonical JSON mapping (JSON names, 64-bit integers as strings, enums by
name, bytes as base64, defaults left out), with the .proto comments as
descriptions.

What the door serves is decided in Swift (GatewayHTTPServer.swift);
GATEWAY_SERVICES and the routes below say the same thing for the document,
and a test compares the router's routes with the document's paths.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

from google.protobuf import descriptor_pb2

from .model import Index, is_enum, is_message
from .naming import FDP, GENERATOR_NAME, GeneratorError

# The services the gateway's RPC router serves, so its HTTP door too: the
# aggregates, the three backends (forwarded), health and reflection.
GATEWAY_SERVICES = [
    "caravan.gateway.v1.Gateway",
    "caravan.trade.v1.TradeService",
    "caravan.logistics.v1.LogisticsService",
    "caravan.training.v1.TrainingService",
    "caravan.health.v1.Health",
    "caravan.reflection.v1.Reflection",
]

# GET routes of the aggregates and of resources with a path of their own:
# (path, method, the fields set from the path and query).
AGGREGATE_ROUTES = [
    ("/v1/countries/{code}/profile", "caravan.gateway.v1.Gateway.CountryProfile", {"code": "country"}, ["year"]),
    ("/v1/overview", "caravan.gateway.v1.Gateway.PartnershipOverview", {}, ["year"]),
    ("/v1/energy-projects", "caravan.trade.v1.TradeService.ListEnergyProjects", {}, ["country"]),
]

INT32_TYPES = {FDP.TYPE_INT32, FDP.TYPE_SINT32, FDP.TYPE_SFIXED32}
UINT32_TYPES = {FDP.TYPE_UINT32, FDP.TYPE_FIXED32}
INT64_TYPES = {FDP.TYPE_INT64, FDP.TYPE_SINT64, FDP.TYPE_SFIXED64}
UINT64_TYPES = {FDP.TYPE_UINT64, FDP.TYPE_FIXED64}

HTTP_STATUS_BY_CODE = [
    (0, "OK", 200), (1, "CANCELLED", 499), (2, "UNKNOWN", 500), (3, "INVALID_ARGUMENT", 400),
    (4, "DEADLINE_EXCEEDED", 504), (5, "NOT_FOUND", 404), (6, "ALREADY_EXISTS", 409),
    (7, "PERMISSION_DENIED", 403), (8, "RESOURCE_EXHAUSTED", 429), (9, "FAILED_PRECONDITION", 400),
    (10, "ABORTED", 409), (11, "OUT_OF_RANGE", 400), (12, "UNIMPLEMENTED", 501), (13, "INTERNAL", 500),
    (14, "UNAVAILABLE", 503), (15, "DATA_LOSS", 500), (16, "UNAUTHENTICATED", 401),
]


def comment_text(index: Index, file_name: str, path: List[int]) -> Optional[str]:
    """The leading (or else trailing) comment at `path`, as plain text."""
    fd = index.files[file_name]
    for loc in fd.source_code_info.location:
        if list(loc.path) == path:
            text = loc.leading_comments or loc.trailing_comments
            lines = [l[1:] if l.startswith(" ") else l for l in text.rstrip("\n").split("\n")]
            joined = "\n".join(l.rstrip() for l in lines).strip()
            return joined or None
    return None


def first_sentence(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    paragraph = text.split("\n\n")[0].replace("\n", " ")
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]


class OpenAPIBuilder:
    def __init__(self, index: Index):
        self.index = index
        self.schemas: Dict[str, dict] = {}
        self.services: Dict[str, Tuple[str, int, descriptor_pb2.ServiceDescriptorProto]] = {}
        for name, fd in index.files.items():
            for si, s in enumerate(fd.service):
                self.services[f"{fd.package}.{s.name}"] = (name, si, s)

    # -- schemas --------------------------------------------------------------

    def ref(self, full_name: str) -> dict:
        if full_name in self.index.messages:
            self.message_schema(full_name)
        else:
            self.enum_schema(full_name)
        return {"$ref": f"#/components/schemas/{full_name}"}

    def enum_schema(self, full_name: str):
        if full_name in self.schemas:
            return
        info = self.index.enum(full_name)
        names = [v.name for v in info.proto.value]
        described = []
        for i, v in enumerate(info.proto.value):
            text = comment_text(self.index, info.file, info.source_path + [2, i])
            if text:
                described.append(f"- `{v.name}`: {text.replace(chr(10), ' ')}")
        schema = OrderedDict()
        schema["type"] = "string"
        schema["enum"] = names
        description = comment_text(self.index, info.file, info.source_path) or f"The enum `{full_name}`."
        description += "\n\nWritten by name; a request may also give the number."
        if described:
            description += "\n\n" + "\n".join(described)
        schema["description"] = description
        self.schemas[full_name] = schema

    def scalar_schema(self, f: descriptor_pb2.FieldDescriptorProto) -> dict:
        t = f.type
        if t in INT32_TYPES:
            return {"type": "integer", "format": "int32"}
        if t in UINT32_TYPES:
            return {"type": "integer", "format": "uint32", "minimum": 0, "maximum": 4294967295}
        if t in INT64_TYPES:
            return {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$",
                    "description": "A 64-bit integer, written as a decimal string (a number is accepted)."}
        if t in UINT64_TYPES:
            return {"type": "string", "format": "uint64", "pattern": "^[0-9]+$",
                    "description": "An unsigned 64-bit integer, written as a decimal string (a number is accepted)."}
        if t in (FDP.TYPE_DOUBLE, FDP.TYPE_FLOAT):
            return {"anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity", "-0"]}]}
        if t == FDP.TYPE_BOOL:
            return {"type": "boolean"}
        if t == FDP.TYPE_STRING:
            return {"type": "string"}
        if t == FDP.TYPE_BYTES:
            return {"type": "string", "contentEncoding": "base64"}
        raise GeneratorError(f"{f.name}: no JSON schema for field type {t}")

    def value_schema(self, f: descriptor_pb2.FieldDescriptorProto) -> dict:
        if is_message(f) or is_enum(f):
            return self.ref(f.type_name.lstrip("."))
        return self.scalar_schema(f)

    def message_schema(self, full_name: str):
        if full_name in self.schemas:
            return
        info = self.index.message(full_name)
        schema: dict = OrderedDict()
        self.schemas[full_name] = schema  # placed first: keeps recursion finite
        schema["type"] = "object"
        schema["description"] = comment_text(self.index, info.file, info.source_path) or f"The message `{full_name}`."
        properties: dict = OrderedDict()
        oneofs: Dict[int, List[str]] = {}
        for k, f in enumerate(info.proto.field):
            json_name = f.json_name or f.name
            if f.label == FDP.LABEL_REPEATED and is_message(f) and self.index.message(f.type_name).is_map_entry:
                entry = self.index.message(f.type_name).proto
                key, value = entry.field[0], entry.field[1]
                prop = {"type": "object", "additionalProperties": self.value_schema(value)}
                if key.type != FDP.TYPE_STRING:
                    prop["propertyNames"] = {"pattern": "^(true|false|-?[0-9]+)$"}
            elif f.label == FDP.LABEL_REPEATED:
                prop = {"type": "array", "items": self.value_schema(f)}
            else:
                prop = dict(self.value_schema(f))
            text = comment_text(self.index, info.file, info.source_path + [2, k])
            if "$ref" in prop:
                # 3.1: a $ref may have siblings; the description is the field's.
                prop = OrderedDict([("$ref", prop["$ref"])])
            if text:
                prop["description"] = text
            if f.HasField("oneof_index") and not f.proto3_optional:
                oneofs.setdefault(f.oneof_index, []).append(json_name)
            properties[json_name] = prop
        schema["properties"] = properties
        exclusive = [names for names in oneofs.values() if len(names) > 1]
        if exclusive:
            schema["description"] += "".join(
                f"\n\nAt most one of {', '.join(f'`{n}`' for n in names)} is set." for names in exclusive)
            schema["not"] = {"anyOf": [{"required": [a, b]} for names in exclusive
                                       for i, a in enumerate(names) for b in names[i + 1:]]}

    # -- operations -----------------------------------------------------------

    def method(self, full_method: str):
        service, _, name = full_method.rpartition(".")
        file_name, si, s = self.services[service]
        for mi, m in enumerate(s.method):
            if m.name == name:
                return file_name, si, mi, m
        raise GeneratorError(f"no method {full_method}")

    def operation(self, service: str, file_name: str, si: int, mi: int, m, suffix: str = "") -> dict:
        op: dict = OrderedDict()
        op["operationId"] = f"{service}.{m.name}{suffix}"
        op["tags"] = [service]
        text = comment_text(self.index, file_name, [6, si, 2, mi])
        op["summary"] = first_sentence(text) or f"{service}/{m.name}"
        if text:
            op["description"] = text
        return op

    def call_parameters(self) -> List[dict]:
        return [{"$ref": f"#/components/parameters/{name}"}
                for name in ("Timeout", "IdempotencyKey", "Traceparent", "Tracestate")]

    def unary_responses(self, output: str) -> dict:
        return OrderedDict([
            ("200", {"description": "The answer.", "headers": {"X-Trace-Id": {"$ref": "#/components/headers/TraceId"}},
                     "content": {"application/json": {"schema": self.ref(output)}}}),
            ("default", {"$ref": "#/components/responses/Error"}),
        ])

    def stream_responses(self, output: str) -> dict:
        line = {
            "description": "One line of a JSON-lines stream: `result` per message; `error` last when the call failed.",
            "type": "object",
            "properties": OrderedDict([("result", self.ref(output)), ("error", {"$ref": "#/components/schemas/Status"})]),
        }
        return OrderedDict([
            ("200", {
                "description": (
                    f"The stream of `{output}` messages. With `Accept: text/event-stream`: server-sent events, "
                    "each message as `event: message` with one line of JSON, the end as `event: status` with "
                    "a `Status` (code 0 when it ended OK), and a `: keepalive` comment every 15 s while idle. "
                    "Otherwise JSON lines (`application/x-ndjson`), one `{\"result\": …}` per message and, when "
                    "the call failed after its first message, a last `{\"error\": …}`. An error before the "
                    "stream opened is an ordinary error response."),
                "headers": {"X-Trace-Id": {"$ref": "#/components/headers/TraceId"}},
                "content": OrderedDict([
                    ("text/event-stream", {"schema": {"type": "string"}}),
                    ("application/x-ndjson", {"schema": line}),
                ]),
            }),
            ("default", {"$ref": "#/components/responses/Error"}),
        ])

    def query_parameters(self, message: str, prefix: str = "", seen: Tuple[str, ...] = ()) -> List[dict]:
        """A GET's query parameters: the message's scalar and enum fields, dotted for nested ones."""
        info = self.index.message(message)
        out: List[dict] = []
        for k, f in enumerate(info.proto.field):
            name = prefix + (f.json_name or f.name)
            if is_message(f):
                target = f.type_name.lstrip(".")
                if f.label == FDP.LABEL_REPEATED or target in seen:
                    continue  # lists of messages and maps take a JSON body (POST)
                out += self.query_parameters(target, name + ".", seen + (message,))
                continue
            schema = self.value_schema(f)
            if f.label == FDP.LABEL_REPEATED:
                schema = {"type": "array", "items": schema}
            param = OrderedDict([("name", name), ("in", "query"), ("required", False), ("schema", schema)])
            text = comment_text(self.index, info.file, info.source_path + [2, k])
            if text:
                param["description"] = text
            if f.label == FDP.LABEL_REPEATED:
                param["style"] = "form"
                param["explode"] = True
            out.append(param)
        return out

    def rpc_paths(self, paths: dict):
        for service in GATEWAY_SERVICES:
            if service not in self.services:
                raise GeneratorError(f"the gateway routes {service}, which no .proto file declares")
            file_name, si, s = self.services[service]
            for mi, m in enumerate(s.method):
                if m.client_streaming:
                    continue  # not served over HTTP
                input_type, output_type = m.input_type.lstrip("."), m.output_type.lstrip(".")
                item: dict = OrderedDict()
                body = {"required": False, "description": "The request in proto3 JSON; an empty body is `{}`.",
                        "content": {"application/json": {"schema": self.ref(input_type)}}}
                post = self.operation(service, file_name, si, mi, m)
                post["parameters"] = self.call_parameters()
                post["requestBody"] = body
                if m.server_streaming:
                    post["parameters"] = post["parameters"] + [{"$ref": "#/components/parameters/Accept"}]
                    post["responses"] = self.stream_responses(output_type)
                    get = self.operation(service, file_name, si, mi, m, ".Get")
                    get["description"] = (get.get("description", "") + "\n\n" if get.get("description") else "") + (
                        "The request's fields as query parameters (proto3 JSON names; dotted for nested "
                        "messages), for browsers' `EventSource`.")
                    get["parameters"] = (self.query_parameters(input_type) + self.call_parameters()
                                         + [{"$ref": "#/components/parameters/Accept"}])
                    get["responses"] = self.stream_responses(output_type)
                    item["get"] = get
                else:
                    post["responses"] = self.unary_responses(output_type)
                item["post"] = post
                paths[f"/v1/{service}/{m.name}"] = item

    def aggregate_paths(self, paths: dict):
        for path, full_method, from_path, from_query in AGGREGATE_ROUTES:
            file_name, si, mi, m = self.method(full_method)
            service = full_method.rpartition(".")[0]
            info = self.index.message(m.input_type)
            fields = {f.json_name or f.name: (k, f) for k, f in enumerate(info.proto.field)}
            params = []
            for placeholder, field in from_path.items():
                k, f = fields[field]
                params.append(OrderedDict([
                    ("name", placeholder), ("in", "path"), ("required", True), ("schema", self.value_schema(f)),
                    ("description", comment_text(self.index, info.file, info.source_path + [2, k]) or field)]))
            for field in from_query:
                k, f = fields[field]
                if field == "year":
                    schema, text = {"type": "integer", "format": "uint32"}, "The year (1992 to this year); last year when absent."
                else:
                    schema = self.value_schema(f)
                    text = comment_text(self.index, info.file, info.source_path + [2, k]) or field
                params.append(OrderedDict([
                    ("name", field), ("in", "query"), ("required", False), ("schema", schema), ("description", text)]))
            get = self.operation(service, file_name, si, mi, m, ".Get")
            get["parameters"] = params + [{"$ref": f"#/components/parameters/{p}"}
                                          for p in ("Timeout", "Traceparent", "Tracestate")]
            get["responses"] = self.unary_responses(m.output_type.lstrip("."))
            paths[path] = {"get": get}

    # -- the document -----------------------------------------------------------

    def build(self) -> dict:
        paths: dict = OrderedDict()
        self.aggregate_paths(paths)
        self.rpc_paths(paths)
        paths.update(door_paths())
        code_table = "\n".join(f"| {code} | `{name}` | {status} |" for code, name, status in HTTP_STATUS_BY_CODE)
        self.schemas["Status"] = OrderedDict([
            ("type", "object"),
            ("description", "The error body (and a stream's end): the RPC status code, a message for people, "
                            "and details (empty).\n\n| code | name | HTTP status |\n| --- | --- | --- |\n"
                            + code_table),
            ("required", ["code", "message", "details"]),
            ("properties", OrderedDict([
                ("code", {"type": "integer", "minimum": 0, "maximum": 16}),
                ("message", {"type": "string"}),
                ("details", {"type": "array", "items": {}}),
            ])),
        ])
        self.schemas["Readiness"] = readiness_schema()
        doc: dict = OrderedDict()
        doc["openapi"] = "3.1.0"
        doc["info"] = OrderedDict([
            ("title", "Caravan gateway HTTP/JSON API"),
            ("version", "v1"),
            ("description", (
                f"Generated by {GENERATOR_NAME} from the .proto files; do not edit. Every method the "
                "gateway routes, in proto3's canonical JSON mapping: field names in lowerCamelCase, 64-bit "
                "integers as strings, enums by name, bytes as base64, fields at their default left out. "
                "Errors are a `Status` with the HTTP status of its code. docs/HTTP.md explains it all.")),
        ])
        doc["servers"] = [{"url": "http://127.0.0.1:8080", "description": "deploy/local/run.sh"}]
        doc["security"] = [{}, {"bearer": []}]
        doc["tags"] = [{"name": s, "description": comment_text(self.index, self.services[s][0],
                                                                 [6, self.services[s][1]]) or s}
                       for s in GATEWAY_SERVICES] + [{"name": "door", "description": "The HTTP door's own routes."}]
        doc["paths"] = paths
        doc["components"] = OrderedDict([
            ("schemas", OrderedDict(sorted(self.schemas.items()))),
            ("parameters", call_parameter_components()),
            ("headers", {"TraceId": {"description": "The trace the call ran in (W3C trace id), to find its log lines.",
                                     "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}}),
            ("responses", {"Error": {
                "description": "The call failed: its status, with the HTTP status of its code (see `Status`). "
                               "401 carries `WWW-Authenticate: Bearer`; 429 carries `Retry-After` (seconds).",
                "headers": {
                    "X-Trace-Id": {"$ref": "#/components/headers/TraceId"},
                    "Retry-After": {"description": "With 429: seconds to wait before trying again.",
                                    "schema": {"type": "string", "pattern": "^[0-9]+$"}},
                    "WWW-Authenticate": {"description": "With 401: the scheme to use (`Bearer`).",
                                         "schema": {"type": "string"}},
                },
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}}),
            ("securitySchemes", {"bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "HS256 tokens with `read` and `write` scopes (docs/SECURITY.md), when the gateway "
                               "has a key (`--auth-key-file`); otherwise no token is needed. Health needs none."}}),
        ])
        return doc


def call_parameter_components() -> dict:
    def header(name: str, description: str, schema: dict) -> dict:
        return OrderedDict([("name", name), ("in", "header"), ("required", False),
                            ("description", description), ("schema", schema)])
    return OrderedDict([
        ("Timeout", header("X-Caravan-Timeout",
                           "The call's deadline, e.g. `500ms`, `2s`, `1m`. Unary calls default to 10 s; "
                           "streams have none unless given.",
                           {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h)$"})),
        ("IdempotencyKey", header("Idempotency-Key",
                                  "For writes: a repeat with the same key returns the first answer and stores nothing.",
                                  {"type": "string"})),
        ("Traceparent", header("traceparent", "W3C trace context to continue.", {"type": "string"})),
        ("Tracestate", header("tracestate", "W3C trace state, with `traceparent`.", {"type": "string"})),
        ("Accept", header("Accept", "`text/event-stream` for server-sent events; JSON lines otherwise.",
                          {"type": "string"})),
    ])


def readiness_schema() -> dict:
    replica = {"type": "object", "required": ["address", "healthy", "ejected", "outstanding"], "properties": {
        "address": {"type": "string"}, "healthy": {"type": "boolean"}, "ejected": {"type": "boolean"},
        "outstanding": {"type": "integer"}}}
    backend = {"type": "object", "required": ["configured", "ready", "replicas"], "properties": {
        "configured": {"type": "boolean"}, "ready": {"type": "boolean"},
        "replicas": {"type": "array", "items": replica}}}
    return OrderedDict([
        ("type", "object"),
        ("description", "Whether every configured backend has a usable replica, and each replica's state."),
        ("required", ["ready", "backends"]),
        ("properties", {"ready": {"type": "boolean"}, "backends": {"type": "object", "additionalProperties": backend}}),
    ])


def door_paths() -> dict:
    def get(operation_id: str, summary: str, responses: dict) -> dict:
        return {"get": OrderedDict([("operationId", operation_id), ("tags", ["door"]), ("summary", summary),
                                    ("security", [{}]), ("responses", responses)])}
    return OrderedDict([
        ("/healthz", get("healthz", "Liveness: 200 while the process serves.", {"200": {
            "description": "Alive.", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status"], "properties": {"status": {"const": "alive"}}}}}}})),
        ("/readyz", get("readyz", "Readiness: 200 when every configured backend has a usable replica, 503 otherwise.", {
            "200": {"description": "Ready.", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Readiness"}}}},
            "503": {"description": "Not ready.", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Readiness"}}}}})),
        ("/metrics", get("metrics", "Prometheus metrics, when the gateway runs with metrics on (--metrics-port).", {
            "200": {"description": "The text exposition format.",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
            "404": {"description": "Metrics are off."}})),
        ("/openapi.json", get("openapi", "This document.", {"200": {
            "description": "The OpenAPI 3.1 document.", "content": {"application/json": {"schema": {"type": "object"}}}}})),
        ("/", get("dashboard", "The dashboard page.", {"200": {
            "description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}}})),
        ("/assets/{name}", {"get": OrderedDict([
            ("operationId", "dashboardAsset"), ("tags", ["door"]),
            ("summary", "A file of the dashboard page (its scripts and style sheet), served with the page."),
            ("security", [{}]),
            ("parameters", [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                             "description": "The file's name, e.g. dashboard.js."}]),
            ("responses", {
                "200": {"description": "The file.", "content": {
                    "text/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}},
                "404": {"description": "No such file.", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Status"}}}}}),
        ])}),
    ])


def gen_openapi_json(index: Index) -> str:
    return json.dumps(OpenAPIBuilder(index).build(), indent=2, ensure_ascii=False) + "\n"


def gen_openapi_swift(document: str) -> str:
    hashes = "#"
    while f'"{hashes}' in document or f'\\{hashes}' in document:
        hashes += "#"
    return (
        f"// Generated by {GENERATOR_NAME} from the .proto files. Do not edit.\n"
        "//\n"
        "// swift-format-ignore-file\n"
        "\n"
        "/// The OpenAPI 3.1 document of the gateway's HTTP/JSON door, served at\n"
        "/// `/openapi.json` (the same text as Proto/OpenAPI/gateway.openapi.json).\n"
        "public enum GatewayOpenAPI {\n"
        f"    public static let document: String = {hashes}\"\"\"\n"
        f"{document}"
        f"\"\"\"{hashes}\n"
        "}\n"
    )
