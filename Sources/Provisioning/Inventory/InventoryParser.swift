import Foundation
import Yams

/// Walks a composed inventory, collecting every problem instead of stopping at the first.
///
/// The helpers here (``entries(of:at:keyPath:allowed:reserved:)``, the typed scalar readers) know YAML and
/// key paths, not inventory semantics, so that later sections (groups, vars, instance specs) reuse them.
struct InventoryParser {
    /// The file as named in messages.
    let file: String
    /// The inventory's folder, which relative paths start from.
    let directory: String
    /// The home directory for `~`.
    let home: String
    /// Repeated keys found while composing, by position.
    let duplicateKeys: [YAMLDocument.Position: YAMLDocument.DuplicateKey]
    /// Problems so far, in the order found.
    var errors: [InventoryError] = []
    /// Warnings so far, in the order found.
    var warnings: [InventoryWarning] = []
    /// Every host name written under `hosts`, valid host or not, so that a group or instance naming a host
    /// with a problem of its own is not also reported as naming an unknown host.
    var hostNames: [String] = []
    /// Every group name written under `groups`, for the same reason.
    var groupNames: [String] = []
    /// Hosts whose `platform` (or `defaults.platform`) was written but is invalid, already reported.
    var hostsWithInvalidPlatform: Set<String> = []
    /// When set, every secret reference is read with this environment as it is parsed: an unset variable, an
    /// empty secret or an unreadable file is reported at the reference, and the values are kept in
    /// ``secretValues`` for redaction.
    var secretEnvironment: [String: String]?
    /// The secrets read so far (only with ``secretEnvironment``).
    var secretValues: [String] = []
    /// Repeated keys already reported with their key path.
    private var reportedDuplicates: Set<YAMLDocument.Position> = []

    init(
        file: String,
        directory: String,
        home: String,
        duplicateKeys: [YAMLDocument.Position: YAMLDocument.DuplicateKey]
    ) {
        self.file = file
        self.directory = directory
        self.home = home
        self.duplicateKeys = duplicateKeys
    }

    // MARK: - Reporting

    /// Where `node` starts.
    func location(of node: Node) -> SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// Records a problem.
    mutating func report(_ code: InventoryError.Code, at location: SourceLocation, keyPath: String, _ message: String) {
        errors.append(InventoryError(code, at: location, keyPath: keyPath, message))
    }

    /// Records a problem at `node`.
    mutating func report(_ code: InventoryError.Code, at node: Node, keyPath: String, _ message: String) {
        report(code, at: location(of: node), keyPath: keyPath, message)
    }

    /// Records a warning at `node`.
    mutating func warn(at node: Node, keyPath: String, _ message: String) {
        warnings.append(InventoryWarning(at: location(of: node), keyPath: keyPath, message))
    }

    /// Reports repeated keys in parts of the file no walker visited (sections accepted but not yet read).
    mutating func reportUnvisitedDuplicates() {
        let unvisited = duplicateKeys.filter { !reportedDuplicates.contains($0.key) }
        for (position, duplicate) in unvisited.sorted(by: {
            ($0.key.line, $0.key.column) < ($1.key.line, $1.key.column)
        }) {
            report(
                .duplicateKey,
                at: SourceLocation(file: file, line: position.line, column: position.column),
                keyPath: duplicate.name,
                "Key `\(duplicate.name)` is given again here; it was first given at line \(duplicate.firstLine)."
            )
        }
    }

    // MARK: - Mappings

