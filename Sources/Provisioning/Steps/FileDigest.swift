import Crypto
import Foundation

/// SHA-256 of local files (packages, backups), computed in 1 MiB reads.
public enum FileDigest {
    /// The lower-case hex SHA-256 of the file at `path`.
    ///
    /// - Parameter path: A local file.
    /// - Returns: 64 hex digits.
    /// - Throws: The error of opening or reading the file.
    public static func sha256(path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
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
