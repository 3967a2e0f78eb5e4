"""Generated service code (schema, method descriptors, server protocol,
client) and the per-module registries."""

from __future__ import annotations

from typing import List

from google.protobuf import descriptor_pb2

from .model import Index, MessageInfo, module_for_package
from .naming import GENERATOR_NAME, RESERVED_TYPE_NAMES, GeneratorError, lower_camel, swift_escape
from .writer import Writer, byte_literal, swift_string


class ServiceCodegen:
    """The serialized file descriptor and the services of a file."""

    # -- file descriptor and services ---------------------------------------------

    def descriptor_enum_name(self, file_name: str) -> str:
        base = "".join(ch if ch.isalnum() else "_" for ch in file_name)
        return f"_ProtoFile_{base}"

    def gen_file_descriptor(self):
        w = self.w
        w(f"/// The serialized `google.protobuf.FileDescriptorProto` of `{self.f.name}`")
        w("/// (without source info), served by reflection.")
        w(f"enum {self.descriptor_enum_name(self.f.name)} {{")
        w.indent()
        w("static let serialized: [UInt8] = " + byte_literal(self.fds_no_source[self.f.name], w.pad))
        w.dedent()
        w("}")
        w()

    def transitive_imports(self) -> List[str]:
        out: List[str] = []

        def visit(name: str):
            for dep in self.index.files[name].dependency:
                if dep not in out:
                    out.append(dep)
                    visit(dep)
        visit(self.f.name)
        return out

    def gen_service(self, s: descriptor_pb2.ServiceDescriptorProto, si: int):
        if not self.has_core:
            raise GeneratorError(
                f"{self.f.name}: service {s.name} in package {self.f.package}, whose module "
                f"{self.module} does not depend on CaravanCore")
        w = self.w
        full = f"{self.f.package}.{s.name}"
        top_names = {m.swift_path[0] for m in self.index.top_messages[self.f.name]} | {
            e.swift_path[0] for e in self.index.top_enums[self.f.name]}
        # Other files of the same module share the namespace.
        for fname, fd in self.index.files.items():
            if fd.package == self.f.package:
                top_names |= {m.swift_path[0] for m in self.index.top_messages[fname]}
                top_names |= {e.swift_path[0] for e in self.index.top_enums[fname]}
        namespace = s.name
        if namespace in top_names:
            namespace = s.name + "Service"
        if namespace in top_names or namespace in RESERVED_TYPE_NAMES:
            raise GeneratorError(f"{full}: no free Swift name for the service namespace")
        base = s.name if s.name.endswith("Service") else s.name
        protocol = f"{s.name}Protocol" if s.name.endswith("Service") else f"{s.name}ServiceProtocol"
        client = f"{base}Client"
        spath = [6, si]
        methods = []
        for mi, m in enumerate(s.method):
            if m.client_streaming and m.server_streaming:
                kind = "bidirectionalStreaming"
            elif m.client_streaming:
                kind = "clientStreaming"
            elif m.server_streaming:
                kind = "serverStreaming"
            else:
                kind = "unary"
            inp = self.ref_message(self.index.message(m.input_type))
            out = self.ref_message(self.index.message(m.output_type))
            methods.append((m, lower_camel(m.name), kind, inp, out, spath + [2, mi]))
        # Namespace with the schema and method descriptors.
        w.extend(self.comments.doc(spath, w.pad) or [f"{w.pad}/// The service `{full}`: its schema and method descriptors."])
        w(f"public enum {namespace} {{")
        w.indent()
        w(f"/// The schema of `{full}`: methods for routing and tools, descriptors for reflection.")
        w("public static let schema = CaravanCore.ServiceSchema(")
        w.indent()
        w(f"name: {swift_string(full)},")
        w(f"file: {swift_string(self.f.name)},")
        w("methods: [")
        w.indent()
        for (m, mname, kind, inp, out, _) in methods:
            w(f"CaravanCore.MethodSchema(descriptor: Method.{swift_escape(mname)}, kind: .{kind}, inputType: {inp}.self, outputType: {out}.self),")
        w.dedent()
        w("],")
        w("fileDescriptorProtos: [")
        w.indent()
        w(f"{self.descriptor_enum_name(self.f.name)}.serialized,")
        for dep in self.transitive_imports():
            dep_module = module_for_package(self.index.files[dep].package, dep)
            if dep_module == self.module:
                w(f"{self.descriptor_enum_name(dep)}.serialized,")
            else:
                w(f"{byte_literal(self.fds_no_source[dep], w.pad)},")
        w.dedent()
        w("]")
        w.dedent()
        w(")")
        w()
        w(f"/// The methods of `{full}`.")
        w("public enum Method {")
        w.indent()
        for (m, mname, kind, inp, out, mpath) in methods:
            w.extend(self.comments.doc(mpath, w.pad))
            w(f"public static let {swift_escape(mname)} = CaravanCore.MethodDescriptor(service: {swift_string(full)}, method: {swift_string(m.name)})")
        w.dedent()
        w("}")
        w.dedent()
        w("}")
        w()
        # Service protocol.
        w(f"/// Implement `{full}` by conforming to this protocol; register it with a router or server.")
        w(f"public protocol {protocol}: CaravanCore.RPCService {{")
        w.indent()
        for (m, mname, kind, inp, out, mpath) in methods:
            w.extend(self.comments.doc(mpath, w.pad))
            n = swift_escape(mname)
            if kind == "unary":
                w(f"func {n}(request: {inp}, context: CaravanCore.ServerContext) async throws -> {out}")
            elif kind == "serverStreaming":
                w(f"func {n}(request: {inp}, response: CaravanCore.RPCWriter<{out}>, context: CaravanCore.ServerContext) async throws")
            elif kind == "clientStreaming":
                w(f"func {n}(request: CaravanCore.RPCAsyncSequence<{inp}>, context: CaravanCore.ServerContext) async throws -> {out}")
            else:
                w(f"func {n}(request: CaravanCore.RPCAsyncSequence<{inp}>, response: CaravanCore.RPCWriter<{out}>, context: CaravanCore.ServerContext) async throws")
        w.dedent()
        w("}")
        w()
        w(f"extension {protocol} {{")
        w.indent()
        w(f"public var serviceSchema: CaravanCore.ServiceSchema {{ {namespace}.schema }}")
        w()
        w("public func registerMethods(with router: inout CaravanCore.RPCRouter) {")
        w.indent()
        for (m, mname, kind, inp, out, _) in methods:
            n = swift_escape(mname)
            d = f"{namespace}.Method.{n}"
            if kind == "unary":
                w(f"router.registerUnary({d}, input: {inp}.self, output: {out}.self) {{ request, context in")
                w(f"    try await self.{mname}(request: request, context: context)")
            elif kind == "serverStreaming":
                w(f"router.registerServerStreaming({d}, input: {inp}.self, output: {out}.self) {{ request, response, context in")
                w(f"    try await self.{mname}(request: request, response: response, context: context)")
            elif kind == "clientStreaming":
                w(f"router.registerClientStreaming({d}, input: {inp}.self, output: {out}.self) {{ request, context in")
                w(f"    try await self.{mname}(request: request, context: context)")
            else:
                w(f"router.registerBidirectionalStreaming({d}, input: {inp}.self, output: {out}.self) {{ request, response, context in")
                w(f"    try await self.{mname}(request: request, response: response, context: context)")
            w("}")
        w.dedent()
        w("}")
        w.dedent()
        w("}")
        w()
        # Client.
        w(f"/// A typed client for `{full}`.")
        w(f"public struct {client}: Sendable {{")
        w.indent()
        w("public let client: CaravanCore.RPCClient")
        w()
        w("public init(wrapping client: CaravanCore.RPCClient) {")
        w("    self.client = client")
        w("}")
        for (m, mname, kind, inp, out, mpath) in methods:
            w()
            w.extend(self.comments.doc(mpath, w.pad))
            n = swift_escape(mname)
            d = f"{namespace}.Method.{n}"
            if kind == "unary":
                w(f"public func {n}(_ request: {inp}, options: CaravanCore.CallOptions = .defaults) async throws -> {out} {{")
                w(f"    try await self.client.unary(request: request, descriptor: {d}, responseType: {out}.self, options: options)")
            elif kind == "serverStreaming":
                w(f"public func {n}<Result: Sendable>(")
                w(f"    _ request: {inp},")
                w("    options: CaravanCore.CallOptions = .defaults,")
                w(f"    onResponse: (CaravanCore.RPCAsyncSequence<{out}>) async throws -> Result")
                w(") async throws -> Result {")
                w("    try await self.client.serverStreaming(")
                w(f"        request: request, descriptor: {d}, responseType: {out}.self, options: options, onResponse: onResponse)")
            elif kind == "clientStreaming":
                w(f"public func {n}(")
                w("    options: CaravanCore.CallOptions = .defaults,")
                w(f"    requests: @escaping @Sendable (CaravanCore.RPCWriter<{inp}>) async throws -> Void")
                w(f") async throws -> {out} {{")
                w("    try await self.client.clientStreaming(")
                w(f"        descriptor: {d}, requestType: {inp}.self, responseType: {out}.self, options: options, requests: requests)")
            else:
                w(f"public func {n}<Result: Sendable>(")
                w("    options: CaravanCore.CallOptions = .defaults,")
                w(f"    requests: @escaping @Sendable (CaravanCore.RPCWriter<{inp}>) async throws -> Void,")
                w(f"    onResponse: (CaravanCore.RPCAsyncSequence<{out}>) async throws -> Result")
                w(") async throws -> Result {")
                w("    try await self.client.bidirectionalStreaming(")
                w(f"        descriptor: {d}, requestType: {inp}.self, responseType: {out}.self, options: options,")
                w("        requests: requests, onResponse: onResponse)")
            w("}")
        w.dedent()
        w("}")
        w()
        self.services_generated.append(namespace)


