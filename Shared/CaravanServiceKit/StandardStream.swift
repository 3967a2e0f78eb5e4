#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's standard output or error, written with write(2).
///
/// Not `FileHandle.write(_:)`: the Swift runtime ignores SIGPIPE, so a write
/// to a pipe whose reader has gone (`caravan call … | head -1`, a supervisor
/// that closed its end) fails with EPIPE, and FileHandle traps on that
/// failure, crashing the process. Here the failure is an answer the caller
/// decides about: a server carries on serving; the command-line client ends
/// as Unix tools do (``endAsReaderGone()``).
public enum StandardStream: Sendable {
    case output
    case error

    private var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes all of `text`; false if the stream failed part-way (its
    /// reader gone, a full disk), in which case the rest is dropped.
    @discardableResult
    public func write(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { writeAll(self.descriptor, $0) }
    }

    /// Ends the process the way a reader's going away ends `cat` or `yes`:
    /// by SIGPIPE, silently (the shell reports status 141).
    public static func endAsReaderGone() -> Never {
        signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
        exit(141)  // SIGPIPE blocked by the parent: the same status
    }
}

/// write(2) until every byte went, through interruptions.
private func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += written
    }
    return true
}
