import Dispatch
import Foundation

/// Turns Ctrl-C (SIGINT) into a callback for as long as it lives, so a
/// long-running command can stop cleanly and still report.
final class InterruptHandler {
    private let source: any DispatchSourceSignal

    init(_ onInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: onInterrupt)
        source.resume()
        self.source = source
    }

    func cancel() {
        self.source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
