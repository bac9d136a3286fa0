import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// File helpers for the VMs' folders, keys and logs: reading a log's tail, sizes, folders and files written with
/// their permissions, absolute paths. Failures are one-sentence ``LoopbackVMError``s.
package enum Files {
    /// The last `lineCount` lines of the file at `path`, read from byte `offset` on ("" if unreadable).
    package static func tail(of path: String, from offset: UInt64 = 0, lineCount: Int = 20) -> String {
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
    package static func fileSize(_ path: String) -> UInt64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// Creates `path` (and its parents) if needed, wrapping failures in a one-sentence error.
    package static func makeDirectory(_ path: String, permissions: Int? = nil) throws {
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
            throw LoopbackVMError.fileSystem("Cannot create the directory \(path): \(error.localizedDescription)")
        }
    }

    /// Writes `text` to `path` (replacing it), wrapping failures in a one-sentence error.
    package static func write(_ text: String, to path: String, permissions: Int? = nil) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            if let permissions {
                try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
            }
        } catch {
            throw LoopbackVMError.fileSystem("Cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The absolute, standardized form of `path` (relative paths are taken from the current directory).
    package static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
