#if canImport(Glibc)
    import Glibc
#endif

/// Errors from host-key verification and the `known_hosts` file, one sentence each.
extension SSHError {
    /// A host-key blob or OpenSSH key line that cannot be parsed.
    @inline(never)
    static func malformedHostKey(_ reason: String) -> SSHError {
        SSHError(.protocolError, "The host key could not be parsed: \(reason).")
    }

    /// A host key whose algorithm SSHKit does not know.
    @inline(never)
    static func unsupportedHostKeyAlgorithm(_ name: String) -> SSHError {
        let supported = HostKey.Algorithm.allCases.map(\.rawValue).joined(separator: ", ")
        return SSHError(
            .protocolError,
            "The host key uses the algorithm \"\(name.prefix(64))\", which SSHKit does not support (\(supported))."
        )
    }

    /// A host that `known_hosts` does not know with a key of the offered type, under the strict policy.
    @inline(never)
    static func unknownHost(
        displayName: String,
        host: String,
        port: Int,
        key: HostKey,
        knownHostsPath: String,
        otherAlgorithmsKnown: [HostKey.Algorithm]
    ) -> SSHError {
        let offered = "\(key.algorithm.displayName) key \(key.fingerprintSHA256)"
        let situation: String
        if otherAlgorithmsKnown.isEmpty {
            situation = "is not in \(knownHostsPath) and offered \(offered)"
        } else {
            let known = list(otherAlgorithmsKnown.map(\.displayName).uniqued())
            situation = "offered \(offered), but \(knownHostsPath) knows only its \(known) key(s)"
        }
        let portOption = port == 22 ? "" : "-p \(port) "
        let keyscan =
            "ssh-keyscan \(portOption)-t \(key.algorithm.keyscanType) \(shellQuoted(host))"
            + " >> \(shellQuoted(knownHostsPath))"
        let remedy =
            otherAlgorithmsKnown.isEmpty
            ? "to trust it on first use set `host_key_policy: accept-new` for this host in the inventory, or check"
                + " the fingerprint and add it with `\(keyscan)`"
            : "a key of a new type is never trusted automatically, not even under accept-new: check the"
                + " fingerprint with the VM's owner, then add it with `\(keyscan)`"
        return SSHError(
            .unknownHostKey,
            "Host \(label(displayName, host: host, port: port)) \(situation); \(remedy).",
            host: hostPort(host: host, port: port)
        )
    }

    /// A host whose key differs from the one `known_hosts` holds for the same algorithm: always refused.
    @inline(never)
    static func changedHostKey(
        displayName: String,
        host: String,
        port: Int,
        key: HostKey,
        expected: [KnownHostsEntryRef],
        knownHostsPath: String
    ) -> SSHError {
        let expectations = list(expected.map { "\($0.key.fingerprintSHA256) at line \($0.line)" })
        let name = KnownHostsFile.lookupName(host: host, port: port)
        let remove = "ssh-keygen -R \(shellQuoted(name)) -f \(shellQuoted(knownHostsPath))"
        return SSHError(
            .changedHostKey,
            "The \(key.algorithm.displayName) host key of \(label(displayName, host: host, port: port)) has"
                + " changed, so the connection was refused: \(knownHostsPath) has \(expectations), but the"
                + " server offered \(key.algorithm.displayName) key \(key.fingerprintSHA256), which means the"
                + " server was reinstalled or someone is intercepting the connection; if the change is"
                + " expected, run `\(remove)` and connect again.",
            host: hostPort(host: host, port: port)
        )
    }

    /// A key marked `@revoked` in `known_hosts`: always refused.
    @inline(never)
    static func revokedHostKey(
        displayName: String,
        host: String,
        port: Int,
        key: HostKey,
        line: Int,
        knownHostsPath: String
    ) -> SSHError {
        SSHError(
            .revokedHostKey,
            "The \(key.algorithm.displayName) key \(key.fingerprintSHA256) offered by"
                + " \(label(displayName, host: host, port: port)) is marked @revoked at line \(line) of"
                + " \(knownHostsPath), so the connection was refused; the server needs a new host key.",
            host: hostPort(host: host, port: port)
        )
    }

    /// A `known_hosts` file that exists but cannot be read.
    @inline(never)
    static func knownHostsUnreadable(path: String, errno: Int32) -> SSHError {
        SSHError(
            .knownHostsUnreadable,
            "Could not read the known_hosts file \(path): \(String(cString: strerror(errno))).",
            errno: errno
        )
    }

    /// A `known_hosts` file (or its directory) that cannot be created, locked or written.
    @inline(never)
    static func knownHostsNotWritable(path: String, hostPort: String, errno: Int32) -> SSHError {
        SSHError(
            .localIOFailed,
            "Could not add the host key of \(hostPort) to \(path): \(String(cString: strerror(errno))).",
            host: hostPort,
            errno: errno
        )
    }

    /// A host name that a plain `known_hosts` pattern cannot hold.
    @inline(never)
    static func unstorableHostName(hostPort: String, path: String) -> SSHError {
        SSHError(
            .localIOFailed,
            "Could not add the host key of \"\(hostPort)\" to \(path): a known_hosts host name cannot contain"
                + " whitespace, commas, the wildcards * and ?, ! or #, nor start with |.",
            host: hostPort
        )
    }

    // MARK: Helpers

    /// `host:port`, with an IPv6 address in brackets.
    static func hostPort(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `web-1 (10.0.0.5:22)`, or just `10.0.0.5:22` when the display name adds nothing.
    private static func label(_ displayName: String, host: String, port: Int) -> String {
        let hostPort = hostPort(host: host, port: port)
        if displayName.isEmpty || displayName == host || displayName == hostPort {
            return hostPort
        }
        return "\(displayName) (\(hostPort))"
    }

    /// "a", "a and b", "a, b and c".
    private static func list(_ items: [String]) -> String {
        guard let last = items.last else { return "" }
        let head = items.dropLast()
        return head.isEmpty ? last : head.joined(separator: ", ") + " and " + last
    }

    /// The word as a POSIX shell reads it: bare when safe, else in single quotes.
    private static func shellQuoted(_ word: String) -> String {
        let safe = word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "@%+=:,./_-".contains($0)) }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}

extension Sequence where Element: Hashable {
    /// The elements in order, without repeats.
    fileprivate func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
