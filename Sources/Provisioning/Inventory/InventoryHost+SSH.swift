public import Logging
public import SSHKit

extension InventoryHost {
    /// The SSH connection settings for this host: its identity file (with passphrase), then the
    /// ssh-agent, then a password, in that order; host keys checked against its known_hosts file with
    /// its policy. Secrets are read only when the method needing them is tried.
    public func sshConfiguration(logger: Logger, environment: [String: String]) -> SSHClientConfiguration {
        var methods: [SSHAuthenticationMethod] = []
        if let identity {
            methods.append(.privateKey(path: identity, passphrase: identityPassphrase.map(\.secretSource)))
        }
        let agentSocket = environment["SSH_AUTH_SOCK"].flatMap { $0.isEmpty ? nil : $0 }
        if agent ?? (agentSocket != nil) {
            methods.append(.agent(socketPath: agentSocket))
        }
        if let password {
            methods.append(.password(password.secretSource))
        }
        let policy: HostKeyPolicy = hostKeyPolicy == .acceptNew ? .acceptNew : .strict
        var hostLogger = logger
        hostLogger[metadataKey: "host.name"] = "\(name)"
        return SSHClientConfiguration(
            host: address,
            port: port,
            user: user,
            displayName: name,
            authentication: methods,
            hostKeyValidator: KnownHostsValidator(knownHostsPath: knownHosts, policy: policy, logger: hostLogger),
            connectTimeout: .milliseconds(Int64(connectTimeout * 1000)),
            logger: hostLogger
        )
    }
}

extension SecretReference {
    /// The reference as an SSHKit secret source: read lazily, described by its reference name only.
    var secretSource: SecretSource {
        SecretSource(description: description) { try self.read() }
    }
}
