import CaravanCore
import CaravanServiceKit
import Foundation

/// A weighted mix of calls to run as load: the built-in scenarios and
/// users' own are both read from the JSON format in docs/LOAD-TESTING.md.
public struct LoadScenario: Sendable {
    public var name: String
    public var description: String
    /// The service the scenario is written for (`caravan.trade.v1.TradeService`).
    public var service: String
    public var steps: [ScenarioStep]
}

/// One kind of call in a scenario.
public struct ScenarioStep: Sendable {
    /// Unique in the scenario; the report has a section per step.
    public var name: String
    public var method: MethodSchema
    /// Calls of this step per sum-of-weights calls (exactly; see ``WeightedRoundRobin``).
    public var weight: Int
    public var template: RequestTemplate
    public var metadata: Metadata
    /// Give every call its own idempotency key (for writes).
    public var idempotencyKeys: Bool
    public var timeout: Duration?
    /// Values kept from each OK response for later steps' `{{use}}`/`{{take}}`.
    public var captures: [Capture]

    /// A response field whose value goes into a named pool.
    public struct Capture: Sendable, Equatable {
        public var pool: String
        /// JSON field names from the response message down to a scalar.
        public var path: [String]
    }
}

/// A scenario that cannot be used; says what and where.
public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension LoadScenario {
    /// Parses and checks a scenario: JSON syntax, known service and
    /// methods, positive integer weights, request templates that make valid
    /// messages with only known fields, capture paths that exist, and pools
    /// that some step fills.
    public init(json data: Data) throws(ScenarioError) {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ScenarioError("A scenario is a JSON object.")
            }
            object = parsed
        } catch let error as ScenarioError {
            throw error
        } catch {
            throw ScenarioError("The scenario is not valid JSON: \(Self.describe(error, in: data))")
        }
        let fields = ScenarioFields(object, context: "The scenario")
        try fields.refuseUnknown(["name", "description", "service", "steps"])
        let name = try fields.string("name", required: true)
        guard name.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]*$"#, options: .regularExpression) != nil else {
            throw ScenarioError("The scenario's name '\(name)' may hold only letters, digits, '.', '_' and '-'.")
        }
        let service = try fields.string("service", required: true)
        guard let schema = SchemaRegistry.services.first(where: { $0.name == service }) else {
            throw ScenarioError(
                "Scenario '\(name)': unknown service '\(service)'; known: "
                    + SchemaRegistry.services.map(\.name).joined(separator: ", ") + ".")
        }
        guard let stepObjects = fields.value("steps") as? [Any], !stepObjects.isEmpty else {
            throw ScenarioError("Scenario '\(name)': 'steps' must be a non-empty array.")
        }
        var steps: [ScenarioStep] = []
        for (index, stepObject) in stepObjects.enumerated() {
            let context = "Scenario '\(name)', step \(index + 1)"
            guard let stepFields = stepObject as? [String: Any] else {
                throw ScenarioError("\(context): a step is a JSON object.")
            }
            let step = try ScenarioStep(ScenarioFields(stepFields, context: context), service: schema)
            guard !steps.contains(where: { $0.name == step.name }) else {
                throw ScenarioError(
                    "\(context): another step is already named '\(step.name)'; give each a distinct \"name\".")
            }
            steps.append(step)
        }
        self.init(
            name: name, description: try fields.string("description", required: false), service: service, steps: steps)
        try self.checkPools()
    }

    /// Every pool read is filled by some step, and some step reads none (so
    /// a run can always start).
    private func checkPools() throws(ScenarioError) {
        let filled = Set(self.steps.flatMap { $0.captures.map(\.pool) })
        for step in self.steps {
            for read in step.template.poolReads where !filled.contains(read.pool) {
                throw ScenarioError(
                    "Scenario '\(self.name)', step '\(step.name)': {{\(read.consumes ? "take" : "use") \(read.pool)}} "
                        + "reads a value no step captures; add \"capture\": {\"\(read.pool)\": \"<response field>\"} to a step."
                )
            }
        }
        guard self.steps.contains(where: { $0.template.poolReads.isEmpty }) else {
            throw ScenarioError(
                "Scenario '\(self.name)': every step reads captured values, so none can run first; "
                    + "at least one step must need no {{use}} or {{take}}.")
        }
    }

    /// JSONSerialization's message, with its character offset as a line and column.
    private static func describe(_ error: any Error, in data: Data) -> String {
        let nsError = error as NSError
        guard let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String else {
            return nsError.localizedDescription
        }
        guard let range = detail.range(of: #"character \d+"#, options: .regularExpression),
            let offset = Int(detail[range].dropFirst("character ".count))
        else { return detail }
        let before = data.prefix(offset)
        let line = before.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        let column = offset - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
        return detail + " (line \(line), column \(column))"
    }
}

