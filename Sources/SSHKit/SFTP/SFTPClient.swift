import CLibSSH2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// File attributes as SFTP reports them.
public struct SFTPAttributes: Sendable, Equatable {
    public var size: UInt64
    /// Permission bits and file type (`S_IFMT`), as in `st_mode`.
    public var mode: UInt32
    /// Modification time, whole seconds since 1970 (SFTP v3 has no finer resolution).
    public var modificationTime: UInt64
    public var accessTime: UInt64

    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    public var isRegularFile: Bool { mode & 0o170000 == 0o100000 }
    public var isSymbolicLink: Bool { mode & 0o170000 == 0o120000 }
    /// The permission bits alone (e.g. 0o644).
    public var permissions: UInt32 { mode & 0o7777 }
}

/// An SFTP subsystem on one ``SSHSession``. Obtain it with ``SSHSession/withSFTP(_:)``.
///
/// Like the session, every libssh2 call runs on the session's thread; the client holds the session
/// strongly so it cannot be freed underneath.
public final class SFTPClient: @unchecked Sendable {
    public let session: SSHSession
    /// `LIBSSH2_SFTP*`, touched only on the session thread.
    var raw: OpaquePointer?

    init(session: SSHSession, raw: OpaquePointer) {
        self.session = session
        self.raw = raw
    }

    var hostLabel: String { session.configuration.hostLabel }

    // MARK: - Public operations

    /// The attributes of `path` (following symbolic links unless `followLinks` is false), or nil when
    /// there is no such file. Uses `libssh2_sftp_stat_ex`.
    public func attributes(at path: String, followLinks: Bool = true) async throws -> SFTPAttributes? {
        try await session.perform { _ in try self.stat(path, followLinks: followLinks) }
    }

    /// Creates `path` and any missing parents, like `mkdir -p`. Uses `libssh2_sftp_mkdir_ex`.
    public func makeDirectories(_ path: String, mode: UInt32 = 0o755) async throws {
        try await session.perform { _ in try self.mkdirs(path, mode: mode) }
    }

    /// Removes a file. Missing files are not an error. Uses `libssh2_sftp_unlink_ex`.
    public func removeFile(_ path: String) async throws {
        try await session.perform { _ in try self.unlink(path, ignoreMissing: true) }
    }

    /// Renames `source` to `destination`, replacing it. Uses `libssh2_sftp_rename_ex`.
    public func rename(_ source: String, to destination: String) async throws {
        try await session.perform { _ in try self.replace(source, with: destination) }
    }

    // MARK: - Thread-side primitives (call only on the session thread)

    func sftpError(_ what: String, path: String, rc: Int32) -> SSHError {
        guard rc == LIBSSH2_ERROR_SFTP_PROTOCOL, let raw else {
            return session.error(.sftpFailed, during: "\(what) \(path)", function: "libssh2_sftp", rc: rc)
        }
        let status = libssh2_sftp_last_error(raw)
        return SSHError(
            .sftpFailed,
            "Cannot \(what) \(path) on \(hostLabel): \(sftpStatusText(status)).",
            host: "\(session.configuration.host):\(session.configuration.port)",
            libssh2: SSHError.LibSSH2Failure(
                code: Int32(truncatingIfNeeded: status),
                text: sftpStatusText(status),
                operation: "sftp \(what)"
            )
        )
    }

    func lastStatus() -> UInt {
        guard let raw else { return 0 }
        return libssh2_sftp_last_error(raw)
    }

    func stat(_ path: String, followLinks: Bool = true) throws(SSHError) -> SFTPAttributes? {
        guard let raw else { throw closedError() }
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let type = followLinks ? LIBSSH2_SFTP_STAT : LIBSSH2_SFTP_LSTAT
        let rc = try session.call(deadline: .none, operation: "sftp stat") {
            libssh2_sftp_stat_ex(raw, path, UInt32(path.utf8.count), type, &attributes)
        }
        if rc == LIBSSH2_ERROR_SFTP_PROTOCOL {
            let status = Int32(truncatingIfNeeded: lastStatus())
            if status == LIBSSH2_FX_NO_SUCH_FILE || status == LIBSSH2_FX_NO_SUCH_PATH { return nil }
        }
        guard rc == 0 else { throw sftpError("read the attributes of", path: path, rc: rc) }
        return SFTPAttributes(attributes)
    }

