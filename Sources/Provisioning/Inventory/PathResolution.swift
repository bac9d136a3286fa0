/// Path handling shared by the inventory and the files it refers to.
enum PathResolution {
    /// Resolves `path` the way an inventory means it: `~` and `~/…` against `home`, a relative path against
    /// `directory`, and `.` and `..` removed lexically (symbolic links are left alone).
    ///
    /// - Parameters:
    ///   - path: The path as written.
    ///   - directory: An absolute directory that relative paths start from.
    ///   - home: The home directory for `~`.
    /// - Returns: An absolute, normalized path.
    static func resolve(_ path: String, relativeTo directory: String, home: String) -> String {
        let expanded: String
        if path == "~" {
            expanded = home
        } else if path.hasPrefix("~/") {
            expanded = home + path.dropFirst(1)
        } else {
            expanded = path
        }
        return normalize(expanded.hasPrefix("/") ? expanded : directory + "/" + expanded)
    }

    /// The directory part of an absolute path (`/` for a file at the root).
    static func directory(of path: String) -> String {
        var components = path.split(separator: "/", omittingEmptySubsequences: true)
        _ = components.popLast()
        return "/" + components.joined(separator: "/")
    }

    /// Removes empty components, `.` and `..` from an absolute path.
    static func normalize(_ path: String) -> String {
        var components: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".":
                continue
            case "..":
                _ = components.popLast()
            default:
                components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }
}
