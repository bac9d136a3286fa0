import Crypto
import Foundation
import Synchronization

/// SHA-256 of local files (packages, backups), computed in 1 MiB reads.
///
/// A digest is kept for the life of the process, keyed by the file's path, inode, size and modification time: the
/// inventory check, each plan (`upgrade` and `rebuild` build two) and the run's preflight all ask for the same
/// multi-gigabyte backup or package, which is read once.
public enum FileDigest {
    private struct Key: Hashable {
        var path: String
        var inode: UInt64
        var size: Int64
        var modified: Date
    }

    private static let known = Mutex<[Key: String]>([:])

    /// The lower-case hex SHA-256 of the file at `path`.
    ///
    /// - Parameter path: A local file.
    /// - Returns: 64 hex digits.
    /// - Throws: The error of opening or reading the file.
    public static func sha256(path: String) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let key = Key(
            path: path,
            inode: (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0,
            size: (attributes[.size] as? NSNumber)?.int64Value ?? -1,
            modified: attributes[.modificationDate] as? Date ?? .distantPast
        )
        if let digest = known.withLock({ $0[key] }) { return digest }
        let digest = try read(path)
        known.withLock { $0[key] = digest }
        return digest
    }

    private static func read(_ path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        // Closing a file only read from loses nothing; the digest is already whole or thrown.
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
