import Foundation

/// A setting's value in the instance config file: text, a boolean or a number.
public enum ConfigurationValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case string(String)
    case bool(Bool)
    case int(Int)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        }
    }

    /// As Octopus writes it in its XML config: `True`/`False`, digits, text.
    public var description: String {
        switch self {
        case .string(let value): value
        case .bool(let value): value ? "True" : "False"
        case .int(let value): String(value)
        }
    }

    /// The text, when the value is text.
    public var text: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// An instance's config file: flat Octopus setting keys (`Octopus.Home`,
/// `Octopus.Storage.ExternalDatabaseConnectionString`, …) to values, stored as one JSON object (mode
/// 0600, since it holds the master key; real Octopus keeps an XML file and protects the key with DPAPI).
public struct InstanceConfiguration: Sendable, Hashable {
    /// The setting keys the stand-in writes.
    public enum Key {
        /// The home folder.
        public static let home = "Octopus.Home"
        /// This node's name.
        public static let nodeName = "Octopus.Storage.NodeName"
        /// The SQL Server connection string.
        public static let connectionString = "Octopus.Storage.ExternalDatabaseConnectionString"
        /// The master key, base64 (never shown by `show-configuration`).
        public static let masterKey = "Octopus.Storage.MasterKey"
        /// The web listen prefixes, comma-separated.
        public static let listenPrefixes = "Octopus.WebPortal.ListenPrefixes"
        /// The Tentacle communications port.
        public static let servicesPort = "Octopus.Communications.ServicesPort"
        /// `path --cacheDirectory` (per node, so in the file rather than the database).
        public static let cacheDirectory = "Octopus.Server.CacheDirectory"
        /// Whether `service --install` has run (a stand-in setting: real Octopus asks the service manager).
        public static let serviceInstalled = "OctopusStandIn.Service.Installed"
    }

    /// The config file's path.
    public var path: String
    /// The settings.
    public var settings: [String: ConfigurationValue]

    /// A new, empty configuration for a path.
    public init(path: String, settings: [String: ConfigurationValue] = [:]) {
        self.path = path
        self.settings = settings
    }

    /// A text setting.
    public subscript(text key: String) -> String? {
        get { settings[key]?.text }
        set { settings[key] = newValue.map { .string($0) } }
    }

    /// Reads a config file.
    /// - Throws: ``OctopusServerError`` (`notConfigured`) when it is missing or not a config file.
    public static func load(_ path: String) throws(OctopusServerError) -> InstanceConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OctopusServerError(
                .notConfigured,
                "The configuration file \(path) does not exist; create the instance with `create-instance`."
            )
        }
        do {
            let settings = try JSONDecoder().decode([String: ConfigurationValue].self, from: data)
            return InstanceConfiguration(path: path, settings: settings)
        } catch {
            throw OctopusServerError(
                .notConfigured,
                "The configuration file \(path) is not a stand-in configuration (a JSON object of settings): \(error)."
            )
        }
    }

    /// Writes the file atomically with mode 0600.
    /// - Throws: ``OctopusServerError`` (`failed`).
    public func save() throws(OctopusServerError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let part = "\(path).part-\(getpid())"
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            let data = try encoder.encode(settings) + Data("\n".utf8)
            guard FileManager.default.createFile(atPath: part, contents: data, attributes: [.posixPermissions: 0o600])
            else {
                throw CocoaError(.fileWriteNoPermission)
            }
            guard rename(part, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            unlink(part)
            throw OctopusServerError(.failed, "Cannot write the configuration file \(path): \(error).")
        }
    }

    /// The settings `show-configuration` shows: everything but the master key and the stand-in's own keys.
    public var shownSettings: [(key: String, value: ConfigurationValue)] {
        settings.filter { $0.key != Key.masterKey && !$0.key.hasPrefix("OctopusStandIn.") }
            .sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }
}

/// The instances registered on this machine: one file per instance in
/// `$OCTOPUS_STANDIN_DATA/OctopusServer/Instances/<name>.config`, holding
/// `{"Name": "...", "ConfigurationFilePath": "..."}` (Octopus keeps the same in
/// `C:\ProgramData\Octopus\OctopusServer\Instances`).
public struct InstanceRegistry: Sendable {
    /// One registered instance.
    public struct Entry: Sendable, Hashable, Codable {
        /// The instance name, e.g. `OctopusServer`.
        public var name: String
        /// Its config file.
        public var configurationFilePath: String

        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case configurationFilePath = "ConfigurationFilePath"
        }
    }

    /// The folder holding the entries.
    public var folder: String

    /// The registry of a data folder.
    public init(dataFolder: DataFolder) {
        folder = "\(dataFolder.root)/OctopusServer/Instances"
    }

    /// Every registered instance, by name.
    public func entries() -> [Entry] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return files.filter { $0.hasSuffix(".config") }.sorted().compactMap { file in
            FileManager.default.contents(atPath: "\(folder)/\(file)")
                .flatMap { try? JSONDecoder().decode(Entry.self, from: $0) }
        }
    }

    /// The instance of a name (case-insensitive, as Octopus compares them).
    public func entry(named name: String) -> Entry? {
        entries().first { $0.name.lowercased() == name.lowercased() }
    }

    /// Registers (or re-registers) an instance.
    /// - Throws: ``OctopusServerError`` (`failed`).
    public func register(_ entry: Entry) throws(OctopusServerError) {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(entry).write(to: URL(fileURLWithPath: file(for: entry.name)), options: .atomic)
        } catch {
            throw OctopusServerError(.failed, "Cannot register the instance '\(entry.name)' in \(folder): \(error).")
        }
    }

    /// Removes an instance's registration (its config file stays).
    public func unregister(_ name: String) {
        if let existing = entry(named: name) {
            try? FileManager.default.removeItem(atPath: file(for: existing.name))
        }
    }

    private func file(for name: String) -> String {
        let safe = String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        return "\(folder)/\(safe.lowercased()).config"
    }
}
