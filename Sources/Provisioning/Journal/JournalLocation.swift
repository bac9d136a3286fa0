import Crypto
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where journals live: `<state dir>/journal/<instance>-<12 hex>.json`, one per inventory file and instance.
///
/// The state folder is `$XDG_STATE_HOME/octoprov` when `XDG_STATE_HOME` is an absolute path, otherwise
/// `~/.local/state/octoprov`; `--state-dir` overrides it. The 12 hex digits are the start of the SHA-256 of the
/// inventory's absolute path (symbolic links resolved), so two inventories never share a journal and the same
/// inventory reached by another relative path always finds its own.
public enum JournalLocation {
    /// The default state folder for `environment`.
    ///
    /// - Parameter environment: The process environment (`XDG_STATE_HOME`, `HOME`).
    /// - Returns: An absolute folder path ending in `/octoprov`.
    public static func defaultStateDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            return trimmingTrailingSlashes(xdg) + "/octoprov"
        }
        var home = environment["HOME"] ?? ""
        if home.isEmpty {
            home = NSHomeDirectory()
        }
        return trimmingTrailingSlashes(home) + "/.local/state/octoprov"
    }

    /// The inventory's absolute path with `.`, `..` and symbolic links resolved (as far as the file exists).
    ///
    /// - Parameter path: The inventory path as given, relative to the current folder or absolute.
    /// - Returns: The absolute path the journal is keyed on.
    public static func canonicalInventoryPath(_ path: String) -> String {
        let absolute =
            path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let standardized = URL(fileURLWithPath: absolute).standardizedFileURL.path
        guard let resolved = realpath(standardized, nil) else { return standardized }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The journal file of `instance` of the inventory at `inventoryPath`.
    ///
    /// - Parameters:
    ///   - stateDirectory: The state folder (``defaultStateDirectory(environment:)`` or `--state-dir`).
    ///   - inventoryPath: The inventory's canonical path (``canonicalInventoryPath(_:)``).
    ///   - instance: The instance name.
    /// - Returns: `<stateDirectory>/journal/<instance>-<first 12 hex of SHA-256(inventoryPath)>.json`.
    public static func journalPath(stateDirectory: String, inventoryPath: String, instance: String) -> String {
        let digest = SHA256.hash(data: Data(inventoryPath.utf8)).map { String(format: "%02x", $0) }.joined()
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let safeInstance = String(instance.map { allowed.contains($0) ? $0 : "_" })
        return trimmingTrailingSlashes(stateDirectory) + "/journal/\(safeInstance)-\(digest.prefix(12)).json"
    }

    /// The lock file beside a journal: the journal's path with `.json` replaced by `.lock`.
    ///
    /// - Parameter journalPath: The journal's path.
    /// - Returns: The lock file's path.
    public static func lockPath(forJournal journalPath: String) -> String {
        (journalPath.hasSuffix(".json") ? String(journalPath.dropLast(5)) : journalPath) + ".lock"
    }

    private static func trimmingTrailingSlashes(_ path: String) -> String {
        var result = path
        while result.count > 1 && result.hasSuffix("/") {
            result.removeLast()
        }
        return result
    }
}
