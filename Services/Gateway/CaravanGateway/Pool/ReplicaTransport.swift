import CaravanCore
import CaravanTCP

/// A client transport for one replica that keeps its own connections up:
/// `run()` until `close()`. ``TCPClientTransport`` is one; tests use fakes.
public protocol ReplicaTransport: ClientTransport {
    func run() async
    func close()
}

extension TCPClientTransport: ReplicaTransport {}