extension ScenarioStep {
    init(_ fields: ScenarioFields, service: ServiceSchema) throws(ScenarioError) {
        try fields.refuseUnknown([
            "name", "method", "weight", "data", "metadata", "idempotency_keys", "timeout", "capture",
        ])
        let methodName = try fields.string("method", required: true)
        // A bare method name is looked up in the scenario's service.
        let qualified =
            methodName.contains("/") || methodName.contains(".") ? methodName : service.name + "/" + methodName
        guard let method = SchemaRegistry.method(named: qualified) else {
            let known = service.methods.map(\.descriptor.method).joined(separator: ", ")
            throw ScenarioError(
                "\(fields.context): unknown method '\(methodName)'; \(service.name) has: \(known) "
                    + "(other services' methods need their full name, e.g. caravan.trade.v1.TradeService/GetSummary).")
        }
        guard method.kind == .unary || method.kind == .serverStreaming else {
            throw ScenarioError(
                "\(fields.context): \(method.descriptor.path) is a client-streaming method; scenarios send one request per call."
            )
        }
        let context = "\(fields.context) (\(method.descriptor.method))"
        let weight = try fields.positiveInteger("weight", default: 1, context: context)
        let template = try Self.template(fields.value("data"), context: context)
        let timeout: Duration?
        if let text = try fields.optionalString("timeout") {
            guard let value = parseDuration(text), value > .zero else {
                throw ScenarioError("\(context): timeout '\(text)' is not a duration such as 500ms or 2s.")
            }
            timeout = value
        } else {
            timeout = nil
        }
        var metadata = Metadata()
        for (key, value) in try fields.stringMap("metadata", context: context).sorted(by: { $0.key < $1.key }) {
            guard Metadata.isValidKey(key.lowercased()) else {
                throw ScenarioError("\(context): metadata key '\(key)' may only hold 0-9 a-z _ . -")
            }
            metadata.addString(value, forKey: key.lowercased())
        }
        var captures: [Capture] = []
        for (pool, path) in try fields.stringMap("capture", context: context).sorted(by: { $0.key < $1.key }) {
            do {
                captures.append(
                    Capture(
                        pool: pool,
                        path: try MessageFieldPaths.jsonPath(path, in: method.outputType.protobufCDescriptor)))
            } catch {
                throw ScenarioError("\(context): capture '\(pool)': \(error.description)")
            }
        }
        self.init(
            name: try fields.optionalString("name") ?? method.descriptor.method, method: method, weight: weight,
            template: template, metadata: metadata, idempotencyKeys: try fields.bool("idempotency_keys"),
            timeout: timeout, captures: captures)
        try self.checkSampleRequest(context: context)
    }

