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

}