    func mkdirs(_ path: String, mode: UInt32) throws(SSHError) {
        guard let raw else { throw closedError() }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") where !component.isEmpty {
            prefix += "/" + component
            if let existing = try stat(prefix) {
                guard existing.isDirectory else {
                    throw SSHError(.sftpFailed, "Cannot create directory \(path) on \(hostLabel): \(prefix) is a file.")
                }
                continue
            }
            let current = prefix
            let rc = try session.call(deadline: .none, operation: "sftp mkdir") {
                libssh2_sftp_mkdir_ex(raw, current, UInt32(current.utf8.count), Int(mode))
            }
            // Another writer may have created it meanwhile; only a real failure counts.
            if rc != 0, (try stat(current))?.isDirectory != true {
                throw sftpError("create directory", path: current, rc: rc)
            }
        }
    }

    func unlink(_ path: String, ignoreMissing: Bool) throws(SSHError) {
        guard let raw else { throw closedError() }
        let rc = try session.call(deadline: .none, operation: "sftp unlink") {
            libssh2_sftp_unlink_ex(raw, path, UInt32(path.utf8.count))
        }
        if rc == LIBSSH2_ERROR_SFTP_PROTOCOL, ignoreMissing {
            let status = Int32(truncatingIfNeeded: lastStatus())
            if status == LIBSSH2_FX_NO_SUCH_FILE || status == LIBSSH2_FX_NO_SUCH_PATH { return }
        }
        guard rc == 0 else { throw sftpError("remove", path: path, rc: rc) }
    }

    /// Renames, replacing an existing destination. SFTP v3 (OpenSSH) refuses to rename onto an existing
    /// file and libssh2 1.10 has no posix-rename extension, so an existing destination is removed first.
    func replace(_ source: String, with destination: String) throws(SSHError) {
        guard let raw else { throw closedError() }
        let flags = Int(LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE)
        func attempt() throws(SSHError) -> Int32 {
            try session.call(deadline: .none, operation: "sftp rename") {
                libssh2_sftp_rename_ex(
                    raw,
                    source,
                    UInt32(source.utf8.count),
                    destination,
                    UInt32(destination.utf8.count),
                    flags
                )
            }
        }
        var rc = try attempt()
        if rc != 0, try stat(destination, followLinks: false) != nil {
            try unlink(destination, ignoreMissing: true)
            rc = try attempt()
        }
        guard rc == 0 else { throw sftpError("rename \(source) to", path: destination, rc: rc) }
    }

    func setAttributes(_ path: String, mode: UInt32?, modificationTime: UInt64?, accessTime: UInt64?) throws(SSHError) {
        guard let raw else { throw closedError() }
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        if let mode {
            attributes.flags |= UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
            attributes.permissions = UInt(mode & 0o7777)
        }
        if let modificationTime {
            attributes.flags |= UInt(LIBSSH2_SFTP_ATTR_ACMODTIME)
            attributes.mtime = UInt(modificationTime)
            attributes.atime = UInt(accessTime ?? modificationTime)
        }
        let rc = try session.call(deadline: .none, operation: "sftp setstat") {
            libssh2_sftp_stat_ex(raw, path, UInt32(path.utf8.count), LIBSSH2_SFTP_SETSTAT, &attributes)
        }
        guard rc == 0 else { throw sftpError("set the attributes of", path: path, rc: rc) }
    }

    func open(_ path: String, flags: Int32, mode: UInt32) throws(SSHError) -> OpaquePointer {
        guard let raw else { throw closedError() }
        let handle = try session.callHandle(deadline: .none, operation: "sftp open") {
            libssh2_sftp_open_ex(raw, path, UInt32(path.utf8.count), UInt(flags), Int(mode), LIBSSH2_SFTP_OPENFILE)
        }
        guard let handle else {
            let rc = libssh2_session_last_errno(session.raw)
            throw sftpError("open", path: path, rc: rc)
        }
        return handle
    }

    func openDirectory(_ path: String) throws(SSHError) -> OpaquePointer {
        guard let raw else { throw closedError() }
        let handle = try session.callHandle(deadline: .none, operation: "sftp opendir") {
            libssh2_sftp_open_ex(raw, path, UInt32(path.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR)
        }
        guard let handle else {
            let rc = libssh2_session_last_errno(session.raw)
            throw sftpError("open directory", path: path, rc: rc)
        }
        return handle
    }

    func closeHandle(_ handle: OpaquePointer) {
        let deadline = Deadline.after(.seconds(10))
        _ = try? session.call(deadline: deadline, operation: "sftp close") { libssh2_sftp_close_handle(handle) }
    }

    /// Entries of a remote directory (without "." and ".."), with attributes (not following links).
    func listDirectory(_ path: String) throws(SSHError) -> [(name: String, attributes: SFTPAttributes)] {
        let handle = try openDirectory(path)
        defer { closeHandle(handle) }
        var entries: [(String, SFTPAttributes)] = []
        var nameBuffer = [CChar](repeating: 0, count: 4096)
        while true {
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            let count = try session.call(deadline: .none, operation: "sftp readdir") {
                libssh2_sftp_readdir_ex(handle, &nameBuffer, nameBuffer.count, nil, 0, &attributes)
            }
            if count == 0 { break }
            guard count > 0 else { throw sftpError("list directory", path: path, rc: count) }
            let name = nameBuffer.withUnsafeBufferPointer { buffer in
                String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            entries.append((name, SFTPAttributes(attributes)))
        }
        return entries.sorted { $0.0 < $1.0 }
    }

    func readLink(_ path: String) throws(SSHError) -> String {
        guard let raw else { throw closedError() }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = try session.call(deadline: .none, operation: "sftp readlink") {
            libssh2_sftp_symlink_ex(
                raw,
                path,
                UInt32(path.utf8.count),
                &buffer,
                UInt32(buffer.count),
                LIBSSH2_SFTP_READLINK
            )
        }
        guard count >= 0 else { throw sftpError("read link", path: path, rc: count) }
        return String(decoding: buffer.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Creates a symbolic link at `linkPath` pointing to `target`.
    ///
    /// OpenSSH's server reads SSH_FXP_SYMLINK's two paths in the opposite order to the draft
    /// (target first), and libssh2 sends its first argument first, so the target goes first here.
    func makeSymlink(at linkPath: String, pointingTo target: String) throws(SSHError) {
        guard let raw else { throw closedError() }
        var linkBytes = Array(linkPath.utf8CString)
        let rc = try session.call(deadline: .none, operation: "sftp symlink") {
            linkBytes.withUnsafeMutableBufferPointer { buffer in
                libssh2_sftp_symlink_ex(
                    raw,
                    target,
                    UInt32(target.utf8.count),
                    buffer.baseAddress,
                    UInt32(linkPath.utf8.count),
                    LIBSSH2_SFTP_SYMLINK
                )
            }
        }
        guard rc != 0 else { return }
        // Observed with libssh2 1.10 against OpenSSH 9.2: the link is created but libssh2 reports status
        // 12, which OpenSSH never sends. The server's state is the truth, so check it before failing.
        let failure = sftpError("create symbolic link", path: linkPath, rc: rc)
        if let made = try stat(linkPath, followLinks: false), made.isSymbolicLink, try readLink(linkPath) == target {
            return
        }
        throw failure
    }

    func closedError() -> SSHError {
        SSHError(.disconnected, "The SFTP session on \(hostLabel) is closed.")
    }
}

extension SFTPAttributes {
    init(_ raw: LIBSSH2_SFTP_ATTRIBUTES) {
        self.init(
            size: UInt64(raw.filesize),
            mode: UInt32(truncatingIfNeeded: raw.permissions),
            modificationTime: UInt64(raw.mtime),
            accessTime: UInt64(raw.atime)
        )
    }
}

extension SSHSession {
    /// Starts the SFTP subsystem, runs `body` with it, and shuts it down on every path.
    /// Uses `libssh2_sftp_init` and `libssh2_sftp_shutdown`.
    public func withSFTP<T: Sendable>(_ body: (SFTPClient) async throws -> T) async throws -> T {
        let client = try await perform { session -> SFTPClient in
            guard let raw = session.raw else {
                throw SSHError(.disconnected, "The connection to \(session.configuration.hostLabel) is closed.")
            }
            let deadline = Deadline.after(session.configuration.connectTimeout)
            let sftp = try session.callHandle(deadline: deadline, operation: "sftp start") { libssh2_sftp_init(raw) }
            guard let sftp else {
                let rc = libssh2_session_last_errno(raw)
                throw session.error(.sftpFailed, during: "starting SFTP", function: "libssh2_sftp_init", rc: rc)
            }
            return SFTPClient(session: session, raw: sftp)
        }
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

extension SFTPClient {
    func shutdown() async {
        _ = try? await session.thread.run {
            guard let raw = self.raw else { return }
            let deadline = Deadline.after(.seconds(2))
            _ = try? self.session.call(deadline: deadline, operation: "sftp shutdown") { libssh2_sftp_shutdown(raw) }
            self.raw = nil
        }
    }
}
