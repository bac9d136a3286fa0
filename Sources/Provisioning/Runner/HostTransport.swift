public import Foundation
public import SSHKit

/// How the runner reaches one host: commands with their stdin and output, and file moves. ``SSHHostTransport`` is
/// the real one (an SSH session and its SFTP channel); tests answer with an in-memory host.
///
/// The `verify` step's REST checks and the test-instance flow's project import forward a port on connections of
/// their own (``HostRun/Verifier``, ``ProjectImport/Importer``), so the transport does not carry them.
public protocol HostTransport: Sendable {
    /// Runs `command` with `stdin` then end-of-file, feeding its output to `onOutput` as it arrives.
    ///
    /// - Parameters:
    ///   - command: The command, for the user's shell on the host.
    ///   - stdin: The bytes written to its standard input.
    ///   - onOutput: Called with each chunk of output.
    /// - Returns: How it ended, with its collected output. A non-zero exit status is a result, not an error.
    /// - Throws: When the host cannot be asked (a lost connection).
    func run(
        _ command: String,
        stdin: [UInt8],
        onOutput: (@Sendable (SSHKit.OutputStream, [UInt8]) -> Void)?
    ) async throws -> HostCommandResult

    /// Opens file access on the host (SFTP), runs `body` with it, and closes it on every path.
    ///
    /// - Parameter body: What to do with the files.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, or why file access could not be opened.
    func withFiles<T: Sendable>(_ body: (any HostFiles) async throws -> T) async throws -> T

    /// Ends the connection. Never throws.
    func close() async
}

/// The file moves the runner makes on a host.
public protocol HostFiles: Sendable {
    /// Creates `path` and its missing parents with `mode`.
    func makeDirectories(_ path: String, mode: UInt32) async throws

    /// The contents of the remote file at `path`, or `nil` when there is none.
    func read(_ path: String) async throws -> Data?

    /// Writes rendered files into `directory` (each 0600), verified with `checksum` when given.
    func write(
        _ files: [ProvisioningPlan.RenderedFile],
        into directory: String,
        checksum: RemoteChecksum?
    )
        async throws

    /// Uploads a local file (resumable, verified, skipped when already there, as `options` say).
    func upload(from local: String, to remote: String, options: TransferOptions) async throws -> FileTransfer

    /// Uploads a local folder tree into `remote`.
    func uploadTree(from local: String, to remote: String, options: TransferOptions) async throws -> TreeTransfer

    /// Downloads a remote folder tree into `local`.
    func downloadTree(from remote: String, to local: String, options: TransferOptions) async throws -> TreeTransfer
}

/// Opens a ``HostTransport`` to an inventory host.
public protocol HostConnector: Sendable {
    /// Connects to `host` (network, host key, authentication).
    ///
    /// - Parameter host: The inventory host.
    /// - Returns: The open transport; the caller closes it.
    /// - Throws: Why the host could not be reached.
    func connect(to host: InventoryHost) async throws -> any HostTransport
}

extension HostConnector {
    /// Connects to `host`, runs `body`, and closes the transport on every path.
    func withTransport<T: Sendable>(
        to host: InventoryHost,
        _ body: (any HostTransport) async throws -> T
    ) async throws -> T {
        let transport = try await connect(to: host)
        do {
            let result = try await body(transport)
            await transport.close()
            return result
        } catch {
            await transport.close()
            throw error
        }
    }
}

/// How a command on a host ended, as the runner reads it.
public struct HostCommandResult: Sendable {
    /// True when it exited with status 0.
    public var succeeded: Bool
    /// "exit status 3" or "signal KILL", for messages.
    public var statusDescription: String
    /// Its standard output.
    public var stdout: String
    /// Its standard error.
    public var stderr: String

    /// Creates a result.
    public init(succeeded: Bool, statusDescription: String, stdout: String, stderr: String) {
        self.succeeded = succeeded
        self.statusDescription = statusDescription
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// What one file upload did.
public struct FileTransfer: Sendable {
    /// The file's size.
    public var size: UInt64
    /// True when the destination was already identical and nothing was sent.
    public var skipped: Bool
    /// Bytes kept from an interrupted earlier transfer.
    public var resumedFromBytes: UInt64
    /// Hex SHA-256 of the file, when verification was on.
    public var sha256: String?

    /// Creates a result.
    public init(size: UInt64, skipped: Bool, resumedFromBytes: UInt64 = 0, sha256: String? = nil) {
        self.size = size
        self.skipped = skipped
        self.resumedFromBytes = resumedFromBytes
        self.sha256 = sha256
    }
}

/// What one folder-tree transfer did.
public struct TreeTransfer: Sendable {
    /// The files of the tree.
    public var files: Int
    /// Those already identical at the destination.
    public var unchangedFiles: Int
    /// The bytes of every file.
    public var totalBytes: UInt64
    /// The bytes sent this time.
    public var transferredBytes: UInt64

    /// Creates a result.
    public init(files: Int, unchangedFiles: Int = 0, totalBytes: UInt64 = 0, transferredBytes: UInt64 = 0) {
        self.files = files
        self.unchangedFiles = unchangedFiles
        self.totalBytes = totalBytes
        self.transferredBytes = transferredBytes
    }
}
