import NIOCore
import NIOSSL
import NIOTLS

/// TLS for a server's listener: its certificate, and optionally the CA
/// whose signature a client certificate must carry (mutual TLS).
///
/// Built once at start-up, so that an unreadable certificate or key is an
/// error then rather than on the first connection.
public struct ServerTLS: Sendable {
    let context: NIOSSLContext
    /// The same settings, for servers that build their own TLS handler
    /// (the gateway's HTTP door).
    public let configuration: TLSConfiguration
    /// Whether clients must present a certificate the client CA signed.
    public let requiresClientCertificate: Bool

    /// Loads PEM files: the certificate chain (leaf first), its private key,
    /// and the CA that signs acceptable client certificates (nil: any
    /// client may connect, none is asked for a certificate).
    public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: privateKeyFile, format: .pem))
        var configuration: TLSConfiguration
        if let clientCAFile {
            let roots = try NIOSSLCertificate.fromPEMFile(clientCAFile)
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain, privateKey: key, trustRoots: .certificates(roots))
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain, privateKey: key)
        }
        configuration.minimumTLSVersion = .tlsv12
        self.context = try NIOSSLContext(configuration: configuration)
        self.configuration = configuration
        self.requiresClientCertificate = clientCAFile != nil
    }

    func makeHandler() -> NIOSSLServerHandler { NIOSSLServerHandler(context: self.context) }
}

/// TLS for a client's connections: which CAs it trusts, the certificate it
/// presents (for servers that require one), and the name it expects in the
/// server's certificate.
public struct ClientTLS: Sendable {
    let context: NIOSSLContext
    /// The name the server's certificate must carry (and the SNI sent).
    /// When nil the host connected to is used: a DNS name is checked against
    /// the certificate's DNS names, an IP address against its IP addresses.
    public let serverName: String?

    /// Loads PEM files: the CA certificates to trust (nil: the system's),
    /// and the client certificate chain and key (both or neither).
    public init(
        trustRootsFile: String? = nil,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        serverName: String? = nil
    ) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustRootsFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustRootsFile))
        }
        switch (certificateChainFile, privateKeyFile) {
        case (let chain?, let key?):
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(chain).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        case (nil, nil):
            break
        default:
            throw TLSSettingsError("A client certificate needs both its certificate file and its key file.")
        }
        self.context = try NIOSSLContext(configuration: configuration)
        self.serverName = serverName
    }

    /// TLS when any of the settings is given, nil (plaintext) when none is.
    public static func ifConfigured(
        trustRootsFile: String?, certificateChainFile: String?, privateKeyFile: String?, serverName: String?
    ) throws -> ClientTLS? {
        guard trustRootsFile != nil || certificateChainFile != nil || privateKeyFile != nil || serverName != nil else {
            return nil
        }
        return try ClientTLS(
            trustRootsFile: trustRootsFile, certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile,
            serverName: serverName)
    }

    /// The handler for a connection to `host`. SNI only takes DNS names;
    /// for an IP address NIOSSL checks the certificate's IP SANs against
    /// the address connected to.
    func makeHandler(host: String) throws -> NIOSSLClientHandler {
        let name = self.serverName ?? (Self.isIPAddress(host) ? nil : host)
        return try NIOSSLClientHandler(context: self.context, serverHostname: name)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// A TLS setting that cannot work, and why.
public struct TLSSettingsError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Completes `promise` when the TLS handshake finishes (or fails), then
/// leaves the pipeline: a client reports a refused handshake as a failed
/// connection attempt, with BoringSSL's reason, instead of as a lost call.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            self.promise.succeed(())
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.promise.fail(TLSSettingsError("The connection closed during the TLS handshake."))
        context.fireChannelInactive()
    }
}
