import CaravanCore
import Foundation

/// Decodes `bytes` as a peer's `Message`, as a server (or client) does;
/// whatever decodes must survive a protobuf round trip.
public func protobufRoundTrip<Message: ProtoMessage>(_ type: Message.Type, _ bytes: UnsafeRawBufferPointer)
    -> Message?
{
    guard let message = try? Message(serializedBytes: bytes) else { return nil }
    let encoded: [UInt8]
    do {
        encoded = try message.serializedBytes()
    } catch {
        // Decoding rejects what encoding cannot carry (invalid UTF-8, NUL).
        fatalError("a decoded \(Message.protoMessageName) does not re-encode: \(error)")
    }
    requireProtobufRoundTrip(message, encoded: encoded)
    return message
}

/// Requires `encoded`, the encoding of `message`, to decode to an equal
/// message that encodes to the same bytes again (our encoding is
/// deterministic: map entries go in key order).
public func requireProtobufRoundTrip<Message: ProtoMessage>(_ message: Message, encoded: [UInt8]) {
    let name = Message.protoMessageName
    let again: Message
    do {
        again = try Message(serializedBytes: encoded)
    } catch {
        fatalError("an encoded \(name) does not decode: \(error); bytes \(encoded)")
    }
    precondition(again == message || holdsNaN(message), "\(name) changed in a protobuf round trip")
    let reencoded = try? again.serializedBytes()
    precondition(reencoded == encoded, "\(name) encodes differently after a protobuf round trip")
}

/// Requires `message` to survive the gateway's HTTP door: its JSON (as the
/// door writes an answer) decodes (as the door reads a request body) to an
/// equal message, whose JSON is the same text.
public func requireJSONRoundTrip<Message: ProtoMessage>(_ message: Message) {
    let name = Message.protoMessageName
    let json: Data
    do {
        json = try ProtoJSON.encode(message)
    } catch {
        fatalError("a \(name) does not encode to JSON: \(error)")
    }
    let text = String(decoding: json, as: UTF8.self)
    let again: Message
    do {
        again = try ProtoJSON.decode(Message.self, from: json)
    } catch {
        fatalError("the JSON of a \(name) does not decode: \(error); JSON \(text)")
    }
    precondition(again == message || holdsNaN(message), "\(name) changed in a JSON round trip; JSON \(text)")
    let reencoded = try? ProtoJSON.encode(again)
    precondition(reencoded == json, "\(name)'s JSON changed in a round trip; JSON \(text)")
}

/// NaN is unequal to itself, so a message holding one is never `==` to its
/// copy; the round trips then rely on the encodings being the same.
func holdsNaN<Message: ProtoMessage>(_ message: Message) -> Bool {
    guard let json = try? ProtoJSON.encode(message) else { return false }
    return String(decoding: json, as: UTF8.self).contains("\"NaN\"")
}
