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

    /// Creates an inventory; ``load(path:)`` is the usual way to get one.
    ///
    /// - Parameters:
    ///   - path: The inventory file, as an absolute path.
    ///   - hosts: The hosts, in file order.
    public init(path: String, hosts: [InventoryHost]) {
        self.path = path
        self.hosts = hosts
    }

    /// Loads and checks an inventory file.
    ///
    /// - Parameter path: The inventory file, absolute or relative to the current directory. Messages name it as
    ///   given.
    /// - Returns: The inventory, with defaults applied and paths resolved.
    /// - Throws: ``InventoryErrors`` listing every problem found, each with an ``InventoryError/Code``:
    ///   `unreadableFile`, `syntaxError`, `wrongType`, `invalidValue`, `unknownKey`, `duplicateKey`,
    ///   `missingKey`, `noHosts`, `fileNotFound`, `inlineSecret`, `invalidSecretReference` or
    ///   `insecureSecretFile`.
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
        let fileManager = FileManager.default
        let absolutePath = PathResolution.resolve(
            path,
            relativeTo: fileManager.currentDirectoryPath,
            home: home(in: environment)
        )
        let wholeFile = SourceLocation(file: path, line: 0, column: 0)
        guard let data = fileManager.contents(atPath: absolutePath) else {
            let reason = fileManager.fileExists(atPath: absolutePath) ? "cannot be read" : "does not exist"
            throw InventoryErrors(
                InventoryError(.unreadableFile, at: wholeFile, keyPath: "", "The inventory file \(reason).")
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InventoryErrors(
                InventoryError(.unreadableFile, at: wholeFile, keyPath: "", "The inventory is not UTF-8 text.")
            )
        }
        return try parse(text, file: path, absolutePath: absolutePath, home: home(in: environment))
    }

    /// Parses inventory text that was read from `absolutePath` (named `file` in messages).
    static func parse(
        _ text: String,
        file: String,
        absolutePath: String,
        home: String
    ) throws(InventoryErrors) -> Inventory {
        let document = YAMLDocument.compose(text, file: file)
        var parser = InventoryParser(
            file: file,
            directory: PathResolution.directory(of: absolutePath),
            home: home,
            duplicateKeys: document.duplicateKeys
        )
        parser.errors = document.errors
        let hosts = document.root.map { parser.parseInventory($0) } ?? []
        if document.root == nil && document.errors.isEmpty {
            parser.report(
                .noHosts,
                at: SourceLocation(file: file, line: 1, column: 1),
                keyPath: "hosts",
                "The inventory is empty; it needs a `hosts` mapping."
            )
        }
        parser.reportUnvisitedDuplicates()
        if let errors = InventoryErrors(parser.errors) {
            throw errors
        }
        return Inventory(path: absolutePath, hosts: hosts)
    }

    private static func home(in environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty {
            return home
        }
        return FileManager.default.homeDirectoryForCurrentUser.path
    }
}
