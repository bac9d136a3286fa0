public import Logging

/// Where a secret (a key passphrase or a password) comes from. It is read only when the method that
/// needs it is tried, and never logged, printed or passed on a command line.
public struct SecretSource: Sendable, CustomStringConvertible {
    /// Names the reference (e.g. `env:VM_KEY_PASS`), never the value: safe to print.
    public let description: String
    let provider: @Sendable () throws -> String

    /// A source that reads the secret with `provider` when needed; `description` must not contain it.
    public init(description: String, provider: @escaping @Sendable () throws -> String) {
        self.description = description
        self.provider = provider
    }

    /// A value the caller already holds.
    public static func value(_ secret: String) -> SecretSource {
        SecretSource(description: "(a value supplied by the caller)") { secret }
    }
}

/// One way to authenticate. Methods are tried in the order given until one succeeds.
public enum SSHAuthenticationMethod: Sendable {
    /// A private key file (ed25519, ECDSA or RSA; OpenSSH or PEM format), with an optional passphrase.
    case privateKey(path: String, passphrase: SecretSource?)
    /// Every identity an ssh-agent holds; `socketPath` nil means `SSH_AUTH_SOCK`.
    case agent(socketPath: String?)
    /// A password.
    case password(SecretSource)
}

/// Everything needed to open one SSH connection.
public struct SSHClientConfiguration: Sendable {
    /// Address or host name to connect to.
    public var host: String
    public var port: Int
    public var user: String
    /// How the person knows this host (an inventory name); used in messages. Defaults to `host:port`.
    public var displayName: String
    public var authentication: [SSHAuthenticationMethod]
    public var hostKeyValidator: any HostKeyValidator
    /// Time allowed for TCP connect, key exchange and authentication together.
    public var connectTimeout: Duration
    /// Interval between keepalive messages on an otherwise idle connection; nil disables them.
    public var keepaliveInterval: Duration?
    /// An operation that sees no network progress for this long fails (a dead peer, a lost route).
    public var idleTimeout: Duration
    public var logger: Logger

    public init(
        host: String,
        port: Int = 22,
        user: String,
        displayName: String? = nil,
        authentication: [SSHAuthenticationMethod],
        hostKeyValidator: any HostKeyValidator,
        connectTimeout: Duration = .seconds(10),
        keepaliveInterval: Duration? = .seconds(15),
        idleTimeout: Duration = .seconds(120),
        logger: Logger = Logger(label: "octoprov.ssh", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.displayName = displayName ?? "\(host):\(port)"
        self.authentication = authentication
        self.hostKeyValidator = hostKeyValidator
        self.connectTimeout = connectTimeout
        self.keepaliveInterval = keepaliveInterval
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    /// "user@host:port (name)" for messages.
    var label: String {
        let endpoint = "\(user)@\(host):\(port)"
        return displayName == "\(host):\(port)" ? endpoint : "\(displayName) (\(endpoint))"
    }

    var hostLabel: String {
        displayName == "\(host):\(port)" ? "\(host):\(port)" : "\(displayName) (\(host):\(port))"
    }
}
