public import Logging

/// How to treat a host that `known_hosts` does not know yet.
public enum HostKeyPolicy: String, Sendable, CaseIterable {
    /// Refuse unknown hosts (OpenSSH `StrictHostKeyChecking yes`).
    case strict
    /// Trust an unknown host on first use and record its key (OpenSSH `StrictHostKeyChecking accept-new`).
    /// A changed or revoked key is still refused.
    case acceptNew = "accept-new"
}

/// Decides whether to trust the key a server presented.
///
/// Called on the SSH session's own thread, after key exchange and before authentication.
public protocol HostKeyValidator: Sendable {
    /// Throws an ``SSHError`` to refuse the key.
    ///
    /// - Parameters:
    ///   - host: The host name or address as connected to.
    ///   - port: The TCP port.
    ///   - key: The key the server presented.
    ///   - displayName: How the user knows the host (e.g. an inventory name), used in messages.
    /// - Throws: ``SSHError``; the codes depend on the validator.
    func validate(host: String, port: Int, key: HostKey, displayName: String) throws

    /// Algorithms to put first in the key-exchange host-key preference (those already known for this
    /// host), so a server with several host keys presents the one we know.
    ///
    /// - Parameters:
    ///   - host: The host name or address as connected to.
    ///   - port: The TCP port.
    /// - Returns: Algorithms in order of preference; empty for no preference.
    func preferredAlgorithms(host: String, port: Int) -> [HostKey.Algorithm]
}

/// Verifies host keys against an OpenSSH `known_hosts` file, like `ssh` does.
///
/// The file is read afresh on every call, since other processes may have changed it. A key that
/// `known_hosts` holds for the host is trusted; a revoked or changed key is refused under every policy;
/// an unknown host is refused under ``HostKeyPolicy/strict`` and recorded with
/// ``KnownHostsFile/append(host:port:key:to:)`` under ``HostKeyPolicy/acceptNew``.
public struct KnownHostsValidator: HostKeyValidator {
    /// The `known_hosts` file; a leading `~/` is expanded from `$HOME`.
    public let knownHostsPath: String
    /// How to treat hosts the file does not know.
    public let policy: HostKeyPolicy
    private let logger: Logger?

    /// Creates a validator for one `known_hosts` file.
    ///
    /// - Parameters:
    ///   - knownHostsPath: The `known_hosts` file; a missing file is an empty one.
    ///   - policy: How to treat hosts the file does not know.
    ///   - logger: Receives `info` when a key is added and `debug` for skipped lines; `nil` logs nothing.
    public init(knownHostsPath: String, policy: HostKeyPolicy, logger: Logger? = nil) {
        self.knownHostsPath = knownHostsPath
        self.policy = policy
        self.logger = logger
    }

    /// Trusts the key or throws.
    ///
    /// - Throws: ``SSHError`` with code `.unknownHostKey` (strict policy only), `.changedHostKey`,
    ///   `.revokedHostKey`, `.knownHostsUnreadable`, or `.localIOFailed` when an accepted key cannot
    ///   be recorded.
    public func validate(host: String, port: Int, key: HostKey, displayName: String) throws {
        let file = try KnownHostsFile.load(path: knownHostsPath)
        for warning in file.warnings {
            logger?.debug(
                "Skipped a known_hosts line",
                metadata: [
                    "known_hosts.path": "\(file.path)",
                    "known_hosts.line": "\(warning.line)",
                    "known_hosts.reason": "\(warning.message)",
                ]
            )
        }
        let match = file.lookup(host: host, port: port, key: key)
        // Trust on first use covers hosts that are new altogether. A known host offering a key of
        // another type is what an interceptor without the real key would do, so it is refused even here.
        guard match.isFirstContact, policy == .acceptNew else {
            try check(match, host: host, port: port, key: key, displayName: displayName, path: file.path)
            return
        }
        // Re-checked under the file lock: another thread or process may have recorded a key meanwhile.
        let current = try KnownHostsFile.append(host: host, port: port, key: key, to: file.path) { $0.isFirstContact }
        if current.isFirstContact {
            logger?.info(
                "Added host key to known_hosts",
                metadata: [
                    "host.name": "\(displayName)",
                    "ssh.host": "\(SSHError.hostPort(host: host, port: port))",
                    "ssh.host_key": "\(key.algorithm.displayName) \(key.fingerprintSHA256)",
                    "known_hosts.path": "\(file.path)",
                ]
            )
            return
        }
        try check(current, host: host, port: port, key: key, displayName: displayName, path: file.path)
    }

    /// The algorithms `known_hosts` already holds for the host, in file order; empty if it cannot be read.
    public func preferredAlgorithms(host: String, port: Int) -> [HostKey.Algorithm] {
        guard let file = try? KnownHostsFile.load(path: knownHostsPath) else { return [] }
        return file.knownAlgorithms(host: host, port: port)
    }

    /// Returns for a trusted key and throws the matching refusal otherwise.
    private func check(
        _ match: KnownHostsMatch,
        host: String,
        port: Int,
        key: HostKey,
        displayName: String,
        path: String
    ) throws {
        switch match {
        case .trusted:
            return
        case .revoked(let line):
            throw SSHError.revokedHostKey(
                displayName: displayName,
                host: host,
                port: port,
                key: key,
                line: line,
                knownHostsPath: path
            )
        case .changed(let expected):
            throw SSHError.changedHostKey(
                displayName: displayName,
                host: host,
                port: port,
                key: key,
                expected: expected,
                knownHostsPath: path
            )
        case .unknown(let otherAlgorithmsKnown):
            throw SSHError.unknownHost(
                displayName: displayName,
                host: host,
                port: port,
                key: key,
                knownHostsPath: path,
                otherAlgorithmsKnown: otherAlgorithmsKnown
            )
        }
    }
}

extension KnownHostsMatch {
    /// True when `known_hosts` knows nothing at all of the host.
    var isFirstContact: Bool {
        if case .unknown(let others) = self { return others.isEmpty }
        return false
    }
}