# --------------------------------------------------------------------------
# Module registries
# --------------------------------------------------------------------------


def gen_registry(module: str, has_core: bool, files: List[str], index: Index,
                 services: List[str]) -> str:
    w = Writer()
    w(f"// Generated by {GENERATOR_NAME} from the .proto files of {module}. Do not edit.")
    w("//")
    w("// swift-format-ignore-file")
    w()
    if has_core:
        w("import CaravanCore")
    w("import CaravanMessages")
    w()
    w(f"/// Every service and message type of {module}, for tools and reflection.")
    w(f"public enum {module}Schemas {{")
    w.indent()
    if has_core:
        w("/// The services declared in this module's .proto files.")
        if services:
            w("public static let services: [CaravanCore.ServiceSchema] = [")
            for s in services:
                w(f"    {s}.schema,")
            w("]")
        else:
            w("public static let services: [CaravanCore.ServiceSchema] = []")
        w()
    types: List[str] = []

    def walk(info: MessageInfo):
        types.append(info.swift_name)
        for n in info.nested_messages:
            walk(n)

    for f in files:
        for m in index.top_messages[f]:
            walk(m)
    w("/// Every message type, nested ones included, in declaration order.")
    if types:
        w("public static let messageTypes: [any ProtoMessage.Type] = [")
        for t in types:
            w(f"    {t}.self,")
        w("]")
    else:
        w("public static let messageTypes: [any ProtoMessage.Type] = []")
    w.dedent()
    w("}")
    return w.text()
