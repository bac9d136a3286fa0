#if canImport(Glibc)
    import Glibc
#endif

/// An error from the SSH layer, written for the person at the terminal.
///
/// Compare errors by ``code``; the ``message`` is one sentence that names the host (and the file or
/// path where one is involved) and says what to do. The raw libssh2 return code and its text are kept
/// in ``libssh2`` for `--verbose` output and bug reports.
public struct SSHError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes (a struct around a private enum, so that new
    /// codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case connectionFailed
            case timedOut
            case cancelled
            case handshakeFailed
            case unknownHostKey
            case changedHostKey
            case revokedHostKey
            case knownHostsUnreadable
            case authenticationFailed
            case rsaSHA1Refused
            case credentialUnreadable
            case channelFailed
            case sftpFailed
            case transferFailed
            case checksumMismatch
            case localIOFailed
            case forwardingFailed
            case disconnected
            case protocolError
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        public static let connectionFailed = Code(.connectionFailed)
        public static let timedOut = Code(.timedOut)
        public static let cancelled = Code(.cancelled)
        public static let handshakeFailed = Code(.handshakeFailed)
        /// The host is not in `known_hosts` and the policy does not trust new hosts.
        public static let unknownHostKey = Code(.unknownHostKey)
        /// The host is in `known_hosts` with a different key of the same type: always refused.
        public static let changedHostKey = Code(.changedHostKey)
        /// The key is marked `@revoked` in `known_hosts`.
        public static let revokedHostKey = Code(.revokedHostKey)
        public static let knownHostsUnreadable = Code(.knownHostsUnreadable)
        public static let authenticationFailed = Code(.authenticationFailed)
        /// An RSA key was refused by a server that does not accept `ssh-rsa` (SHA-1) signatures.
        public static let rsaSHA1Refused = Code(.rsaSHA1Refused)
        /// A passphrase or password reference (environment variable or file) could not be read.
        public static let credentialUnreadable = Code(.credentialUnreadable)
        public static let channelFailed = Code(.channelFailed)
        public static let sftpFailed = Code(.sftpFailed)
        public static let transferFailed = Code(.transferFailed)
        public static let checksumMismatch = Code(.checksumMismatch)
        public static let localIOFailed = Code(.localIOFailed)
        public static let forwardingFailed = Code(.forwardingFailed)
        /// The server closed the connection (or it was lost) while an operation was under way.
        public static let disconnected = Code(.disconnected)
        public static let protocolError = Code(.protocolError)

        public var description: String { base.rawValue }
    }

    /// The raw libssh2 failure behind an error, when there is one.
    public struct LibSSH2Failure: Sendable, Equatable {
        /// The `LIBSSH2_ERROR_*` (or `LIBSSH2_FX_*` for SFTP status) value.
        public var code: Int32
        /// The text libssh2 attached to it (`libssh2_session_last_error`).
        public var text: String
        /// The libssh2 function that failed.
        public var operation: String
    }

    public var code: Code
    /// One sentence, with no "Error:" prefix (ArgumentParser adds one).
    public var message: String
    /// `host:port`, when the error concerns one host.
    public var host: String?
    public var libssh2: LibSSH2Failure?
    /// The operating-system error number, for local I/O and socket failures.
    public var errno: Int32?

    public init(
        _ code: Code,
        _ message: String,
        host: String? = nil,
        libssh2: LibSSH2Failure? = nil,
        errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.host = host
        self.libssh2 = libssh2
        self.errno = errno
    }

    public var description: String { message }

    /// A multi-line account for `--verbose`: the message, then the libssh2 and errno causes.
    public func detailedDescription() -> String {
        var lines = [message, "  code: \(code)"]
        if let host { lines.append("  host: \(host)") }
        if let libssh2 {
            // Negative codes are LIBSSH2_ERROR_*; positive ones are SFTP status codes.
            let name = libssh2.code < 0 ? " \(libssh2ErrorName(libssh2.code))" : ""
            lines.append("  libssh2: \(libssh2.operation) returned \(libssh2.code)\(name) (\(libssh2.text))")
        }
        if let errno { lines.append("  errno: \(errno) (\(String(cString: strerror(errno))))") }
        return lines.joined(separator: "\n")
    }
}
