import Foundation

/// The hosts octoprov can reach, loaded from an inventory YAML file.
///
/// ```yaml
/// defaults:
///   user: root
/// hosts:
///   vm1:
///     address: 127.0.0.1
///     port: 2222
///     identity: keys/id_ed25519
/// ```
///
/// Paths in the file are relative to the file's folder, and `~` is the home directory. Loading checks the
/// whole file and reports every problem it finds, each with its `file:line:column`.
public struct Inventory: Sendable, Hashable {
    /// The inventory file, as an absolute path.
    public var path: String
    /// The hosts, in the order the file lists them.
    public var hosts: [InventoryHost]
    /// The groups, in the order the file lists them.
    public var groups: [InventoryGroup]
    /// The instance specs (`instances:`), in the order the file lists them.
    public var instances: [InstanceSpec]
    /// Things that are valid but risky or probably unintended, in file order.
    public var warnings: [InventoryWarning]

    /// Creates an inventory; ``load(path:)`` is the usual way to get one.
    ///
    /// - Parameters:
    ///   - path: The inventory file, as an absolute path.
    ///   - hosts: The hosts, in file order.
    ///   - groups: The groups, in file order.
    ///   - instances: The instance specs, in file order.
    ///   - warnings: Warnings found while loading.
    public init(
        path: String,
        hosts: [InventoryHost],
        groups: [InventoryGroup] = [],
        instances: [InstanceSpec] = [],
        warnings: [InventoryWarning] = []
    ) {
        self.path = path
        self.hosts = hosts
        self.groups = groups
        self.instances = instances
        self.warnings = warnings
    }

    /// The host named `name`.
    public func host(named name: String) -> InventoryHost? {
        hosts.first { $0.name == name }
    }

    /// The group named `name`.
    public func group(named name: String) -> InventoryGroup? {
        groups.first { $0.name == name }
    }

    /// The instance spec named `name`.
    public func instance(named name: String) -> InstanceSpec? {
        instances.first { $0.name == name }
    }

    /// Loads and checks an inventory file.
    ///
    /// This is what `exec` and `copy` need: every key, type and referenced file is checked, but secrets are read
    /// only when used, and variable values and package checksums are not checked. ``InventoryCheck/run(path:environment:variables:)``
    /// does all of that too (`inventory check`, `plan`).
    ///
    /// - Parameter path: The inventory file, absolute or relative to the current directory. Messages name it as
    ///   given.
    /// - Returns: The inventory, with defaults applied and paths resolved.
    /// - Throws: ``InventoryErrors`` listing every problem found, each with an ``InventoryError/Code``:
    ///   `unreadableFile`, `syntaxError`, `wrongType`, `invalidValue`, `unknownKey`, `duplicateKey`,
    ///   `missingKey`, `noHosts`, `fileNotFound`, `inlineSecret`, `invalidSecretReference`, `insecureSecretFile`,
    ///   `unknownName`, `groupCycle`, `conflictingKeys`, `unsupportedVersion` or `unsafeQuarantine`.
    public static func load(path: String) throws(InventoryErrors) -> Inventory {
        try load(path: path, environment: ProcessInfo.processInfo.environment)
    }

    /// Loads and checks an inventory file, taking `HOME` from `environment`.
    ///
    /// - Parameters:
    ///   - path: The inventory file, absolute or relative to the current directory.
    ///   - environment: The environment that supplies `HOME` for `~`.
    /// - Returns: The inventory, with defaults applied and paths resolved.
    /// - Throws: ``InventoryErrors`` listing every problem found (see ``load(path:)``).
    public static func load(path: String, environment: [String: String]) throws(InventoryErrors) -> Inventory {
        let analysis = analyze(path: path, environment: environment, readSecrets: false)
        if let errors = InventoryErrors(analysis.errors) {
            throw errors
        }
        return analysis.inventory
    }

    /// What one pass over an inventory file found.
    struct Analysis {
        /// The inventory; incomplete when there are errors.
        var inventory: Inventory
        var errors: [InventoryError]
        /// The secrets read (only when asked to read them).
        var secretValues: [String]
    }

    /// Reads and checks an inventory file, collecting every problem; with `readSecrets`, every secret reference
    /// is also read (an unset variable or empty secret is a problem) and the values returned for redaction.
    static func analyze(path: String, environment: [String: String], readSecrets: Bool) -> Analysis {
        let fileManager = FileManager.default
        let absolutePath = PathResolution.resolve(
            path,
            relativeTo: fileManager.currentDirectoryPath,
            home: home(in: environment)
        )
        let wholeFile = SourceLocation(file: path, line: 0, column: 0)
        let empty = Inventory(path: absolutePath, hosts: [])
        guard let data = fileManager.contents(atPath: absolutePath) else {
            let reason = fileManager.fileExists(atPath: absolutePath) ? "cannot be read" : "does not exist"
            return Analysis(
                inventory: empty,
                errors: [InventoryError(.unreadableFile, at: wholeFile, keyPath: "", "The inventory file \(reason).")],
                secretValues: []
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return Analysis(
                inventory: empty,
                errors: [
                    InventoryError(
                        .unreadableFile,
                        at: firstInvalidUTF8(in: data, file: path),
                        keyPath: "",
                        "The inventory is not UTF-8 text from here on; save it as UTF-8."
                    )
                ],
                secretValues: []
            )
        }
        return parse(
            text,
            file: path,
            absolutePath: absolutePath,
            home: home(in: environment),
            secretEnvironment: readSecrets ? environment : nil
        )
    }

    /// Parses inventory text that was read from `absolutePath` (named `file` in messages).
    static func parse(
        _ text: String,
        file: String,
        absolutePath: String,
        home: String,
        secretEnvironment: [String: String]? = nil
    ) -> Analysis {
        let document = YAMLDocument.compose(text, file: file)
        var parser = InventoryParser(
            file: file,
            directory: PathResolution.directory(of: absolutePath),
            home: home,
            duplicateKeys: document.duplicateKeys
        )
        parser.errors = document.errors
        parser.secretEnvironment = secretEnvironment
        var inventory =
            document.root.map { parser.parseInventory($0, path: absolutePath) }
            ?? Inventory(path: absolutePath, hosts: [])
        if document.root == nil && document.errors.isEmpty {
            parser.report(
                .noHosts,
                at: SourceLocation(file: file, line: 1, column: 1),
                keyPath: "hosts",
                "The inventory is empty; it needs a `hosts` mapping."
            )
        }
        parser.reportUnvisitedDuplicates()
        inventory.warnings = parser.warnings.sorted { $0.location < $1.location }
        return Analysis(inventory: inventory, errors: parser.errors, secretValues: parser.secretValues)
    }

    /// Where the first byte that is not part of valid UTF-8 stands (line and column counted in characters
    /// decoded before it), so that a refusal names the place to fix.
    static func firstInvalidUTF8(in data: Data, file: String) -> SourceLocation {
        var line = 1
        var column = 1
        var decoder = UTF8()
        var bytes = data.makeIterator()
        while case .scalarValue(let scalar) = decoder.decode(&bytes) {
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    private static func home(in environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty {
            return home
        }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }
}
