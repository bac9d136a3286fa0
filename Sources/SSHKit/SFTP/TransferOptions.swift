import Foundation

/// How the remote side computes files' SHA-256 for end-to-end verification: one command for a whole
/// batch of files, so a tree of many small files costs one round trip per batch, not per file.
public struct RemoteChecksum: Sendable {
    /// Builds one command that prints, for each path in order, one line holding its hex SHA-256 (first
    /// 64 characters; anything else on the line, or an empty line for an unreadable file, is allowed).
    public var command: @Sendable ([String]) -> String

    public init(command: @escaping @Sendable ([String]) -> String) {
        self.command = command
    }

    /// `openssl dgst -sha256` where OpenSSL is installed (it uses the CPU's SHA extensions, about four
    /// times faster than coreutils), else `sha256sum` (GNU coreutils, busybox). Paths are single-quoted
    /// for a POSIX shell; a relative path that looks like an option gets `./` in front, since openssl
    /// takes no `--`.
    public static let posixSHA256Sum = RemoteChecksum { paths in
        let function =
            "h() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r \"$1\"; "
            + "else sha256sum -b -- \"$1\"; fi | cut -c1-64; }"
        let calls = paths.map { "h " + posixShellQuoted($0.hasPrefix("-") ? "./" + $0 : $0) }
        return ([function] + calls).joined(separator: "; ")
    }
}

/// `'…'` with embedded single quotes written as `'\''`: the value stays literal in a POSIX shell.
public func posixShellQuoted(_ value: String) -> String {
    "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Progress of one file transfer, reported on the session thread.
public struct TransferProgress: Sendable {
    /// The destination path of the file being transferred.
    public var path: String
    /// Bytes of the file now present at the destination (resumed bytes included).
    public var completedBytes: UInt64
    public var totalBytes: UInt64
    /// Bytes that were already there from an interrupted transfer and were not sent again.
    public var resumedFromBytes: UInt64
}

/// Options for uploads and downloads.
public struct TransferOptions: Sendable {
    /// Continue an interrupted transfer from the size of the existing `NAME.part`.
    public var resume: Bool
    /// Verify the SHA-256 of the destination against the source's; nil skips verification.
    public var checksum: RemoteChecksum?
    /// Copy the permission bits and modification time to the destination.
    public var preserveAttributes: Bool
    /// The destination's permission bits instead of the source's: `0o600` for a file that holds secrets, such
    /// as a database backup. Also set on a destination found already in place. `nil` keeps the source's (with
    /// ``preserveAttributes``).
    public var permissions: UInt32?
    /// Skip a file whose destination already has the same size and modification time (and, when
    /// verification is on, the same SHA-256).
    public var skipUnchanged: Bool
    /// Bytes in flight on the pipelined SFTP stream; larger keeps long fat links busy.
    public var windowBytes: Int
    public var progress: (@Sendable (TransferProgress) -> Void)?

    public init(
        resume: Bool = true,
        checksum: RemoteChecksum? = .posixSHA256Sum,
        preserveAttributes: Bool = true,
        permissions: UInt32? = nil,
        skipUnchanged: Bool = true,
        windowBytes: Int = 8 * 1024 * 1024,
        progress: (@Sendable (TransferProgress) -> Void)? = nil
    ) {
        self.resume = resume
        self.checksum = checksum
        self.preserveAttributes = preserveAttributes
        self.permissions = permissions
        self.skipUnchanged = skipUnchanged
        self.windowBytes = windowBytes
        self.progress = progress
    }
}

/// What one file transfer did.
public struct TransferResult: Sendable {
    public var source: String
    public var destination: String
    public var size: UInt64
    /// Bytes sent over the network this time.
    public var transferredBytes: UInt64
    /// Bytes kept from an interrupted earlier transfer.
    public var resumedFromBytes: UInt64
    /// True when the destination was already identical and nothing was sent.
    public var skipped: Bool
    /// Hex SHA-256 of the file, when verification was on.
    public var sha256: String?
    public var duration: Duration
}

extension TransferResult {
    /// A file a batch is about to move: nothing sent or kept yet, not skipped, no checksum, no time taken.
    init(notStarted source: String, to destination: String, size: UInt64) {
        self.init(
            source: source,
            destination: destination,
            size: size,
            transferredBytes: 0,
            resumedFromBytes: 0,
            skipped: false,
            sha256: nil,
            duration: .zero
        )
    }
}
