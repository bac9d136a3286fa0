import Foundation
public import Logging
public import SSHKit

/// The runner's transport over SSH: commands on the session, files over its SFTP channel.
public struct SSHHostTransport: HostTransport {
    /// The open session.
    public let session: SSHSession

    /// Wraps an open session; ``close()`` closes it.
    public init(session: SSHSession) {
        self.session = session
    }

    public func run(
        _ command: String,
        stdin: [UInt8],
        onOutput: (@Sendable (SSHKit.OutputStream, [UInt8]) -> Void)?
    ) async throws -> HostCommandResult {
        let result = try await session.run(command, options: ExecOptions(stdin: stdin, onOutput: onOutput))
        return HostCommandResult(
            succeeded: result.succeeded,
            statusDescription: result.statusDescription,
            stdout: result.stdoutText,
            stderr: result.stderrText
        )
    }

    public func withFiles<T: Sendable>(_ body: (any HostFiles) async throws -> T) async throws -> T {
        try await session.withSFTP { sftp in try await body(SFTPHostFiles(sftp: sftp)) }
    }

    public func close() async {
        await session.close()
    }
}

/// The runner's file moves over SFTP.
struct SFTPHostFiles: HostFiles {
    let sftp: SFTPClient

    func makeDirectories(_ path: String, mode: UInt32) async throws {
        try await sftp.makeDirectories(path, mode: mode)
    }

    func read(_ path: String) async throws -> Data? {
        guard try await sftp.attributes(at: path) != nil else { return nil }
        let local = FileManager.default.temporaryDirectory.appendingPathComponent("octoprov-\(UUID().uuidString)").path
        // Cleanup of a private temporary file: nothing to report if it is already gone.
        defer { try? FileManager.default.removeItem(atPath: local) }
        _ = try await sftp.download(
            from: path,
            to: local,
            options: TransferOptions(resume: false, checksum: nil, skipUnchanged: false)
        )
        return FileManager.default.contents(atPath: local)
    }

    /// Each file goes through a private local staging folder (0700, the file 0600) and keeps its mode on the host.
    func write(
        _ files: [ProvisioningPlan.RenderedFile],
        into directory: String,
        checksum: RemoteChecksum?
    ) async throws {
        let staging = try privateTemporaryDirectory("octoprov")
        // Cleanup of a private staging folder: nothing to report if it is already gone.
        defer { try? FileManager.default.removeItem(atPath: staging) }
        for file in files {
            let local = staging + "/" + file.outputName
            try Data(file.contents.utf8).write(to: URL(fileURLWithPath: local))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: local)
            _ = try await sftp.upload(
                from: local,
                to: directory + "/" + file.outputName,
                options: TransferOptions(checksum: checksum, preserveAttributes: true, skipUnchanged: false)
            )
        }
    }

    func upload(from local: String, to remote: String, options: TransferOptions) async throws -> FileTransfer {
        let result = try await sftp.upload(from: local, to: remote, options: options)
        return FileTransfer(
            size: result.size,
            skipped: result.skipped,
            resumedFromBytes: result.resumedFromBytes,
            sha256: result.sha256
        )
    }

    func uploadTree(from local: String, to remote: String, options: TransferOptions) async throws -> TreeTransfer {
        Self.tree(try await sftp.uploadTree(from: local, to: remote, options: options))
    }

    func downloadTree(from remote: String, to local: String, options: TransferOptions) async throws -> TreeTransfer {
        Self.tree(try await sftp.downloadTree(from: remote, to: local, options: options))
    }

    private static func tree(_ result: TreeTransferResult) -> TreeTransfer {
        TreeTransfer(
            files: result.files.count,
            unchangedFiles: result.unchangedFiles,
            totalBytes: result.totalBytes,
            transferredBytes: result.transferredBytes
        )
    }
}

/// Connects to inventory hosts over SSH with their inventory settings.
public struct SSHConnector: HostConnector {
    /// The SSH layer's logger.
    public var logger: Logger
    /// The environment the hosts' SSH secrets are read from.
    public var environment: [String: String]

    /// Creates a connector.
    public init(logger: Logger, environment: [String: String]) {
        self.logger = logger
        self.environment = environment
    }

    public func connect(to host: InventoryHost) async throws -> any HostTransport {
        SSHHostTransport(
            session: try await SSHSession.connect(host.sshConfiguration(logger: logger, environment: environment))
        )
    }
}
