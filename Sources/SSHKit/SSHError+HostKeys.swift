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
}
