import Crypto
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where journals live: `<state dir>/journal/<inventory>-<instance>-<12 hex>.json`, one per inventory file and
/// instance.
///
/// The state folder is `$XDG_STATE_HOME/octoprov` when `XDG_STATE_HOME` is an absolute path, otherwise
/// `~/.local/state/octoprov`; `--state-dir` overrides it. `<inventory>` (the file name without its extension) and
/// `<instance>` are readable slugs; the 12 hex digits are the start of the SHA-256 of the inventory's absolute path
/// (symbolic links resolved) and the instance name, so two inventories or instances never share a journal even when
/// their slugs look alike, and the same inventory reached by another relative path always finds its own.
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
    /// - Returns: `<stateDirectory>/journal/<inventory slug>-<instance slug>-<hash>.json`, where the hash is the
    ///   first 12 hex digits of SHA-256(`inventoryPath` NUL `instance`) and a slug keeps ASCII letters, digits, `.`,
    ///   `_` and `-` (others become `_`, at most 40 characters).
    public static func journalPath(stateDirectory: String, inventoryPath: String, instance: String) -> String {
        let key = Data(inventoryPath.utf8) + [0] + Data(instance.utf8)
        let digest = SHA256.hash(data: key).map { String(format: "%02x", $0) }.joined()
        let inventoryName = URL(fileURLWithPath: inventoryPath).deletingPathExtension().lastPathComponent
        return trimmingTrailingSlashes(stateDirectory)
            + "/journal/\(slug(inventoryName))-\(slug(instance))-\(digest.prefix(12)).json"
    }

    /// `text` with every character but ASCII letters, digits, `.`, `_` and `-` replaced by `_`, cut to 40
    /// characters; never empty and never starting with `.`.
    static func slug(_ text: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        var result = String(text.map { allowed.contains($0) ? $0 : "_" }.prefix(40))
        if result.isEmpty || result.hasPrefix(".") {
            result = "_" + result.dropFirst(result.isEmpty ? 0 : 1)
        }
        return result
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
