extension Inventory {
    /// The hosts a `--limit` value selects, in file order.
    ///
    /// `limit` is a comma-separated list of host names, group names and globs over both (`*` matches any run of
    /// characters, `?` any one character); a group stands for every host in it, nested groups included. A
    /// pattern that starts with `!` excludes the hosts it matches; a list of exclusions only starts from every
    /// host. `nil` or an empty string selects every host.
    ///
    /// - Parameter limit: The `--limit` value, such as `vm*,!vm3` or `clones,!vm2`.
    /// - Returns: The selected hosts, in the order the inventory lists them.
    /// - Throws: ``HostSelectionError`` with `unmatchedPattern` when a pattern without `!` matches no host or
    ///   group (the message lists the known hosts and groups), or `nothingSelected` when the exclusions leave no
    ///   host.
    public func select(limit: String?) throws(HostSelectionError) -> [InventoryHost] {
        let patterns = (limit ?? "").split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
        guard !patterns.isEmpty else { return hosts }
        let selected = try select(patterns: patterns, from: hosts.map(\.name))
        guard !selected.isEmpty else {
            throw HostSelectionError(
                .nothingSelected,
                pattern: limit ?? "",
                "--limit `\(limit ?? "")` leaves no host to run on; the inventory has \(knownNameList)."
            )
        }
        return hosts.filter { selected.contains($0.name) }
    }

    /// The names among `candidates` that `patterns` select (inclusions, then `!` exclusions), as a set.
    func select(patterns: [String], from candidates: [String]) throws(HostSelectionError) -> Set<String> {
        let included = patterns.filter { !$0.hasPrefix("!") }
        let excluded = patterns.filter { $0.hasPrefix("!") }.map { String($0.dropFirst()) }
        let groupHosts = groups.map { (name: $0.name, hosts: $0.hosts) }
        var selected: Set<String> = included.isEmpty ? Set(candidates) : []
        for pattern in included {
            guard
                let names = Self.hostNames(matching: pattern, hosts: hosts.map(\.name), groups: groupHosts)
            else {
                throw HostSelectionError(
                    .unmatchedPattern,
                    pattern: pattern,
                    "--limit pattern `\(pattern)` matches no host\(groups.isEmpty ? "" : " or group"); the inventory "
                        + "has \(knownNameList)."
                )
            }
            selected.formUnion(names)
        }
        for pattern in excluded {
            selected.subtract(Self.hostNames(matching: pattern, hosts: hosts.map(\.name), groups: groupHosts) ?? [])
        }
        return selected.intersection(candidates)
    }

    /// The host names one pattern (without `!`) stands for: hosts whose name it matches, and the hosts of groups
    /// whose name it matches.
    ///
    /// - Returns: The names, or `nil` when the pattern matches no host and no group name at all.
    static func hostNames(
        matching pattern: String,
        hosts: [String],
        groups: [(name: String, hosts: [String])]
    ) -> Set<String>? {
        var matched = false
        var names: Set<String> = []
        for host in hosts where globMatches(pattern, host) {
            matched = true
            names.insert(host)
        }
        for group in groups where globMatches(pattern, group.name) {
            matched = true
            names.formUnion(group.hosts)
        }
        return matched ? names : nil
    }

    private var knownNameList: String {
        let hostList = hosts.map(\.name).joined(separator: ", ")
        guard !groups.isEmpty else { return hostList }
        return "hosts \(hostList) and groups \(groups.map(\.name).joined(separator: ", "))"
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
