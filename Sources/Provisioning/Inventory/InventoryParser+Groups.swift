import Yams

/// The keys a group may have.
enum GroupKey: String, CaseIterable {
    case members
    case vars
}

extension InventoryParser {
    /// Reads `vars:`: variable names to text values.
    mutating func vars(_ node: Node, keyPath: String) -> [String: InventoryVariable] {
        guard let entries = entries(of: node, at: "`\(keyPath)`", keyPath: keyPath) else { return [:] }
        var result: [String: InventoryVariable] = [:]
        for entry in entries {
            if let problem = VariableNames.problem(with: entry.key, keyPath: entry.keyPath) {
                report(problem.code, at: entry.keyNode, keyPath: entry.keyPath, problem.message)
                continue
            }
            guard case .scalar = entry.value else {
                report(
                    .wrongType,
                    at: entry.value,
                    keyPath: entry.keyPath,
                    "`\(entry.keyPath)` must be text, a number or a boolean, not \(describe(entry.value))."
                )
                continue
            }
            guard let value = string(entry.value, keyPath: entry.keyPath) else { continue }
            result[entry.key] = InventoryVariable(
                value: value,
                keyPath: entry.keyPath,
                location: location(of: entry.value)
            )
        }
        return result
    }

    /// A group as written, before its members are resolved.
    private struct WrittenGroup {
        var name: String
        var keyNode: Node
        var keyPath: String
        var members: [(text: String, node: Node)]
        var vars: [String: InventoryVariable]
    }

    /// Reads `groups:`, checking every member names a host or a group and that no group contains itself.
    ///
    /// - Parameters:
    ///   - entry: The `groups` entry.
    ///   - hosts: The valid hosts, in file order (members are checked against every written host name).
    /// - Returns: The groups in file order, with their hosts resolved.
    mutating func groups(_ entry: Entry, hosts: [InventoryHost]) -> [InventoryGroup] {
        guard let groupEntries = entries(of: entry.value, at: "`groups`", keyPath: entry.keyPath) else { return [] }
        var written: [WrittenGroup] = []
        for groupEntry in groupEntries {
            let name = groupEntry.key
            groupNames.append(name)
            if !Self.isValidHostName(name) {
                report(
                    .invalidValue,
                    at: groupEntry.keyNode,
                    keyPath: groupEntry.keyPath,
                    "Group name `\(name)` may only contain letters, digits, `.`, `_` and `-`."
                )
            }
            if hostNames.contains(name) {
                report(
                    .duplicateKey,
                    at: groupEntry.keyNode,
                    keyPath: groupEntry.keyPath,
                    "`\(groupEntry.keyPath)` has the name of a host, so `--limit` and an instance's `hosts` could "
                        + "not tell them apart; rename the group."
                )
            }
            var group = WrittenGroup(
                name: name,
                keyNode: groupEntry.keyNode,
                keyPath: groupEntry.keyPath,
                members: [],
                vars: [:]
            )
            let keys =
                entries(
                    of: groupEntry.value,
                    at: "`\(groupEntry.keyPath)`",
                    keyPath: groupEntry.keyPath,
                    allowed: GroupKey.allCases.map(\.rawValue)
                ) ?? []
            for key in keys {
                switch GroupKey(rawValue: key.key) {
                case .members:
                    group.members = stringList(key.value, keyPath: key.keyPath, allowScalar: false) ?? []
                case .vars:
                    group.vars = vars(key.value, keyPath: key.keyPath)
                case nil:
                    break
                }
            }
            written.append(group)
        }
        checkMembers(of: written)
        let cyclic = reportCycles(in: written)
        return resolve(written, hosts: hosts, cyclic: cyclic)
    }

    /// Reports members that name neither a host nor a group.
    private mutating func checkMembers(of written: [WrittenGroup]) {
        let known = hostNames + groupNames
        for group in written {
            for (index, member) in group.members.enumerated() where !known.contains(member.text) {
                let keyPath = "\(group.keyPath).members[\(index)]"
                let suggestion = nearestName(to: member.text, in: known).map { "; did you mean `\($0)`?" } ?? "."
                report(
                    .unknownName,
                    at: member.node,
                    keyPath: keyPath,
                    "`\(keyPath)` is `\(member.text)`, which names neither a host nor a group\(suggestion)"
                )
            }
        }
    }

