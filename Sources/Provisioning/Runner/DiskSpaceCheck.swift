import Foundation

/// The preflight's disk-space rule: before anything changes, the host must have room for what the steps put
/// there — the backup and the uploaded package in `work_dir`, the restored database in `data_dir` (at least the
/// backup's size), and the server folders under `home_dir`.
///
/// The preflight script reports each folder's free bytes (`free_bytes_work_dir`, `free_bytes_data_dir`,
/// `free_bytes_home_dir`); folders that report the same free bytes are taken to share a file system, and their
/// needs are added up.
public enum DiskSpaceCheck {
    /// One sentence saying which folder lacks how much room, or `nil` when there is room.
    ///
    /// - Parameters:
    ///   - plan: The host's plan.
    ///   - facts: The preflight step's facts.
    ///   - fileSize: The size of a local file (injected for tests).
    ///   - folderSize: The bytes of a local folder's files (injected for tests).
    /// - Returns: The problem, if any.
    public static func problem(
        plan: ProvisioningPlan.HostPlan,
        facts: [String: String],
        fileSize: (String) -> UInt64 = Self.fileSize,
        folderSize: (String) -> UInt64 = Self.folderSize
    ) -> String? {
        let backup = plan.instance.backup.map(fileSize) ?? 0
        let package = plan.instance.package?.localFile.map(fileSize) ?? 0
        let folders = plan.instance.folders.values.reduce(UInt64(0)) { $0 + folderSize($1) }
        let needs: [(name: String, fact: String, bytes: UInt64)] = [
            ("work_dir", "free_bytes_work_dir", backup + package),
            ("data_dir", "free_bytes_data_dir", backup),
            ("home_dir", "free_bytes_home_dir", folders),
        ]
        var byFileSystem: [UInt64: (names: [String], bytes: UInt64)] = [:]
        for need in needs where need.bytes > 0 {
            guard let free = facts[need.fact].flatMap({ UInt64($0) }) else { continue }
            var entry = byFileSystem[free] ?? ([], 0)
            entry.names.append(need.name)
            entry.bytes += need.bytes
            byFileSystem[free] = entry
        }
        for (free, entry) in byFileSystem.sorted(by: { $0.key < $1.key }) where entry.bytes > free {
            let folders = entry.names.map { "\($0) (\(plan.variables[$0] ?? ""))" }.joined(separator: " and ")
            return "The host has \(free) bytes free for \(folders) but the backup, package and server folders need "
                + "\(entry.bytes); free some space or point \(entry.names.joined(separator: "/")) at a larger disk."
        }
        return nil
    }

    /// The bytes of the regular files under a local folder.
    public static func folderSize(_ path: String) -> UInt64 {
        FolderManifest.size(of: path)
    }

    /// The size of a local file, 0 when it cannot be read.
    public static func fileSize(_ path: String) -> UInt64 {
        // Sizes for progress and room estimates only: an unreadable file is reported by the step that reads it.
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
    }
}
