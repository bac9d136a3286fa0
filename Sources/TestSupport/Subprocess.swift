import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs short-lived helper programs (ssh-keygen, ssh-add, sshd -t) and finds them on disk.
enum Subprocess {
    /// Folders searched after `PATH`, so that `/usr/sbin` programs are found even when `PATH` lacks it.
    private static let fallbackFolders = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"]

    /// The absolute path of `name`, searched in `PATH` and then the usual system folders.
    static func locate(_ name: String) throws -> String {
        let pathFolders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for folder in pathFolders + fallbackFolders where !folder.isEmpty {
            let candidate = (folder as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw TestSupportError.executableNotFound(name)
    }

    /// Runs `executable` to completion (see `ChildProcess.run`) and returns its exit status and combined output.
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        timeout: TimeInterval = 60
    ) throws -> ChildProcess.Result {
        try ChildProcess.run(executable, arguments, environment: environment, timeout: timeout)
    }

    /// Like `run`, but throws `TestSupportError.commandFailed` unless the program exits with status 0.
    @discardableResult
    static func runChecked(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        timeout: TimeInterval = 60
    ) throws -> String {
        let result = try run(executable, arguments, environment: environment, timeout: timeout)
        guard result.exitStatus == 0 else {
            throw TestSupportError.commandFailed(
                command: [executable] + arguments,
                exitStatus: result.exitStatus,
                output: result.output
            )
        }
        return result.output
    }

    /// The last `lineCount` lines of the file at `path`, read from byte `offset` on ("" if unreadable).
    static func tail(of path: String, from offset: UInt64 = 0, lineCount: Int = 20) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return ""
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: offset)
            let data = try handle.readToEnd() ?? Data()
            let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            return lines.suffix(lineCount).joined(separator: "\n")
        } catch {
            return ""
        }
    }

    /// The size of the file at `path`, or 0 if it does not exist.
    static func fileSize(_ path: String) -> UInt64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// Creates `path` (and its parents) if needed, wrapping failures in a one-sentence error.
    static func makeDirectory(_ path: String, permissions: Int? = nil) throws {
        var attributes: [FileAttributeKey: Any] = [:]
        if let permissions {
            attributes[.posixPermissions] = permissions
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: attributes
            )
        } catch {
            throw TestSupportError.fileSystem("Cannot create the directory \(path): \(error.localizedDescription)")
        }
    }

    /// Writes `text` to `path` (replacing it), wrapping failures in a one-sentence error.
    static func write(_ text: String, to path: String, permissions: Int? = nil) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            if let permissions {
                try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
            }
        } catch {
            throw TestSupportError.fileSystem("Cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The absolute, standardized form of `path` (relative paths are taken from the current directory).
    static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
