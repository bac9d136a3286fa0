extension Inventory {
    /// The hosts a `--limit` value selects, in file order.
    ///
    /// `limit` is a comma-separated list of host names and globs (`*` matches any run of characters, `?` any one
    /// character). A pattern that starts with `!` excludes the hosts it matches; a list of exclusions only starts
    /// from every host. `nil` or an empty string selects every host.
    ///
    /// - Parameter limit: The `--limit` value, such as `vm*,!vm3`.
    /// - Returns: The selected hosts, in the order the inventory lists them.
    /// - Throws: ``HostSelectionError`` with `unmatchedPattern` when a pattern without `!` matches no host
    ///   (the message lists the known hosts), or `nothingSelected` when the exclusions leave no host.
    public func select(limit: String?) throws(HostSelectionError) -> [InventoryHost] {
        let patterns = (limit ?? "").split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
        guard !patterns.isEmpty else { return hosts }
        let included = patterns.filter { !$0.hasPrefix("!") }
        let excluded = patterns.filter { $0.hasPrefix("!") }.map { String($0.dropFirst()) }
        for pattern in included where !hosts.contains(where: { globMatches(pattern, $0.name) }) {
            throw HostSelectionError(
                .unmatchedPattern,
                pattern: pattern,
                "--limit pattern `\(pattern)` matches no host; the inventory has \(knownHostList)."
            )
        }
        let selected = hosts.filter { host in
            (included.isEmpty || included.contains { globMatches($0, host.name) })
                && !excluded.contains { globMatches($0, host.name) }
        }
        guard !selected.isEmpty else {
            throw HostSelectionError(
                .nothingSelected,
                pattern: limit ?? "",
                "--limit `\(limit ?? "")` leaves no host to run on; the inventory has \(knownHostList)."
            )
        }
        return selected
    }

    private var knownHostList: String {
        hosts.map(\.name).joined(separator: ", ")
    }
}

/// A `--limit` value that selects nothing, in one sentence listing the known hosts.
public struct HostSelectionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong (a struct around a private enum, so that new codes never break a caller's `switch`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case unmatchedPattern
            case nothingSelected
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// A name or glob (without `!`) matches no host.
        public static let unmatchedPattern = Code(.unmatchedPattern)
        /// Every host matched by the list is excluded again.
        public static let nothingSelected = Code(.nothingSelected)

        /// The code's name, such as `unmatchedPattern`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The pattern at fault (the whole `--limit` value for `nothingSelected`).
    public var pattern: String
    /// One sentence naming the pattern and listing the known hosts.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - pattern: The pattern at fault.
    ///   - message: One sentence naming the pattern.
    public init(_ code: Code, pattern: String, _ message: String) {
        self.code = code
        self.pattern = pattern
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// Whether `name` matches the glob `pattern`, where `*` matches any run of characters and `?` any one.
func globMatches(_ pattern: String, _ name: String) -> Bool {
    let pattern = Array(pattern)
    let name = Array(name)
    var p = 0
    var n = 0
    var star: Int?
    var starMatch = 0
    while n < name.count {
        if p < pattern.count, pattern[p] == "?" || pattern[p] == name[n] {
            p += 1
            n += 1
        } else if p < pattern.count, pattern[p] == "*" {
            star = p
            starMatch = n
            p += 1
        } else if let star {
            p = star + 1
            starMatch += 1
            n = starMatch
        } else {
            return false
        }
    }
    while p < pattern.count, pattern[p] == "*" { p += 1 }
    return p == pattern.count
}

extension Substring {
    /// The substring without leading and trailing `character`s.
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