    /// Reports every cycle of groups containing themselves once, at the member that closes it.
    ///
    /// - Returns: The names of the groups on a cycle.
    private mutating func reportCycles(in written: [WrittenGroup]) -> Set<String> {
        let byName = Dictionary(written.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var stack: [String] = []
        var reported: Set<[String]> = []
        var onCycle: Set<String> = []
        var found: [(cycle: [String], node: Node, keyPath: String, group: String)] = []

        func visit(_ name: String) {
            guard let group = byName[name] else { return }
            marks[name] = .visiting
            stack.append(name)
            for (index, member) in group.members.enumerated() where byName[member.text] != nil {
                switch marks[member.text] {
                case .visiting:
                    guard let start = stack.firstIndex(of: member.text) else { continue }
                    let cycle = Array(stack[start...])
                    let key = cycle.sorted()
                    guard !reported.contains(key) else { continue }
                    reported.insert(key)
                    onCycle.formUnion(cycle)
                    found.append((cycle + [member.text], member.node, "\(group.keyPath).members[\(index)]", name))
                case .done:
                    continue
                case nil:
                    visit(member.text)
                }
            }
            stack.removeLast()
            marks[name] = .done
        }
        for group in written where marks[group.name] == nil {
            visit(group.name)
        }
        for cycle in found {
            let path = cycle.cycle.map { "`\($0)`" }.joined(separator: " → ")
            let message =
                cycle.cycle.count == 2
                ? "`\(cycle.keyPath)` lists group `\(cycle.group)` itself; remove it."
                : "`\(cycle.keyPath)` makes groups contain themselves: \(path); remove one of these memberships."
            report(.groupCycle, at: cycle.node, keyPath: cycle.keyPath, message)
        }
        return onCycle
    }

    /// The groups with their hosts (transitively, in host file order).
    private func resolve(_ written: [WrittenGroup], hosts: [InventoryHost], cyclic: Set<String>) -> [InventoryGroup] {
        let byName = Dictionary(written.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        func members(of name: String, seen: inout Set<String>) -> Set<String> {
            guard let group = byName[name], seen.insert(name).inserted else { return [] }
            var result: Set<String> = []
            for member in group.members {
                if byName[member.text] != nil {
                    result.formUnion(members(of: member.text, seen: &seen))
                } else {
                    result.insert(member.text)
                }
            }
            return result
        }
        return written.map { group in
            var seen: Set<String> = []
            let names = members(of: group.name, seen: &seen)
            return InventoryGroup(
                name: group.name,
                members: group.members.map(\.text),
                hosts: hosts.map(\.name).filter { names.contains($0) },
                vars: group.vars,
                location: location(of: group.keyNode)
            )
        }
    }

    /// The hosts with their `vars` merged in precedence order and their groups recorded.
    ///
    /// A host's groups are ordered by distance from the host, furthest first (a group that contains the group
    /// that lists the host comes before that group), and groups at the same distance in file order; their `vars`
    /// are applied in that order after `defaults.vars`, and the host's own `vars` last, so the nearest and then
    /// the latest-written value wins.
    static func mergingVars(
        into hosts: [InventoryHost],
        defaults: [String: InventoryVariable],
        groups: [InventoryGroup]
    ) -> [InventoryHost] {
        let order = Dictionary(
            groups.enumerated().map { ($0.element.name, $0.offset) },
            uniquingKeysWith: { a, _ in a }
        )
        var parents: [String: [String]] = [:]
        for group in groups {
            for member in group.members {
                parents[member, default: []].append(group.name)
            }
        }
        return hosts.map { host in
            var distance: [String: Int] = [:]
            var frontier = [host.name]
            var level = 0
            while !frontier.isEmpty {
                level += 1
                var next: [String] = []
                for name in frontier {
                    for parent in parents[name] ?? [] where distance[parent] == nil {
                        distance[parent] = level
                        next.append(parent)
                    }
                }
                frontier = next
            }
            let ordered = distance.keys.sorted {
                (-(distance[$0] ?? 0), order[$0] ?? 0) < (-(distance[$1] ?? 0), order[$1] ?? 0)
            }
            var merged = defaults
            let byName = Dictionary(groups.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for name in ordered {
                merged.merge(byName[name]?.vars ?? [:]) { _, group in group }
            }
            merged.merge(host.vars) { _, own in own }
            var result = host
            result.vars = merged
            result.groups = ordered
            return result
        }
    }
}