    /// One key of a mapping, with its value.
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
        /// The key path of the value, such as `hosts.vm1.port`.
        var keyPath: String
    }

    /// Reads `entry`'s value as a mapping whose keys are `Key`'s cases: ``entries(of:at:keyPath:allowed:reserved:)``
    /// allowing `Key`'s raw values, each entry with its key, in file order.
    ///
    /// - Parameters:
    ///   - entry: The entry whose value should be the mapping.
    ///   - type: The keys the mapping may have.
    /// - Returns: The keys and entries, or `nil` when the value is not a mapping.
    mutating func keyedEntryList<Key: RawRepresentable & CaseIterable>(
        of entry: Entry,
        as type: Key.Type
    ) -> [(key: Key, entry: Entry)]? where Key.RawValue == String {
        guard
            let keyed = entries(
                of: entry.value,
                at: "`\(entry.keyPath)`",
                keyPath: entry.keyPath,
                allowed: Key.allCases.map(\.rawValue)
            )
        else { return nil }
        return keyed.compactMap { item in Key(rawValue: item.key).map { (key: $0, entry: item) } }
    }

    /// ``keyedEntryList(of:as:)`` with each entry filed under its key.
    ///
    /// - Parameters:
    ///   - entry: The entry whose value should be the mapping.
    ///   - type: The keys the mapping may have.
    /// - Returns: The entries by key, or `nil` when the value is not a mapping.
    mutating func keyedEntries<Key: RawRepresentable & CaseIterable & Hashable>(
        of entry: Entry,
        as type: Key.Type
    ) -> [Key: Entry]? where Key.RawValue == String {
        keyedEntryList(of: entry, as: type).map { Dictionary($0, uniquingKeysWith: { _, last in last }) }
    }

    /// The entries of `node`, which must be a mapping.
    ///
    /// Reports (and leaves out) a value that is not a mapping, keys that are not plain names, repeated keys and,
    /// when `allowed` is given, keys outside `allowed` and `reserved` (suggesting the nearest allowed one);
    /// entries under a `reserved` key are left out without a report.
    ///
    /// - Parameters:
    ///   - node: The value that should be a mapping.
    ///   - what: How to call the mapping in a message, such as "the inventory" or "`hosts.vm1`".
    ///   - keyPath: The mapping's key path (empty at the top level).
    ///   - allowed: The keys to accept, or `nil` to accept any (for mappings keyed by name, like `hosts`).
    ///   - reserved: Keys accepted and ignored, for sections a later version reads.
    /// - Returns: The entries, in file order, or `nil` when `node` is not a mapping.
    mutating func entries(
        of node: Node,
        at what: String,
        keyPath: String,
        allowed: [String]? = nil,
        reserved: [String] = []
    ) -> [Entry]? {
        guard case .mapping(let mapping) = node else {
            if isNull(node) { return [] }
            report(
                .wrongType,
                at: node,
                keyPath: keyPath,
                "\(what) must be a mapping of `key: value` entries, not \(describe(node))."
            )
            return nil
        }
        var result: [Entry] = []
        var seen: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode, !scalar.string.isEmpty else {
                report(.wrongType, at: keyNode, keyPath: keyPath, "Keys of \(what) must be plain names.")
                continue
            }
            let key = scalar.string
            let path = keyPath.isEmpty ? key : "\(keyPath).\(key)"
            if let mark = keyNode.mark,
                let duplicate = duplicateKeys[YAMLDocument.Position(line: mark.line, column: mark.column)]
            {
                reportedDuplicates.insert(YAMLDocument.Position(line: mark.line, column: mark.column))
                let dupPath = keyPath.isEmpty ? duplicate.name : "\(keyPath).\(duplicate.name)"
                report(
                    .duplicateKey,
                    at: keyNode,
                    keyPath: dupPath,
                    "`\(dupPath)` is given again here; it was first given at line \(duplicate.firstLine)."
                )
                continue
            }
            if let earlier = seen[key] {
                report(
                    .duplicateKey,
                    at: keyNode,
                    keyPath: path,
                    "`\(path)` is given again here; it was first given at line \(earlier.mark?.line ?? 1)."
                )
                continue
            }
            seen[key] = keyNode
            if reserved.contains(key) { continue }
            if let allowed, !allowed.contains(key) {
                var message = "Unknown key `\(path)`"
                if let suggestion = nearestName(to: key, in: allowed) {
                    message += "; did you mean `\(suggestion)`?"
                } else {
                    message += "; valid keys are \(allowed.map { "`\($0)`" }.joined(separator: ", "))."
                }
                report(.unknownKey, at: keyNode, keyPath: path, message)
                continue
            }
            result.append(Entry(key: key, keyNode: keyNode, value: value, keyPath: path))
        }
        return result
    }

    // MARK: - Scalars

    /// Whether `node` is a plain null (`~`, `null` or nothing at all).
    func isNull(_ node: Node) -> Bool {
        node.null != nil
    }

    /// The text of a scalar; reports a mapping or sequence.
    mutating func string(_ node: Node, keyPath: String) -> String? {
        guard case .scalar(let scalar) = node else {
            report(.wrongType, at: node, keyPath: keyPath, "`\(keyPath)` must be text, not \(describe(node)).")
            return nil
        }
        return isNull(node) ? "" : scalar.string
    }

    /// The text of a scalar that must not be empty.
    mutating func nonEmptyString(_ node: Node, keyPath: String) -> String? {
        guard let text = string(node, keyPath: keyPath) else { return nil }
        guard !text.allSatisfy({ $0 == " " || $0 == "\t" }) else {
            report(.invalidValue, at: node, keyPath: keyPath, "`\(keyPath)` must not be empty.")
            return nil
        }
        return text
    }

    /// A decimal integer in `range` (quoted or not).
    mutating func integer(_ node: Node, keyPath: String, in range: ClosedRange<Int>) -> Int? {
        let requirement = "an integer from \(range.lowerBound) to \(range.upperBound)"
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            report(
                .wrongType,
                at: node,
                keyPath: keyPath,
                "`\(keyPath)` must be \(requirement), not \(describe(node))."
            )
            return nil
        }
        guard range.contains(value) else {
            report(.invalidValue, at: node, keyPath: keyPath, "`\(keyPath)` must be \(requirement), not \(value).")
            return nil
        }
        return value
    }

    /// A finite number greater than zero (quoted or not).
    mutating func positiveNumber(_ node: Node, keyPath: String) -> Double? {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite else {
            report(
                .wrongType,
                at: node,
                keyPath: keyPath,
                "`\(keyPath)` must be a number of seconds, not \(describe(node))."
            )
            return nil
        }
        guard value > 0 else {
            report(
                .invalidValue,
                at: node,
                keyPath: keyPath,
                "`\(keyPath)` must be greater than zero, not \(scalar.string)."
            )
            return nil
        }
        return value
    }

    /// `true` or `false` (YAML 1.1's `yes`, `no`, `on` and `off` too).
    mutating func boolean(_ node: Node, keyPath: String) -> Bool? {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on":
            return true
        case "false", "no", "off":
            return false
        default:
            report(
                .wrongType,
                at: node,
                keyPath: keyPath,
                "`\(keyPath)` must be `true` or `false`, not \(describe(node))."
            )
            return nil
        }
    }

    /// One of the raw values of `Choice`.
    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ node: Node,
        keyPath: String,
        as type: Choice.Type = Choice.self
    ) -> Choice? where Choice.RawValue == String {
        guard let text = string(node, keyPath: keyPath) else { return nil }
        if let value = Choice(rawValue: text) { return value }
        let valid = Choice.allCases.map(\.rawValue)
        var message = "`\(keyPath)` must be one of \(valid.map { "`\($0)`" }.joined(separator: ", ")), not `\(text)`"
        if let suggestion = nearestName(to: text, in: valid) {
            message += "; did you mean `\(suggestion)`?"
        } else {
            message += "."
        }
        report(.invalidValue, at: node, keyPath: keyPath, message)
        return nil
    }

    /// A path, resolved against the inventory's folder (and `~` against the home directory).
    mutating func path(_ node: Node, keyPath: String) -> String? {
        nonEmptyString(node, keyPath: keyPath).map { PathResolution.resolve($0, relativeTo: directory, home: home) }
    }

    /// A path to a regular file that must exist (following symbolic links): never a folder, device, FIFO or
    /// socket, which octoprov could not read as a file or whose reading might never end.
    mutating func existingFile(_ node: Node, keyPath: String, what: String) -> String? {
        guard let resolved = path(node, keyPath: keyPath) else { return nil }
        let kind = LocalPathKind(resolved)
        if let problem = kind.fileProblem(what, resolved) {
            report(
                kind == .missing ? .fileNotFound : .notRegularFile,
                at: node,
                keyPath: keyPath,
                "`\(keyPath)` names \(problem)."
            )
            return nil
        }
        return resolved
    }

    /// A private key file: a regular file (``existingFile(_:keyPath:what:)``) that, when it is the user's own,
    /// group and others cannot read, the rule OpenSSH applies before it uses a key ("UNPROTECTED PRIVATE KEY
    /// FILE!").
    mutating func identityFile(_ node: Node, keyPath: String) -> String? {
        guard let resolved = existingFile(node, keyPath: keyPath, what: "identity file") else { return nil }
        if case .regularFile(let permissions, let owner) = LocalPathKind(resolved), owner == getuid(),
            permissions & 0o077 != 0
        {
            report(
                .insecureSecretFile,
                at: node,
                keyPath: keyPath,
                "`\(keyPath)` names identity file \(resolved), which group or others can read (OpenSSH refuses such "
                    + "a key too); run `chmod 600 \(resolved)`."
            )
            return nil
        }
        return resolved
    }

    /// A path to a file that need not exist yet (a `known_hosts` file `accept-new` creates), but that must be a
    /// regular file when it does.
    mutating func optionalFile(_ node: Node, keyPath: String, what: String) -> String? {
        guard let resolved = path(node, keyPath: keyPath) else { return nil }
        let kind = LocalPathKind(resolved)
        if kind != .missing, let problem = kind.fileProblem(what, resolved) {
            report(.notRegularFile, at: node, keyPath: keyPath, "`\(keyPath)` names \(problem).")
            return nil
        }
        return resolved
    }

    /// The newest existing file (by modification time, then name) whose name matches the `*`/`?` pattern in the
    /// last component of the path; a path without a pattern must name an existing file (``existingFile(_:keyPath:what:)``).
    /// A nightly job names `backups/OctopusDeploy-*.bak` and always gets last night's backup.
    mutating func newestFile(_ node: Node, keyPath: String, what: String) -> String? {
        guard let resolved = path(node, keyPath: keyPath) else { return nil }
        let name = (resolved as NSString).lastPathComponent
        guard name.contains("*") || name.contains("?") else { return existingFile(node, keyPath: keyPath, what: what) }
        let folder = (resolved as NSString).deletingLastPathComponent
        let pattern = name.lowercased()
        var newest: (path: String, modified: Date)?
        // A folder that cannot be listed matches no file, which is reported below with the pattern.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where globMatches(pattern, entry.lowercased()) {
            let candidate = "\(folder)/\(entry)"
            // A file gone since the listing is not a match.
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: candidate),
                attributes[.type] as? FileAttributeType == .typeRegular,
                let modified = attributes[.modificationDate] as? Date
            else { continue }
            if let current = newest,
                current.modified > modified || (current.modified == modified && current.path > candidate)
            {
                continue
            }
            newest = (candidate, modified)
        }
        guard let newest else {
            report(
                .fileNotFound,
                at: node,
                keyPath: keyPath,
                "`\(keyPath)` names \(what) by the pattern \(resolved), which matches no file."
            )
            return nil
        }
        return newest.path
    }

    /// A secret reference (`env:NAME` or `file:PATH`); refuses an inline secret without repeating it.
    ///
    /// A `file:` reference must name an existing regular file that group and others cannot read.
    mutating func secret(_ node: Node, keyPath: String) -> SecretReference? {
        let advice = "use `env:NAME` or `file:PATH` so that the secret stays out of the inventory"
        guard case .scalar(let scalar) = node else {
            report(.wrongType, at: node, keyPath: keyPath, "`\(keyPath)` must be a secret reference; \(advice).")
            return nil
        }
        switch SecretReference.parse(scalar.string, relativeTo: directory, home: home, location: location(of: node)) {
        case .inline:
            report(.inlineSecret, at: node, keyPath: keyPath, "`\(keyPath)` holds an inline secret; \(advice).")
            return nil
        case .invalid(let reason):
            report(.invalidSecretReference, at: node, keyPath: keyPath, "`\(keyPath)`: \(reason).")
            return nil
        case .reference(let reference):
            if case .file(let path, _) = reference, let problem = SecretReference.FileProblem(checking: path) {
                let code: InventoryError.Code = problem == .missing ? .fileNotFound : .insecureSecretFile
                report(code, at: node, keyPath: keyPath, "`\(keyPath)` names \(problem.clause(path)).")
                return nil
            }
            if let environment = secretEnvironment {
                readSecret(reference, at: node, keyPath: keyPath, environment: environment)
            }
            return reference
        }
    }

    /// Reads a secret now, reporting an unset variable, an empty value or an unreadable file at the reference.
    private mutating func readSecret(
        _ reference: SecretReference,
        at node: Node,
        keyPath: String,
        environment: [String: String]
    ) {
        do {
            let value = try reference.read(environment: environment)
            guard !value.isEmpty else {
                report(
                    .secretNotSet,
                    at: node,
                    keyPath: keyPath,
                    "`\(keyPath)` names \(reference.kindDescription), which is empty; put the secret there."
                )
                return
            }
            secretValues.append(value)
        } catch {
            let message: String
            switch error.code {
            case .environmentVariableNotSet:
                message =
                    "`\(keyPath)` names \(reference.kindDescription), which is not set; export it before running octoprov."
            default:
                message = "`\(keyPath)`: \(error.message)"
            }
            report(.secretNotSet, at: node, keyPath: keyPath, message)
        }
    }

    /// The scalar texts of a list (a single scalar counts as a list of one), each with its node.
    ///
    /// - Parameters:
    ///   - node: The value that should be a list of text.
    ///   - keyPath: Its key path.
    ///   - allowScalar: Whether a single text value is accepted as a list of one.
    /// - Returns: The texts with their nodes, or `nil` after reporting a wrong type.
    mutating func stringList(_ node: Node, keyPath: String, allowScalar: Bool = true) -> [(text: String, node: Node)]? {
        switch node {
        case .sequence(let sequence):
            var result: [(text: String, node: Node)] = []
            for (index, item) in sequence.enumerated() {
                guard case .scalar(let scalar) = item, !isNull(item), !scalar.string.isEmpty else {
                    report(
                        .wrongType,
                        at: item,
                        keyPath: "\(keyPath)[\(index)]",
                        "`\(keyPath)[\(index)]` must be a non-empty name, not \(describe(item))."
                    )
                    continue
                }
                result.append((scalar.string, item))
            }
            return result
        case .scalar(let scalar) where allowScalar && !isNull(node):
            return [(scalar.string, node)]
        default:
            if isNull(node) { return [] }
            report(.wrongType, at: node, keyPath: keyPath, "`\(keyPath)` must be a list, not \(describe(node)).")
            return nil
        }
    }

    /// A short description of a node for messages: the text of a scalar, else its kind.
    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            return isNull(node) ? "nothing" : "`\(scalar.string)`"
        case .mapping:
            return "a mapping"
        case .sequence:
            return "a list"
        case .alias:
            return "an alias"
        }
    }
}
