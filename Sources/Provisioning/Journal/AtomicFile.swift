public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a file could not be written (or read, moved or locked): the path, the system call and the system's reason.
public struct FileOperationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file or folder.
    public var path: String
    /// What octoprov was doing, such as `write` or `rename`.
    public var operation: String
    /// The `errno` value, or 0 when the failure was not a system call's.
    public var code: Int32
    /// The system's text for ``code`` (or the reason when ``code`` is 0).
    public var reason: String

    /// Creates an error from a failed system call's `errno`.
    ///
    /// - Parameters:
    ///   - path: The file or folder.
    ///   - operation: The operation that failed.
    ///   - code: The `errno` value.
    public init(path: String, operation: String, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
        self.reason = String(cString: strerror(code))
    }

    /// Creates an error with a reason of its own.
    ///
    /// - Parameters:
    ///   - path: The file or folder.
    ///   - operation: The operation that failed.
    ///   - reason: Why it failed.
    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.code = 0
        self.reason = reason
    }

    /// `Cannot write /path (write: No space left on device); …`: one sentence with what to do.
    public var description: String {
        "Cannot \(operation) \(path) (\(reason)); check the folder's permissions and free space, or choose "
            + "another folder."
    }
}

/// Replaces files atomically: the new contents go to a temporary file in the same folder, which is flushed to disk
/// (`fsync`), renamed over the target (`rename(2)` is atomic within a file system) and followed by an `fsync` of the
/// folder, so after a crash or power loss the file holds either the old or the new contents, never a mix.
///
/// Temporary files are named `.<name>.tmp-<pid>-<random>`; ``leftovers(of:)`` finds those a crash left behind.
public enum AtomicFile {
    /// Writes `data` to `path` atomically, creating or replacing it with `permissions` (whatever the umask).
    ///
    /// - Parameters:
    ///   - data: The new contents.
    ///   - path: The file to replace; its folder must exist.
    ///   - permissions: The file's mode, such as `0o600`.
    /// - Throws: ``FileOperationError`` naming the failed step; the target is then unchanged and the temporary file
    ///   removed.
    public static func write(_ data: Data, to path: String, permissions: Int) throws(FileOperationError) {
        let pending = try prepare(data, for: path, permissions: permissions)
        try pending.commit()
    }

    /// The temporary files a crash between writing and renaming left beside `path`.
    ///
    /// - Parameter path: The target file.
    /// - Returns: Their paths, sorted.
    public static func leftovers(of path: String) -> [String] {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let prefix = temporaryPrefix(for: url.lastPathComponent)
        // A folder that is missing or cannot be listed has no leftovers octoprov could remove.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted().map { folder + "/" + $0 }
    }

    /// The first half of a write: the temporary file, written and flushed, not yet renamed.
    struct Pending {
        /// The temporary file.
        let temporaryPath: String
        /// The target.
        let path: String

        /// Renames the temporary file over the target and flushes the folder.
        ///
        /// - Throws: ``FileOperationError``; the temporary file is removed.
        func commit() throws(FileOperationError) {
            guard rename(temporaryPath, path) == 0 else {
                let code = errno
                unlink(temporaryPath)
                throw FileOperationError(path: path, operation: "rename a new version over", code: code)
            }
            try AtomicFile.syncFolder(of: path)
        }
    }

    /// Writes and flushes the temporary file for `path`.
    static func prepare(_ data: Data, for path: String, permissions: Int) throws(FileOperationError) -> Pending {
        let mode = mode_t(permissions)
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = folder + "/" + temporaryPrefix(for: url.lastPathComponent) + "\(getpid())-\(random)"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw FileOperationError(path: temporary, operation: "create", code: errno)
        }
        var failure: FileOperationError?
        if fchmod(fd, mode) != 0 {
            failure = FileOperationError(path: temporary, operation: "set the permissions of", code: errno)
        } else if let code = writeAll(fd, data) {
            failure = FileOperationError(path: temporary, operation: "write", code: code)
        } else if fsync(fd) != 0 {
            failure = FileOperationError(path: temporary, operation: "flush (fsync)", code: errno)
        }
        if close(fd) != 0 && failure == nil {
            failure = FileOperationError(path: temporary, operation: "close", code: errno)
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        return Pending(temporaryPath: temporary, path: path)
    }

    /// Flushes the folder holding `path`, so a rename in it survives a power loss.
    static func syncFolder(of path: String) throws(FileOperationError) {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let fd = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileOperationError(path: folder, operation: "open the folder", code: errno) }
        defer { close(fd) }
        // Some file systems cannot fsync a folder (EINVAL); the rename is still atomic there.
        if fsync(fd) != 0 && errno != EINVAL {
            throw FileOperationError(path: folder, operation: "flush (fsync) the folder", code: errno)
        }
    }

    private static func temporaryPrefix(for name: String) -> String {
        ".\(name).tmp-"
    }

    /// Writes every byte, retrying interrupted and partial writes; returns the `errno` of a failure.
    static func writeAll(_ fd: Int32, _ data: Data) -> Int32? {
        data.withUnsafeBytes { buffer -> Int32? in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
    }
}
