import Crypto
import Foundation

/// A digest of a local folder tree's listing (relative path, type, size, modification time), so that a changed
/// server folder reruns `copy-folders` without reading every file.
enum FolderManifest {
    static func digest(of directory: String) -> String {
        scan(directory).digest
    }

    /// The bytes of the regular files under `directory`.
    static func size(of directory: String) -> UInt64 {
        scan(directory).bytes
    }

    private static func scan(_ directory: String) -> (digest: String, bytes: UInt64) {
        var hasher = SHA256()
        var bytes: UInt64 = 0
        let fileManager = FileManager.default
        var entries: [String] = []
        if let enumerator = fileManager.enumerator(atPath: directory) {
            while let relative = enumerator.nextObject() as? String {
                // A file gone while the tree is measured is left out of the estimate; the copy reports real errors.
                let attributes = (try? fileManager.attributesOfItem(atPath: directory + "/" + relative)) ?? [:]
                let type = (attributes[.type] as? FileAttributeType)?.rawValue ?? "?"
                let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                entries.append("\(relative)\u{0}\(type)\u{0}\(size)\u{0}\(modified)")
                if type == FileAttributeType.typeRegular.rawValue { bytes += size }
            }
        }
        for entry in entries.sorted() {
            // (Sorted so that the digest does not depend on the order the folder is listed in.)
            hasher.update(data: Data(entry.utf8))
            hasher.update(data: Data([0x0A]))
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), bytes)
    }
}
