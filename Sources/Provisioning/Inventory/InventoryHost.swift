/// One host of an inventory, with defaults applied and every path made absolute.
public struct InventoryHost: Sendable, Hashable {
    /// The host's name in the inventory (its key under `hosts`), used by `--limit` and in messages.
    public var name: String
    /// The address or DNS name to connect to.
    public var address: String
    /// The SSH port (22 unless given).
    public var port: Int
    /// The user to log in as.
    public var user: String
    /// The private key file, as an absolute path, when key authentication is configured.
    public var identity: String?
    /// Where the passphrase of ``identity`` is kept, when it has one.
    public var identityPassphrase: SecretReference?
    /// Where the password is kept, when password authentication is configured.
    public var password: SecretReference?
    /// Where the password of the SQL login `sql_user` is kept (the `sql_password` secret of `linux-container`
    /// steps); needed only when that host's `sql_user` is not empty.
    public var sqlPassword: SecretReference?
    /// Whether to try the SSH agent; `nil` means "when `SSH_AUTH_SOCK` is set".
    public var agent: Bool?
    /// The `known_hosts` file, as an absolute path (`~/.ssh/known_hosts` unless given).
    public var knownHosts: String
    /// How to treat a host key that is not yet in ``knownHosts``.
    public var hostKeyPolicy: HostKeyPolicyName
    /// Seconds to wait for the TCP connection and SSH handshake.
    public var connectTimeout: Double
    /// What kind of machine it is; `nil` when neither the host nor `defaults` says (fine for `exec` and `copy`,
    /// an error for a host an instance is provisioned on).
    public var platform: Platform?
    /// The template variables the host gets from the inventory, merged in precedence order: `defaults.vars`,
    /// then its groups' `vars` (see ``groups``), then its own `vars`; a later value wins.
    public var vars: [String: InventoryVariable]
    /// The groups the host belongs to (directly or through nested groups), in the order their `vars` are
    /// applied: groups further from the host first, groups at the same distance in file order.
    public var groups: [String]
    /// Where the host's name is written in the inventory.
    public var location: SourceLocation

    /// The port used when an inventory gives none.
    public static let defaultPort = 22
    /// The connect timeout, in seconds, used when an inventory gives none.
    public static let defaultConnectTimeout: Double = 10

    /// Creates a host; ``Inventory/load(path:)`` is the usual way to get one.
    ///
    /// - Parameters:
    ///   - name: The host's name.
    ///   - address: The address or DNS name.
    ///   - port: The SSH port.
    ///   - user: The login user.
    ///   - identity: The absolute path of a private key file.
    ///   - identityPassphrase: Where the key's passphrase is kept.
    ///   - password: Where the password is kept.
    ///   - sqlPassword: Where the SQL login's password is kept.
    ///   - agent: Whether to use the SSH agent (`nil`: when `SSH_AUTH_SOCK` is set).
    ///   - knownHosts: The absolute path of the `known_hosts` file.
    ///   - hostKeyPolicy: How to treat an unknown host key.
    ///   - connectTimeout: Seconds to wait for the connection and handshake.
    ///   - platform: What kind of machine it is.
    ///   - vars: The host's merged template variables.
    ///   - groups: The groups it belongs to, in the order their `vars` apply.
    ///   - location: Where the host is written.
    public init(
        name: String,
        address: String,
        port: Int = InventoryHost.defaultPort,
        user: String,
        identity: String? = nil,
        identityPassphrase: SecretReference? = nil,
        password: SecretReference? = nil,
        sqlPassword: SecretReference? = nil,
        agent: Bool? = nil,
        knownHosts: String,
        hostKeyPolicy: HostKeyPolicyName = .strict,
        connectTimeout: Double = InventoryHost.defaultConnectTimeout,
        platform: Platform? = nil,
        vars: [String: InventoryVariable] = [:],
        groups: [String] = [],
        location: SourceLocation
    ) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.identity = identity
        self.identityPassphrase = identityPassphrase
        self.password = password
        self.sqlPassword = sqlPassword
        self.agent = agent
        self.knownHosts = knownHosts
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.platform = platform
        self.vars = vars
        self.groups = groups
        self.location = location
    }
}