    /// `data`: a JSON object (placeholders inside its strings; numbers may
    /// be strings, as proto3 JSON allows) or a string of template text.
    private static func template(_ data: Any?, context: String) throws(ScenarioError) -> RequestTemplate {
        let text: String
        switch data {
        case nil:
            text = "{}"
        case let string as String:
            text = string
        case let object as [String: Any]:
            do {
                let encoded = try JSONSerialization.data(
                    withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                text = String(decoding: encoded, as: UTF8.self)
            } catch {
                throw ScenarioError("\(context): data cannot be written as JSON: \(error)")
            }
        default:
            throw ScenarioError("\(context): data must be a JSON object or a string of template text.")
        }
        do {
            return try RequestTemplate(text)
        } catch {
            throw ScenarioError("\(context): data: \(error)")
        }
    }

    /// Renders the request once (captured values as "0") and checks it is
    /// JSON for the method's request type naming only fields it has.
    private func checkSampleRequest(context: String) throws(ScenarioError) {
        let samples = Dictionary(
            self.template.poolReads.map { ($0.pool, "0") }, uniquingKeysWith: { first, _ in first })
        let sample = Data(self.template.render(number: 0, worker: 0, captured: samples).utf8)
        let typeName = self.method.inputType.protoMessageName
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: sample)
        } catch {
            throw ScenarioError(
                "\(context): data does not render to JSON, e.g. \(String(decoding: sample, as: UTF8.self))")
        }
        let unknown = MessageFieldPaths.unknownFields(in: json, of: self.method.inputType.protobufCDescriptor)
        guard unknown.isEmpty else {
            throw ScenarioError(
                "\(context): data names fields \(typeName) does not have: \(unknown.joined(separator: ", ")).")
        }
        do {
            _ = try SchemaRegistry.encodeJSON(sample, as: self.method.inputType)
        } catch {
            throw ScenarioError("\(context): data is not a valid \(typeName): \(error)")
        }
    }
}

/// A scenario's or step's JSON object, read with errors that say where.
struct ScenarioFields {
    let object: [String: Any]
    let context: String

    init(_ object: [String: Any], context: String) {
        self.object = object
        self.context = context
    }

    func value(_ key: String) -> Any? { self.object[key] }

    func refuseUnknown(_ known: Set<String>) throws(ScenarioError) {
        if let key = self.object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ScenarioError(
                "\(self.context): unknown key '\(key)'; expected \(known.sorted().joined(separator: ", ")).")
        }
    }

    func string(_ key: String, required: Bool) throws(ScenarioError) -> String {
        guard let value = try self.optionalString(key), !value.isEmpty else {
            if required { throw ScenarioError("\(self.context): '\(key)' is required (a non-empty string).") }
            return ""
        }
        return value
    }

    func optionalString(_ key: String) throws(ScenarioError) -> String? {
        guard let value = self.object[key] else { return nil }
        guard let string = value as? String else { throw ScenarioError("\(self.context): '\(key)' must be a string.") }
        return string
    }

    func bool(_ key: String) throws(ScenarioError) -> Bool {
        guard let value = self.object[key] else { return false }
        guard let number = value as? NSNumber, Self.isBoolean(number) else {
            throw ScenarioError("\(self.context): '\(key)' must be true or false.")
        }
        return number.boolValue
    }

    func positiveInteger(_ key: String, default fallback: Int, context: String) throws(ScenarioError) -> Int {
        guard let value = self.object[key] else { return fallback }
        guard let number = value as? NSNumber, !Self.isBoolean(number), let integer = Int(exactly: number.doubleValue),
            integer >= 1
        else {
            throw ScenarioError("\(context): \(key) must be a positive whole number; got \(value).")
        }
        return integer
    }

    func stringMap(_ key: String, context: String) throws(ScenarioError) -> [String: String] {
        guard let value = self.object[key] else { return [:] }
        guard let map = value as? [String: Any] else {
            throw ScenarioError("\(context): '\(key)' must be a JSON object.")
        }
        var strings: [String: String] = [:]
        for (name, entry) in map {
            guard let string = entry as? String, !name.isEmpty, !string.isEmpty else {
                throw ScenarioError("\(context): '\(key)' maps names to non-empty strings; '\(name)' does not.")
            }
            strings[name] = string
        }
        return strings
    }

    /// JSONSerialization gives NSNumber for numbers and booleans alike;
    /// booleans are the ones of C type `char` (numbers never are).
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }
}
